/**
 * The agent channel in the synthesized stack: the IoT policy whose variables hold each agent to
 * itself, the topic rules into the agent-message function and their invoke permissions, the
 * grants each role gets for agents (and those it does not), the sweep's schedule, and the
 * agent-facing routes: the one exception to "no route without auth", throttled.
 */
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AGENT_INBOUND_KINDS } from '../../infra/flotilla.ts';
import { AGENT_MESSAGE_ENTRY, AGENT_SWEEP_ENTRY } from '../../infra/handlers.ts';
import { render, resourcesOf, type Synthesized, statementsOf, synthesize } from './support.ts';

const IOT = 'arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>';
const TENANT = '${iot:Connection.Thing.Attributes[tenant]}';
const AGENT = '${iot:Connection.Thing.Attributes[agent]}';
const ATTACHED = { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } };

let base: Synthesized;
beforeAll(() => {
  base = synthesize();
});

/** The logical id of the function of a handler entry. */
function functionId(s: Synthesized, entry: string): string {
  const found = resourcesOf(s.json, 'AWS::Lambda::Function').find(([, p]) =>
    String(p.Description ?? '').endsWith(`: ${entry}`),
  );
  if (!found) throw new Error(`no function for ${entry}`);
  return found[0];
}

function roleOf(s: Synthesized, entry: string): string {
  const props = s.json.Resources[functionId(s, entry)]?.Properties ?? {};
  return render(props.Role).replace(/^<|\.Arn>$/g, '');
}

interface PolicyStatement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

describe('the agent IoT policy', () => {
  const statements = () => {
    const policies = resourcesOf(base.json, 'AWS::IoT::Policy');
    expect(policies).toHaveLength(1);
    const document = policies[0]?.[1].PolicyDocument as { Statement: PolicyStatement[] };
    return document.Statement.map((st) => ({
      ...st,
      Resource: (Array.isArray(st.Resource) ? st.Resource : [st.Resource]).map(render),
    }));
  };

  it('lets an agent connect only as the thing its certificate is attached to', () => {
    const connect = statements().filter((st) => st.Action === 'iot:Connect');
    expect(connect).toEqual([
      {
        Sid: 'ConnectAsItsOwnThing',
        Effect: 'Allow',
        Action: 'iot:Connect',
        Resource: [`${IOT}:client/\${iot:Connection.Thing.ThingName}`],
        Condition: ATTACHED,
      },
    ]);
  });

  it("lets it subscribe to and receive its own work topic only, named by its thing's attributes", () => {
    const byAction = new Map(statements().map((st) => [st.Action, st]));
    expect(byAction.get('iot:Subscribe')?.Resource).toEqual([
      `${IOT}:topicfilter/flotilla/${TENANT}/agents/${AGENT}/work`,
    ]);
    expect(byAction.get('iot:Receive')?.Resource).toEqual([
      `${IOT}:topic/flotilla/${TENANT}/agents/${AGENT}/work`,
    ]);
  });

  it('lets it publish on its own reports, drift, heartbeat and sync topics, never on a work topic', () => {
    const publish = statements().find((st) => st.Action === 'iot:Publish');
    expect(publish?.Resource.sort()).toEqual(
      ['reports', 'drift', 'heartbeat', 'sync']
        .map((k) => `${IOT}:topic/flotilla/${TENANT}/agents/${AGENT}/${k}`)
        .sort(),
    );
    expect(publish?.Resource.some((r) => r.endsWith('/work'))).toBe(false);
    expect(publish?.Condition).toEqual(ATTACHED);
  });

  it('grants nothing else: four statements, no wildcard action, no wildcard resource, all on an attached thing', () => {
    const all = statements();
    expect(all.map((st) => st.Action).sort()).toEqual([
      'iot:Connect',
      'iot:Publish',
      'iot:Receive',
      'iot:Subscribe',
    ]);
    for (const st of all) {
      expect(st.Effect).toBe('Allow');
      expect(st.Condition).toEqual(ATTACHED);
      for (const resource of st.Resource) {
        // Every segment after the account is fixed or a policy variable of the thing.
        expect(resource.replace(/\$\{iot:Connection\.Thing\.[^}]+\}/g, 'X')).not.toContain('*');
        expect(resource.replace(/\$\{iot:Connection\.Thing\.[^}]+\}/g, 'X')).not.toContain('+');
      }
    }
  });
});

