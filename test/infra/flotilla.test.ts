/**
 * Template assertions on the synthesized Flotilla stack: what it must hold whatever workflows,
 * steps and routes the code has (the construct derives them from statemachines/ and
 * functions/api/, so these tests follow new ones without edits).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { beforeAll, describe, expect, it } from 'vitest';
import { FLOTILLA_TABLE } from '../../adapters/dynamodb/table.ts';
import { AwsEnvironment } from '../../adapters/wiring.ts';
import { stateMachineVariable } from '../../infra/flotilla.ts';
import { HELM_HANDLERS, handlerCatalogue, keysOfDefinition, taskStatesOf } from '../../infra/handlers.ts';
import {
  DEFINED_WORKFLOWS,
  definitionText,
  placeholdersOf,
  substitute,
  WORKFLOW_TASKS,
} from '../../statemachines/substitutions.ts';
import { validateAsl } from '../statemachines/asl-validator.ts';
import { render, resourcesOf, rolesOfPolicy, type Synthesized, statementsOf, synthesize } from './support.ts';

/**
 * Actions AWS only grants on `*`: a statement with Resource `*` may hold these and nothing else.
 * (Anything scoped to an ARN, even a pattern, is not on this list.)
 */
const STAR_ONLY_ACTIONS: Readonly<Record<string, string>> = {
  // X-Ray: active tracing of functions and state machines; no resource-level permissions.
  'xray:PutTraceSegments': 'X-Ray has no resource-level permissions',
  'xray:PutTelemetryRecords': 'X-Ray has no resource-level permissions',
  'xray:GetSamplingRules': 'X-Ray has no resource-level permissions',
  'xray:GetSamplingTargets': 'X-Ray has no resource-level permissions',
  // CloudWatch Logs delivery of state machine logs ("vended logs"): AWS documents Resource *.
  'logs:CreateLogDelivery': 'vended log delivery takes *',
  'logs:GetLogDelivery': 'vended log delivery takes *',
  'logs:UpdateLogDelivery': 'vended log delivery takes *',
  'logs:DeleteLogDelivery': 'vended log delivery takes *',
  'logs:ListLogDeliveries': 'vended log delivery takes *',
  'logs:PutResourcePolicy': 'vended log delivery takes *',
  'logs:DescribeResourcePolicies': 'vended log delivery takes *',
  'logs:DescribeLogGroups': 'vended log delivery takes *',
  // EKS ListClusters has no resource type.
  'eks:ListClusters': 'ListClusters has no resource type',
  // IoT: a certificate is made before it has an ARN; the data endpoint is the account's.
  'iot:CreateKeysAndCertificate': 'CreateKeysAndCertificate has no resource type',
  'iot:DescribeEndpoint': 'DescribeEndpoint has no resource type (deploy-time lookup only)',
  // The EKS Connector agent's Session Manager channels (EKS user guide, connector IAM role).
  'ssmmessages:CreateDataChannel': 'Session Manager channels take *',
  'ssmmessages:OpenDataChannel': 'Session Manager channels take *',
  'ssmmessages:OpenControlChannel': 'Session Manager channels take *',
};

/** Entry file of a function resource (the construct writes it into the description). */
function entryOf(props: Record<string, unknown>): string {
  return String(props.Description ?? '').replace(/^Flotilla \w+: /, '');
}

function functionsByEntry(s: Synthesized): Map<string, { id: string; props: Record<string, unknown> }> {
  return new Map(
    resourcesOf(s.json, 'AWS::Lambda::Function')
      .filter(([, p]) => String(p.Description ?? '').startsWith('Flotilla '))
      .map(([id, props]) => [entryOf(props), { id, props }]),
  );
}

let base: Synthesized;
beforeAll(() => {
  base = synthesize();
});

describe('the Flotilla stack', () => {
  it('has one function per step handler and API route group, and one state machine per workflow file', () => {
    const fns = functionsByEntry(base);
    expect([...fns.keys()].sort()).toEqual(
      handlerCatalogue()
        .map((h) => h.entry)
        .sort(),
    );
    const machines = resourcesOf(base.json, 'AWS::StepFunctions::StateMachine');
    expect(machines.map(([, p]) => p.StateMachineName).sort()).toEqual(
      DEFINED_WORKFLOWS.map((w) => `Flotilla-${w}`).sort(),
    );
  });

  it('fills every placeholder of every definition with a function of this template, and passes asl-validator', () => {
    const functionIds = new Set(resourcesOf(base.json, 'AWS::Lambda::Function').map(([id]) => id));
    for (const [, props] of resourcesOf(base.json, 'AWS::StepFunctions::StateMachine')) {
      const text = props.DefinitionString;
      expect(typeof text, 'the definition is inline (fromString), not an S3 asset').toBe('string');
      const substitutions = props.DefinitionSubstitutions as Record<string, unknown>;
      const placeholders = placeholdersOf(String(text));
      expect(placeholders.length).toBeGreaterThan(0);
      expect(Object.keys(substitutions).sort()).toEqual([...placeholders].sort());
      const values: Record<string, string> = {};
      for (const [key, value] of Object.entries(substitutions)) {
        const ref = render(value);
        const match = /^<(\w+)\.Arn>$/.exec(ref);
        expect(match, `${key} → ${ref} is a function's ARN`).not.toBeNull();
        expect(functionIds.has(match?.[1] ?? ''), `${key} → ${ref} exists in the template`).toBe(true);
        values[key] = `arn:aws:lambda:eu-west-1:123456789012:function:${match?.[1]}`;
      }
      const definition = JSON.parse(substitute(String(text), values)) as unknown;
      const result = validateAsl(definition);
      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
    }
  });

  it('binds each Task to the function of the handler the substitution map names', () => {
    const fns = functionsByEntry(base);
    for (const [, props] of resourcesOf(base.json, 'AWS::StepFunctions::StateMachine')) {
      const workflow = String(props.StateMachineName).replace(
        /^Flotilla-/,
        '',
      ) as (typeof DEFINED_WORKFLOWS)[number];
      const substitutions = props.DefinitionSubstitutions as Record<string, unknown>;
      const tasks: Record<string, string> = WORKFLOW_TASKS[workflow];
      for (const { name, state } of taskStatesOf(JSON.parse(String(props.DefinitionString)))) {
        // In Resource (a Lambda ARN) or in Parameters.FunctionName (lambda:invoke integrations).
        const keys = placeholdersOf(JSON.stringify(state));
        expect(keys, `${workflow}.${name}`).toHaveLength(1);
        const key = keys[0] ?? '';
        expect(key, `${workflow}.${name}`).toBe(tasks[name]);
        const spec = handlerCatalogue().find((h) => h.keys.includes(key as never));
        expect(render(substitutions[key])).toBe(`<${fns.get(spec?.entry ?? '')?.id}.Arn>`);
      }
    }
  });

  it('lets each state machine invoke exactly its own functions', () => {
    const statements = statementsOf(base.json);
    for (const [, props] of resourcesOf(base.json, 'AWS::StepFunctions::StateMachine')) {
      const role = render(props.RoleArn).replace(/^<|\.Arn>$/g, '');
      const invokable = statements
        .filter((s) => s.roles.includes(role) && s.actions.includes('lambda:InvokeFunction'))
        .flatMap((s) => s.resources);
      const substituted = Object.values(props.DefinitionSubstitutions as Record<string, unknown>).map(render);
      expect(invokable.sort()).toEqual([...new Set(substituted)].sort());
    }
  });

  it('lets a workflow with a Distributed Map start, describe and stop only its own child executions', () => {
    const statements = statementsOf(base.json);
    const deploy = resourcesOf(base.json, 'AWS::StepFunctions::StateMachine').find(
      ([, p]) => p.StateMachineName === 'Flotilla-deploy',
    );
    expect(deploy).toBeDefined();
    const role = render(deploy?.[1].RoleArn).replace(/^<|\.Arn>$/g, '');
    const own = statements.filter((s) => s.roles.includes(role));
    const start = own.find((s) => s.actions.includes('states:StartExecution'));
    expect(start?.resources).toEqual([
      'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:Flotilla-deploy',
    ]);
    const follow = own.find((s) => s.actions.includes('states:DescribeExecution'));
    expect(follow?.actions.sort()).toEqual(['states:DescribeExecution', 'states:StopExecution']);
    expect(follow?.resources).toEqual([
      'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:Flotilla-deploy/*',
    ]);
    // A workflow without one gets no such grant.
    const discovery = resourcesOf(base.json, 'AWS::StepFunctions::StateMachine').find(
      ([, p]) => p.StateMachineName === 'Flotilla-discovery',
    );
    const discoveryRole = render(discovery?.[1].RoleArn).replace(/^<|\.Arn>$/g, '');
    expect(
      statements.some((s) => s.roles.includes(discoveryRole) && s.actions.includes('states:StartExecution')),
    ).toBe(false);
  });

  it('logs every workflow to CloudWatch (all events, no execution data) and traces it with X-Ray', () => {
    base.template.allResourcesProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: Match.anyValue() },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('grants no wildcard action, and a * resource only for actions AWS offers on * alone', () => {
    const statements = statementsOf(base.json);
    expect(statements.length).toBeGreaterThan(10);
    for (const s of statements) {
      for (const action of s.actions) expect(action, `${s.policy}: ${action}`).not.toMatch(/\*/);
      if (!s.resources.includes('*')) continue;
      const unjustified = s.actions.filter((a) => STAR_ONLY_ACTIONS[a] === undefined);
      expect(unjustified, `${s.policy} grants these on *`).toEqual([]);
    }
    expect(statements.every((s) => s.effect === 'Allow')).toBe(true);
  });

  it('keeps every policy within IAM size limits, counting each reference as a 100-character ARN', () => {
    const sizeOf = (document: unknown) =>
      JSON.stringify(document, (_k, v: unknown) =>
        typeof v === 'object' && v !== null && ('Ref' in v || 'Fn::GetAtt' in v || 'Fn::Join' in v)
          ? render(v).replace(/<[^>]+>/g, 'x'.repeat(100))
          : v,
      ).length;
    // Customer-managed policies: 6,144 characters each.
    const managed = resourcesOf(base.json, 'AWS::IAM::ManagedPolicy');
    expect(managed.length).toBeGreaterThan(3);
    for (const [id, props] of managed) expect(sizeOf(props.PolicyDocument), id).toBeLessThan(6_144);
    // Inline policies: 10,240 characters per role, all of them together.
    const inline = new Map<string, number>();
    for (const [id, props] of resourcesOf(base.json, 'AWS::IAM::Policy')) {
      for (const role of rolesOfPolicy(base.json, id)) {
        inline.set(role, (inline.get(role) ?? 0) + sizeOf(props.PolicyDocument));
      }
    }
    for (const [role, size] of inline) expect(size, role).toBeLessThan(10_240);
  });

  it('scopes data access to the table and its index, the bus, the bucket, and secrets under the prefix', () => {
    const statements = statementsOf(base.json);
    const table = resourcesOf(base.json, 'AWS::DynamoDB::Table')[0]?.[0];
    const dynamo = statements.filter((s) => s.actions.some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.length).toBeGreaterThan(0);
    const isTenantRole = (s: { roles: string[] }) =>
      s.roles.some((r) => r.startsWith('FlotillaTenantDataRole'));
    for (const s of dynamo) {
      expect(s.actions).not.toContain('dynamodb:Scan');
      if (!isTenantRole(s)) {
        expect(s.resources.sort()).toEqual([`<${table}.Arn>`, `<${table}.Arn>/index/gsi1`]);
        continue;
      }
      // The tenant data role: every statement on the table is confined by its partition keys
      // (test/infra/tenant-data-role.test.ts evaluates what they allow).
      expect(s.resources.every((r) => r.startsWith(`<${table}.Arn>`))).toBe(true);
      expect(JSON.stringify(s.conditions)).toContain('dynamodb:LeadingKeys');
    }
    const secretsArn = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:flotilla/';
    const ownSecrets = `${secretsArn}\${aws:PrincipalTag/flotilla:tenant}/*`;
    for (const s of statements.filter((s) => s.actions.some((a) => a.startsWith('secretsmanager:')))) {
      expect([[`${secretsArn}*`], [`${secretsArn}*/approvals/*`], [ownSecrets]]).toContainEqual(s.resources);
    }
    for (const s of statements.filter((s) => s.actions.includes('events:PutEvents'))) {
      expect(s.resources).toHaveLength(1);
      expect(s.resources[0]).toMatch(/^<FlotillaBus\w+\.Arn>$/);
    }
    // Only the API stores credentials; steps read them (and write approval tokens only); a
    // tenant's session only its own; discovery never touches them.
    const writers = statements.filter((s) => s.actions.includes('secretsmanager:CreateSecret'));
    expect(writers.map((s) => [s.roles, s.resources])).toEqual(
      expect.arrayContaining([
        [[expect.stringMatching(/^FlotillaApiRole/)], [`${secretsArn}*`]],
        [[expect.stringMatching(/^FlotillaStepRole/)], [`${secretsArn}*/approvals/*`]],
        [[expect.stringMatching(/^FlotillaTenantDataRole/)], [ownSecrets]],
      ]),
    );
    expect(writers).toHaveLength(3);
    expect(
      statements.filter(
        (s) =>
          s.roles.some((r) => r.startsWith('FlotillaDiscoveryRole')) &&
          s.actions.some((a) => a.startsWith('secrets')),
      ),
    ).toEqual([]);
  });

  it('has a table with on-demand capacity, point-in-time recovery, encryption, TTL and deletion protection', () => {
    base.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: FLOTILLA_TABLE.timeToLiveAttribute, Enabled: true },
      DeletionProtectionEnabled: true,
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'gsi1', Projection: { ProjectionType: 'ALL' } }),
      ],
    });
    base.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('drops deletion protection and retention when the removal policy is DESTROY', () => {
    const s = synthesize({ removalPolicy: RemovalPolicy.DESTROY });
    s.template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
    s.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    s.template.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete' });
  });

  it('runs every function on nodejs24.x, arm64 unless it runs helm (x86_64 with the kubectl/helm layer)', () => {
    const fns = functionsByEntry(base);
    expect(fns.size).toBeGreaterThan(5);
    const layers = resourcesOf(base.json, 'AWS::Lambda::LayerVersion');
    expect(layers).toHaveLength(1);
    const layerId = layers[0]?.[0];
    for (const [entry, { props }] of fns) {
      expect(props.Runtime, entry).toBe('nodejs24.x');
      const helm = HELM_HANDLERS.has(entry);
      expect(props.Architectures, entry).toEqual([helm ? 'x86_64' : 'arm64']);
      expect((props.Layers as unknown[] | undefined)?.map(render) ?? [], entry).toEqual(
        helm ? [`<${layerId}>`] : [],
      );
      expect(props.TracingConfig, entry).toEqual({ Mode: 'Active' });
      expect(props.Handler, entry).toBe('index.handler');
    }
    expect(fns.get('functions/steps/plan-deploy.ts')?.props.Architectures).toEqual(['x86_64']);
    // ApplyBatch renders charts that read their cluster (`lookup`); the health step never renders.
    expect(fns.get('functions/steps/apply-batch.ts')?.props.Architectures).toEqual(['x86_64']);
    expect(fns.get('functions/steps/check-batch-health.ts')?.props.Architectures).toEqual(['arm64']);
  });

  it('gives each step function the longest timeout of the Task states it serves, and API functions 29 s', () => {
    const fns = functionsByEntry(base);
    const apply = fns.get('functions/steps/apply-batch.ts');
    expect(apply?.props.Timeout).toBe(900);
    expect(fns.get('functions/steps/discover-plan.ts')?.props.Timeout).toBe(60);
    for (const [entry, { props }] of fns)
      if (entry.startsWith('functions/api/')) expect(props.Timeout).toBe(29);
  });

  it('keeps every log group for a bounded time, and sends each function to its own', () => {
    const groups = resourcesOf(base.json, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThan(5);
    for (const [id, props] of groups) expect(props.RetentionInDays, id).toBe(30);
    const groupIds = new Set(groups.map(([id]) => id));
    const used = new Set<string>();
    for (const [entry, { props }] of functionsByEntry(base)) {
      const ref = render((props.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup).replace(
        /^<|>$/g,
        '',
      );
      expect(groupIds.has(ref), entry).toBe(true);
      expect(used.has(ref), `${entry} shares a log group`).toBe(false);
      used.add(ref);
    }
  });

  it('gives every function the environment adapters/wiring.ts requires, which it parses', () => {
    const shape = AwsEnvironment.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
    // Lambda sets AWS_REGION itself (a reserved variable).
    const required = Object.keys(shape).filter(
      (k) => k !== 'AWS_REGION' && !shape[k]?.safeParse(undefined).success,
    );
    expect(required).toContain('FLOTILLA_TABLE');
    for (const [entry, { props }] of functionsByEntry(base)) {
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      for (const key of required) expect(env[key], `${entry}: ${key}`).toBeDefined();
      for (const workflow of DEFINED_WORKFLOWS)
        expect(env[stateMachineVariable(workflow)], entry).toBeDefined();
      // Whatever the construct sets for Flotilla, the schema knows (state machine ARNs by convention).
      for (const key of Object.keys(env).filter((k) => k.startsWith('FLOTILLA_'))) {
        if (/_STATE_MACHINE$/.test(key)) continue;
        expect(Object.keys(shape), `${entry} sets ${key}, which wiring.ts does not read`).toContain(key);
      }
      const strings = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, render(v)]));
      const parsed = AwsEnvironment.safeParse({ AWS_REGION: 'eu-west-1', ...strings });
      expect(parsed.success, `${entry}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      expect(strings.FLOTILLA_DEPLOY_STATE_MACHINE).toBe(
        'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:Flotilla-deploy',
      );
    }
  });

  it('fails a requirement the schema adds that the construct does not set', () => {
    // The check above must be able to fail: a schema with one more required variable.
    const extended = AwsEnvironment.extend({ FLOTILLA_SOMETHING_NEW: AwsEnvironment.shape.FLOTILLA_TABLE });
    const first = [...functionsByEntry(base).values()][0];
    const env =
      (first?.props.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
    expect(Object.keys(env).length).toBeGreaterThan(5);
    const strings = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, render(v)]));
    expect(extended.safeParse({ AWS_REGION: 'eu-west-1', ...strings }).success).toBe(false);
  });

  it('refuses a definition whose placeholder no step function stands for, naming it', () => {
    const text = definitionText('deploy').replace('${PlanDeployFunctionArn}', '${PlanDeplyFunctionArn}');
    expect(() => keysOfDefinition('deploy', text)).toThrow(
      /statemachines\/deploy\.asl\.json uses \$\{PlanDeplyFunctionArn\}, which no step function/,
    );
    expect(keysOfDefinition('deploy', definitionText('deploy'))).toContain('PlanDeployFunctionArn');
  });

  it('schedules discovery and the agent sweep with tenant-only inputs, and nothing else by default', () => {
    const schedules = resourcesOf(base.json, 'AWS::Scheduler::Schedule');
    const discovery = schedules.find(([id]) => id.includes('DiscoverySchedule'));
    expect(discovery?.[1].ScheduleExpression).toBe('rate(1 hour)');
    const target = discovery?.[1].Target as { Arn: unknown; Input: string; RoleArn: unknown };
    expect(render(target.Arn)).toMatch(/^<FlotillaDiscoveryWorkflow\w+>$/);
    // Discovery is the platform's: its runs and the clusters it finds are the platform's own.
    expect(JSON.parse(target.Input)).toEqual({ tenant: '_platform' });
    // Drift scans are scheduled per deployment at run time (schedule-fire), not by the stack;
    // the agents' sweep (test/infra/agents.test.ts) is the only other schedule.
    expect(schedules.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'FlotillaAgentSweepSchedule',
      'FlotillaDiscoverySchedule',
    ]);

    const none = synthesize({ discoverySchedule: null, agents: false });
    none.template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    const daily = synthesize({ discoverySchedule: ScheduleExpression.expression('cron(0 3 * * ? *)') });
    daily.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
    });
  });

  it('creates the event bus with an archive of Flotilla events', () => {
    base.template.resourceCountIs('AWS::Events::EventBus', 1);
    base.template.hasResourceProperties('AWS::Events::Archive', {
      EventPattern: { source: ['flotilla'] },
      RetentionDays: 30,
    });
  });

  it('creates the EKS Connector agent role: trusted by SSM, with the documented channel permissions', () => {
    base.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({ Principal: { Service: 'ssm.amazonaws.com' }, Action: 'sts:AssumeRole' }),
        ],
      },
      Policies: [
        {
          PolicyName: 'EksConnectorAgent',
          PolicyDocument: {
            Statement: [
              Match.objectLike({ Sid: 'SsmControlChannel', Action: 'ssmmessages:CreateControlChannel' }),
              Match.objectLike({
                Sid: 'SsmDataplaneOperations',
                Action: [
                  'ssmmessages:CreateDataChannel',
                  'ssmmessages:OpenDataChannel',
                  'ssmmessages:OpenControlChannel',
                ],
                Resource: '*',
              }),
            ],
          },
        },
      ],
    });
    // Only the API may pass it (to EKS RegisterCluster).
    const passers = statementsOf(base.json).filter(
      (s) => s.actions.includes('iam:PassRole') && s.resources.some((r) => r.includes('ConnectorAgentRole')),
    );
    expect(passers.map((s) => s.roles)).toEqual([[expect.stringMatching(/^FlotillaApiRole/)]]);
    expect(passers[0]?.resources).toEqual([expect.stringMatching(/^<FlotillaConnectorAgentRole\w+\.Arn>$/)]);
  });

  it("lets the agents API register an agent cluster with the EKS Connector, with the stack's connector role", () => {
    const agents = functionsByEntry(base).get('functions/api/agents.ts');
    if (!agents) throw new Error('no agents API function');
    const env = (agents.props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(render(env.FLOTILLA_CONNECTOR_ROLE_ARN)).toMatch(/^<FlotillaConnectorAgentRole\w+\.Arn>$/);
    expect(render(agents.props.Role)).toMatch(/^<FlotillaApiRole\w+\.Arn>$/);
    const registers = statementsOf(base.json).filter((s) => s.actions.includes('eks:RegisterCluster'));
    expect(registers.map((s) => s.roles)).toEqual([[expect.stringMatching(/^FlotillaApiRole/)]]);
    expect(registers[0]?.actions).toEqual(
      expect.arrayContaining(['eks:RegisterCluster', 'eks:DeregisterCluster', 'eks:TagResource']),
    );
    expect(registers[0]?.resources).toEqual([
      'arn:<AWS::Partition>:eks:<AWS::Region>:<AWS::AccountId>:cluster/*',
    ]);
  });
});

describe('user schedules', () => {
  it('deploys the schedule target under a fixed name, and tells every function how to schedule it', () => {
    const fns = functionsByEntry(base);
    const fire = fns.get('functions/steps/schedule-fire.ts');
    expect(fire?.props.FunctionName).toBe('Flotilla-schedule-fire');
    const arn = 'arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:Flotilla-schedule-fire';
    base.template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'Flotilla' });
    for (const [entry, { props }] of fns) {
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(render(env.FLOTILLA_SCHEDULE_TARGET_ARN), entry).toBe(arn);
      expect(render(env.FLOTILLA_SCHEDULER_ROLE_ARN), entry).toMatch(/^<FlotillaSchedulerRole\w+\.Arn>$/);
      expect(render(env.FLOTILLA_SCHEDULE_GROUP), entry).toBe('Flotilla');
    }
  });

  it('gives EventBridge Scheduler a role that may invoke only the schedule target and placement failover', () => {
    const role = resourcesOf(base.json, 'AWS::IAM::Role').find(([id]) =>
      id.startsWith('FlotillaSchedulerRole'),
    );
    expect(role).toBeDefined();
    const trust = (
      role?.[1].AssumeRolePolicyDocument as { Statement?: Array<Record<string, unknown>> } | undefined
    )?.Statement;
    expect(trust).toEqual([
      expect.objectContaining({
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    ]);
    const own = statementsOf(base.json).filter((st) => st.roles.includes(role?.[0] ?? '-'));
    expect(own.map((st) => [st.actions, st.resources])).toEqual([
      [
        ['lambda:InvokeFunction'],
        [
          'arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:Flotilla-schedule-fire',
          'arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:Flotilla-placement-failover',
        ],
      ],
    ]);
  });

  it('lets only the API and the steps (placement re-checks) manage schedules of its own group and pass the scheduler role', () => {
    const statements = statementsOf(base.json);
    const manage = statements.filter((st) => st.actions.includes('scheduler:CreateSchedule'));
    const apiAndStep = [
      expect.stringMatching(/^FlotillaApiRole/),
      expect.stringMatching(/^FlotillaStepRole/),
    ];
    expect(manage.flatMap((st) => st.roles)).toEqual(apiAndStep);
    for (const st of manage) {
      expect(st.resources).toEqual([
        'arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/Flotilla/*',
      ]);
    }
    const pass = statements.filter(
      (st) =>
        st.actions.includes('iam:PassRole') &&
        st.resources.some((r) => r.startsWith('<FlotillaSchedulerRole')),
    );
    expect(pass.flatMap((st) => st.roles)).toEqual(apiAndStep);
    for (const st of pass) {
      expect(st.conditions).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
    }
  });
});

describe('placement failover', () => {
  it('deploys its function under a fixed name the re-checks target, and tells every function', () => {
    const fns = functionsByEntry(base);
    expect(fns.get('functions/steps/placement-failover.ts')?.props.FunctionName).toBe(
      'Flotilla-placement-failover',
    );
    for (const [entry, { props }] of fns) {
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(render(env.FLOTILLA_PLACEMENT_TARGET_ARN), entry).toBe(
        'arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:Flotilla-placement-failover',
      );
    }
  });

  it('sends clusters reported unreachable and ended runs from the Flotilla bus to it', () => {
    base.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.anyValue(),
      EventPattern: {
        source: ['flotilla'],
        'detail-type': ['ClusterUnreachable', 'DeploymentSucceeded', 'DeploymentFailed'],
      },
      Targets: Match.arrayWith([
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FlotillaPlacementFailover'), 'Arn'] },
        }),
      ]),
    });
  });
});

describe('the API', () => {
  const expectedRoutes = () =>
    handlerCatalogue()
      .flatMap((h) => h.routes.map((r) => `${r.method} ${r.path}`))
      .sort();
  /**
   * The one exception to "no route without auth": route groups marked `agentFacing` (the
   * agents' bootstrap and rotation), whose callers hold no AWS credentials or user-pool tokens
   * and whose handler checks their own credential (test/infra/agents.test.ts checks them).
   */
  const agentFacing = () =>
    new Set(
      handlerCatalogue()
        .filter((h) => h.agentFacing)
        .flatMap((h) => h.routes.map((r) => `${r.method} ${r.path}`)),
    );

  it('serves every declared route, each behind IAM (SigV4) auth by default but the agent-facing ones', () => {
    const routes = resourcesOf(base.json, 'AWS::ApiGatewayV2::Route');
    expect(routes.map(([, p]) => p.RouteKey).sort()).toEqual(expectedRoutes());
    expect(routes.map(([, p]) => p.RouteKey)).toContain('POST /clusters');
    expect([...agentFacing()].sort()).toEqual(['POST /agent/bootstrap', 'POST /agent/rotate']);
    for (const [id, props] of routes) {
      expect(props.AuthorizationType, id).toBe(
        agentFacing().has(String(props.RouteKey)) ? 'NONE' : 'AWS_IAM',
      );
    }
  });

  it('puts every route behind a Cognito JWT authorizer in cognito mode but the agent-facing ones', () => {
    const s = synthesize({ apiAuth: 'cognito' });
    const routes = resourcesOf(s.json, 'AWS::ApiGatewayV2::Route');
    expect(routes.map(([, p]) => p.RouteKey).sort()).toEqual(expectedRoutes());
    const [authorizerId] = resourcesOf(s.json, 'AWS::ApiGatewayV2::Authorizer')[0] ?? [''];
    for (const [id, props] of routes) {
      if (agentFacing().has(String(props.RouteKey))) {
        expect(props.AuthorizationType, id).toBe('NONE');
        continue;
      }
      expect(props.AuthorizationType, id).toBe('JWT');
      expect(render(props.AuthorizerId), id).toBe(`<${authorizerId}>`);
    }
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
    });
    s.template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
  });

  it('throttles the stage and writes access logs', () => {
    base.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });

  it('routes each path to the function of its route group', () => {
    const fns = functionsByEntry(base);
    const integrations = new Map(
      resourcesOf(base.json, 'AWS::ApiGatewayV2::Integration').map(([id, p]) => [
        id,
        render(p.IntegrationUri),
      ]),
    );
    for (const [, props] of resourcesOf(base.json, 'AWS::ApiGatewayV2::Route')) {
      const key = String(props.RouteKey);
      const integration = render(props.Target).replace(/^integrations\/<(\w+)>$/, '$1');
      const spec = handlerCatalogue().find((h) => h.routes.some((r) => `${r.method} ${r.path}` === key));
      expect(integrations.get(integration), key).toBe(`<${fns.get(spec?.entry ?? '')?.id}.Arn>`);
    }
  });
});

describe('options', () => {
  it('uses a customer-managed key for the table, the bucket and the secrets when given one', () => {
    const keyed = synthesize((stack) => ({
      encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }),
    }));
    const [keyId] = resourcesOf(keyed.json, 'AWS::KMS::Key')[0] ?? [''];
    keyed.template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
    });
    keyed.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
            },
          }),
        ],
      },
    });
    const kmsStatements = statementsOf(keyed.json).filter(
      (st) =>
        st.roles.some((r) => /^Flotilla(Api|Step|Discovery)Role/.test(r)) &&
        st.actions.some((a) => a.startsWith('kms:')),
    );
    expect(kmsStatements.length).toBeGreaterThan(0);
    for (const st of kmsStatements) expect(st.resources).toEqual([`<${keyId}.Arn>`]);
    for (const [entry, { props }] of functionsByEntry(keyed)) {
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(render(env.FLOTILLA_SECRETS_KMS_KEY), entry).toBe(`<${keyId}.Arn>`);
    }
  });

  it('places the functions that reach clusters in the VPC given, and leaves discovery and the agent functions out', () => {
    const inVpc = synthesize((stack) => ({ vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }) }));
    for (const [entry, { props }] of functionsByEntry(inVpc)) {
      const outside = /functions\/steps\/(discover-|agent-)/.test(entry);
      expect(props.VpcConfig === undefined, entry).toBe(outside);
    }
  });

  it('lets the functions assume only the cross-account roles named', () => {
    const tenantDataRole = /^<FlotillaTenantDataRole\w+\.Arn>$/;
    const none = statementsOf(base.json).filter(
      (st) =>
        st.actions.includes('sts:AssumeRole') &&
        st.roles.some((r) => r.startsWith('FlotillaApiRole')) &&
        !st.resources.every((r) => tenantDataRole.test(r)),
    );
    expect(none).toEqual([]);
    const roleArn = 'arn:aws:iam::210987654321:role/flotilla-deployer';
    const s = synthesize({ assumableRoleArns: [roleArn] });
    const assume = statementsOf(s.json).filter(
      (st) =>
        st.actions.includes('sts:AssumeRole') &&
        st.roles.some((r) => /^Flotilla(Api|Step)Role/.test(r)) &&
        !st.resources.every((r) => tenantDataRole.test(r)),
    );
    expect(assume.length).toBeGreaterThan(0);
    for (const st of assume) expect(st.resources).toEqual([roleArn]);
  });
});