describe('the topic rules', () => {
  it('take in each kind agents publish with its own rule into the agent-message function, never work', () => {
    const rules = resourcesOf(base.json, 'AWS::IoT::TopicRule');
    expect(rules).toHaveLength(AGENT_INBOUND_KINDS.length);
    const receiver = functionId(base, AGENT_MESSAGE_ENTRY);
    const sql = rules.map(([, p]) => (p.TopicRulePayload as { Sql: string }).Sql).sort();
    expect(sql).toEqual(
      [...AGENT_INBOUND_KINDS]
        .sort()
        .map(
          (k) => `SELECT topic() AS topic, encode(*, 'base64') AS payload FROM 'flotilla/+/agents/+/${k}'`,
        ),
    );
    for (const [id, props] of rules) {
      const payload = props.TopicRulePayload as {
        RuleDisabled: boolean;
        AwsIotSqlVersion: string;
        Actions: Array<{ Lambda?: { FunctionArn: unknown } }>;
        ErrorAction: { CloudwatchLogs?: { LogGroupName: unknown; RoleArn: unknown } };
      };
      expect(payload.RuleDisabled, id).toBe(false);
      expect(payload.AwsIotSqlVersion, id).toBe('2016-03-23');
      expect(
        payload.Actions.map((a) => render(a.Lambda?.FunctionArn)),
        id,
      ).toEqual([`<${receiver}.Arn>`]);
      expect(render(payload.ErrorAction.CloudwatchLogs?.RoleArn), id).toMatch(
        /^<FlotillaAgentRuleErrorRole\w+\.Arn>$/,
      );
      expect(String(props.RuleName), id).toMatch(/^[A-Za-z0-9_]+$/);
    }
  });

  it('each may invoke the agent-message function, from this account, and nothing else may', () => {
    const receiver = functionId(base, AGENT_MESSAGE_ENTRY);
    const rules = new Set(resourcesOf(base.json, 'AWS::IoT::TopicRule').map(([id]) => `<${id}.Arn>`));
    const fromIot = resourcesOf(base.json, 'AWS::Lambda::Permission').filter(
      ([, p]) => p.Principal === 'iot.amazonaws.com',
    );
    expect(fromIot).toHaveLength(rules.size);
    for (const [id, props] of fromIot) {
      expect(render(props.FunctionName), id).toBe(`<${receiver}.Arn>`);
      expect(rules.has(render(props.SourceArn)), id).toBe(true);
      expect(render(props.SourceAccount), id).toBe('<AWS::AccountId>');
      expect(props.Action, id).toBe('lambda:InvokeFunction');
    }
  });

  it('log what they could not deliver with a role that may write to that one log group only', () => {
    const role = resourcesOf(base.json, 'AWS::IAM::Role').find(([id]) =>
      id.startsWith('FlotillaAgentRuleErrorRole'),
    );
    const trust = (role?.[1].AssumeRolePolicyDocument as { Statement?: unknown[] } | undefined)?.Statement;
    expect(trust).toEqual([
      expect.objectContaining({
        Principal: { Service: 'iot.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    ]);
    const own = statementsOf(base.json).filter((st) => st.roles.includes(role?.[0] ?? '-'));
    expect(own.map((st) => [st.actions.sort(), st.resources])).toEqual([
      [
        ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        [expect.stringMatching(/^<FlotillaAgentRuleErrors\w+\.Arn>$/)],
      ],
    ]);
  });
});

describe('grants for agents', () => {
  const iotStatements = () =>
    statementsOf(base.json).filter((st) => st.actions.some((a) => a.startsWith('iot:')));
  const rolesWith = (action: string) =>
    iotStatements()
      .filter((st) => st.actions.includes(action))
      .flatMap((st) => st.roles.map((r) => r.replace(/[0-9A-F]{8}$/, '')))
      .sort();

  it('lets steps and the agent functions publish on work topics only, and no role connect or subscribe as an agent', () => {
    const publish = iotStatements().filter((st) => st.actions.includes('iot:Publish'));
    for (const st of publish) {
      expect(st.actions).toEqual(['iot:Publish']);
      expect(st.resources).toEqual([`${IOT}:topic/flotilla/*/agents/*/work`]);
    }
    expect(rolesWith('iot:Publish')).toEqual(['FlotillaAgentRole', 'FlotillaStepRole']);
    for (const action of ['iot:Connect', 'iot:Subscribe', 'iot:Receive', 'iot:RetainPublish']) {
      expect(rolesWith(action), action).toEqual([]);
    }
  });

  it("lets the API make things under the stack's prefix, certificates, and attach them to its own things only", () => {
    const things = iotStatements().find((st) => st.actions.includes('iot:CreateThing'));
    expect(things?.resources).toEqual([`${IOT}:thing/Flotilla_*`]);
    expect(rolesWith('iot:CreateThing')).toEqual(['FlotillaApiRole']);
    expect(rolesWith('iot:CreateKeysAndCertificate')).toEqual(['FlotillaApiRole']);
    expect(rolesWith('iot:AttachPolicy')).toEqual(['FlotillaApiRole']);
    const principals = iotStatements().filter((s) =>
      s.actions.some((a) => /ThingPrincipal$/.test(a) && !a.startsWith('iot:List')),
    );
    expect(principals.length).toBe(2);
    for (const st of principals) {
      expect(st.resources).toEqual([`${IOT}:cert/*`]);
      const condition = st.conditions as { ArnLike: { 'iot:thingArn': unknown } };
      expect(Object.keys(st.conditions as object)).toEqual(['ArnLike']);
      expect(render(condition.ArnLike['iot:thingArn'])).toBe(`${IOT}:thing/Flotilla_*`);
    }
    expect(rolesWith('iot:AttachThingPrincipal')).toEqual(['FlotillaApiRole']);
    expect(rolesWith('iot:DeleteConnection')).toEqual(['FlotillaApiRole']);
    expect(iotStatements().find((st) => st.actions.includes('iot:DeleteConnection'))?.resources).toEqual([
      `${IOT}:client/Flotilla_*`,
    ]);
  });

  it('lets the sweep (agent role) deactivate and detach certificates, and never make or delete things', () => {
    expect(rolesWith('iot:UpdateCertificate')).toEqual(['FlotillaAgentRole', 'FlotillaApiRole']);
    expect(rolesWith('iot:DetachThingPrincipal')).toEqual(['FlotillaAgentRole', 'FlotillaApiRole']);
    for (const action of [
      'iot:DeleteThing',
      'iot:DeleteCertificate',
      'iot:CreatePolicy',
      'iot:UpdateThing',
    ]) {
      expect(rolesWith(action), action).toEqual([]);
    }
    const agentRole = roleOf(base, AGENT_SWEEP_ENTRY);
    expect(roleOf(base, AGENT_MESSAGE_ENTRY)).toBe(agentRole);
    expect(agentRole).toMatch(/^FlotillaAgentRole/);
  });

  it('gives the functions taking in what agents send no secrets, workflows or cluster access', () => {
    const agentRole = roleOf(base, AGENT_MESSAGE_ENTRY);
    const actions = statementsOf(base.json)
      .filter((st) => st.roles.includes(agentRole))
      .flatMap((st) => st.actions);
    expect(actions.length).toBeGreaterThan(5);
    for (const prefix of ['secretsmanager:', 'states:', 'eks:', 'sts:', 'iam:', 'scheduler:']) {
      expect(
        actions.filter((a) => a.startsWith(prefix)),
        prefix,
      ).toEqual([]);
    }
  });

  it('tells every function the channel: the API URL, the IoT endpoint, policy and prefix, 5-minute heartbeats', () => {
    const endpoint = resourcesOf(base.json, 'Custom::AWS').find(([id]) =>
      id.startsWith('FlotillaIotEndpoint'),
    );
    expect(endpoint).toBeDefined();
    const call = JSON.parse((endpoint?.[1].Create ?? endpoint?.[1].Update) as string) as {
      action: string;
      parameters: Record<string, string>;
    };
    expect(call.parameters).toEqual({ endpointType: 'iot:Data-ATS' });
    const [policyId] = resourcesOf(base.json, 'AWS::IoT::Policy')[0] ?? [''];
    for (const [id, props] of resourcesOf(base.json, 'AWS::Lambda::Function')) {
      if (!String(props.Description ?? '').startsWith('Flotilla ')) continue;
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(render(env.FLOTILLA_API_URL), id).toMatch(/^<FlotillaApi\w+\.ApiEndpoint>$/);
      expect(render(env.FLOTILLA_IOT_ENDPOINT), id).toMatch(/^<FlotillaIotEndpoint\w+\.endpointAddress>$/);
      expect(render(env.FLOTILLA_IOT_POLICY), id).toBe(`<${policyId}>`);
      expect(env.FLOTILLA_IOT_THING_PREFIX, id).toBe('Flotilla');
      expect(env.FLOTILLA_IOT_PORT, id).toBe('443');
      expect(env.FLOTILLA_AGENT_HEARTBEAT_SECONDS, id).toBe('300');
      expect(env.FLOTILLA_AGENT_DARK_AFTER_SECONDS, id).toBe('900');
    }
  });
});

describe('the agent sweep', () => {
  it('runs every 5 minutes with a tenant-only input, through a role that may invoke only the sweep', () => {
    const sweep = resourcesOf(base.json, 'AWS::Scheduler::Schedule').find(([id]) =>
      id.startsWith('FlotillaAgentSweepSchedule'),
    );
    expect(sweep?.[1].ScheduleExpression).toBe('rate(5 minutes)');
    const target = sweep?.[1].Target as {
      Arn: unknown;
      Input: string;
      RoleArn: unknown;
      RetryPolicy?: unknown;
    };
    const sweeper = functionId(base, AGENT_SWEEP_ENTRY);
    expect(render(target.Arn)).toBe(`<${sweeper}.Arn>`);
    expect(JSON.parse(target.Input)).toEqual({ tenant: '_platform' });
    const role = render(target.RoleArn).replace(/^<|\.Arn>$/g, '');
    const own = statementsOf(base.json).filter((st) => st.roles.includes(role));
    expect(own.flatMap((st) => st.actions)).toEqual(['lambda:InvokeFunction']);
    expect(own.flatMap((st) => st.resources).sort()).toEqual([`<${sweeper}.Arn>`, `<${sweeper}.Arn>:*`]);
  });
});

describe('the agent-facing routes', () => {
  it('sit behind no authorizer, throttled harder than the stage', () => {
    const routes = resourcesOf(base.json, 'AWS::ApiGatewayV2::Route').filter(([, p]) =>
      String(p.RouteKey).startsWith('POST /agent/'),
    );
    expect(routes.map(([, p]) => p.RouteKey).sort()).toEqual(['POST /agent/bootstrap', 'POST /agent/rotate']);
    for (const [id, props] of routes) expect(props.AuthorizationType, id).toBe('NONE');
    base.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      RouteSettings: {
        'POST /agent/bootstrap': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
        'POST /agent/rotate': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      },
    });
    const stage = resourcesOf(base.json, 'AWS::ApiGatewayV2::Stage')[0]?.[1];
    expect(Object.keys((stage?.RouteSettings as object) ?? {}).sort()).toEqual([
      'POST /agent/bootstrap',
      'POST /agent/rotate',
    ]);
  });
});

describe('options', () => {
  it('take the heartbeat, dark threshold, sweep, throttle, port and a known endpoint', () => {
    const s = synthesize({
      agents: {
        heartbeat: Duration.minutes(10),
        darkAfter: Duration.minutes(45),
        throttle: { rateLimit: 2, burstLimit: 4 },
        port: 8883,
        iotEndpoint: 'a1b2c3-ats.iot.eu-west-1.amazonaws.com',
      },
    });
    s.template.resourceCountIs('Custom::AWS', 0);
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          FLOTILLA_IOT_ENDPOINT: 'a1b2c3-ats.iot.eu-west-1.amazonaws.com',
          FLOTILLA_IOT_PORT: '8883',
          FLOTILLA_AGENT_HEARTBEAT_SECONDS: '600',
          FLOTILLA_AGENT_DARK_AFTER_SECONDS: '2700',
        }),
      },
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: { 'POST /agent/bootstrap': { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 4 } },
    });
  });

  it('leave the channel out with agents: false: no IoT, no unauthenticated route, no agent settings', () => {
    const s = synthesize({ agents: false });
    for (const type of ['AWS::IoT::Policy', 'AWS::IoT::TopicRule', 'Custom::AWS'])
      s.template.resourceCountIs(type, 0);
    const routes = resourcesOf(s.json, 'AWS::ApiGatewayV2::Route');
    expect(routes.length).toBeGreaterThan(10);
    expect(routes.filter(([, p]) => p.AuthorizationType !== 'AWS_IAM')).toEqual([]);
    expect(statementsOf(s.json).filter((st) => st.actions.some((a) => a.startsWith('iot:')))).toEqual([]);
    for (const [, props] of resourcesOf(s.json, 'AWS::Lambda::Function')) {
      const env = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      expect(Object.keys(env).filter((k) => k.startsWith('FLOTILLA_IOT_'))).toEqual([]);
    }
  });
});
