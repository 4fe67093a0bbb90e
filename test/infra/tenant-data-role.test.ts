/**
 * What the tenant data role lets a tenant's session do, evaluated offline by an IAM policy
 * simulator (@cloud-copilot/iam-simulate) over the policies as synthesized: the session of
 * tenant alpha reaches alpha's items, reads the clusters, cluster sets and tenants, and nothing
 * of beta, of the tokens or of the platform's writes; no Scan; secrets only under alpha's prefix.
 * And who may start such a session, with which tag.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synthesize, type TemplateJson } from './support.ts';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';

type Json = unknown;

/** The template's intrinsics, resolved to what they would be in one account and region. */
function resolver(json: TemplateJson) {
  const arnOf = (id: string): string => {
    const type = json.Resources[id]?.Type;
    if (type === 'AWS::DynamoDB::Table') return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}`;
    if (type === 'AWS::IAM::Role') return `arn:aws:iam::${ACCOUNT}:role/${id}`;
    // Others (log groups, state machines…) only need to be some ARN of their own.
    return `arn:aws:other:${REGION}:${ACCOUNT}:${id}`;
  };
  const resolve = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value !== 'object' || value === null) return value;
    const o = value as Record<string, Json>;
    if (typeof o.Ref === 'string') {
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::Region': REGION,
        'AWS::AccountId': ACCOUNT,
        'AWS::URLSuffix': 'amazonaws.com',
      };
      return pseudo[o.Ref] ?? o.Ref;
    }
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[1] === 'Arn') return arnOf(String(getAtt[0]));
    const join = o['Fn::Join'];
    if (Array.isArray(join)) return (resolve(join[1]) as Json[]).map(String).join(String(join[0]));
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]));
  };
  return { resolve, arnOf };
}

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
function idOf(json: TemplateJson, type: string, prefix: string): string {
  const ids = Object.keys(json.Resources).filter(
    (id) => id.startsWith(prefix) && json.Resources[id]?.Type === type,
  );
  expect(ids, prefix).toHaveLength(1);
  return ids[0] ?? '';
}

describe('the tenant data role, simulated', () => {
  let synthesized: Synthesized;
  let table: string;
  let policy: Json;
  let trust: Json;
  let roleArn: string;
  let apiRoleArn: string;
  let apiPolicies: Array<{ name: string; policy: Json }>;

  beforeAll(() => {
    synthesized = synthesize();
    const { json } = synthesized;
    const { resolve, arnOf } = resolver(json);
    const role = idOf(json, 'AWS::IAM::Role', 'FlotillaTenantDataRole');
    const props = json.Resources[role]?.Properties as {
      Policies: Array<{ PolicyDocument: Json }>;
      AssumeRolePolicyDocument: Json;
    };
    expect(props.Policies).toHaveLength(1);
    policy = resolve(props.Policies[0]?.PolicyDocument);
    trust = resolve(props.AssumeRolePolicyDocument);
    roleArn = arnOf(role);
    table = arnOf(idOf(json, 'AWS::DynamoDB::Table', 'FlotillaTable'));
    const api = idOf(json, 'AWS::IAM::Role', 'FlotillaApiRole');
    apiRoleArn = arnOf(api);
    // Every managed policy of the API role (what the function may do before any session).
    apiPolicies = Object.entries(json.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy')
      .filter(([, r]) => JSON.stringify(r.Properties?.Roles).includes(api))
      .map(([id, r]) => ({ name: id, policy: resolve(r.Properties?.PolicyDocument) }));
  }, 300_000);

  /** The session of `tenant`'s principal. */
  const sessionOf = (tenant: string) =>
    `arn:aws:sts::${ACCOUNT}:assumed-role/FlotillaTenantDataRole/t-${tenant}`;

  /** What the simulator answers for `tenant`'s session taking `action` on `resource`. */
  async function decide(
    tenant: string,
    action: string,
    resource: string,
    context: Record<string, string | string[]> = {},
  ): Promise<string> {
    const result = await runSimulation(
      {
        request: {
          principal: sessionOf(tenant),
          action,
          resource: { resource, accountId: ACCOUNT },
          contextVariables: { 'aws:PrincipalTag/flotilla:tenant': tenant, ...context },
        },
        identityPolicies: [{ name: 'TenantData', policy }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      { simulationMode: 'Strict' },
    );
    if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
    return result.overallResult;
  }

  /** `tenant`'s session on items whose partition keys are `keys`. */
  const onItems = (tenant: string, action: string, keys: string[], resource = table) =>
    decide(tenant, `dynamodb:${action}`, resource, { 'dynamodb:LeadingKeys': keys });

  it("lets alpha's session read and write alpha's items, in the table and its index", async () => {
    for (const action of [
      'GetItem',
      'Query',
      'PutItem',
      'UpdateItem',
      'DeleteItem',
      'BatchGetItem',
      'BatchWriteItem',
    ]) {
      expect(await onItems('alpha', action, ['T#alpha#DEPLOYMENT']), action).toBe('Allowed');
    }
    expect(await onItems('alpha', 'Query', ['T#alpha#CLUSTER#edge-1#TGT'], `${table}/index/gsi1`)).toBe(
      'Allowed',
    );
    expect(await onItems('alpha', 'BatchGetItem', ['T#alpha#DEPLOYMENT', 'T#alpha#DEP#shop'])).toBe(
      'Allowed',
    );
  });

  it("denies alpha's session beta's items, and a batch that mixes in one of them", async () => {
    for (const action of ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem']) {
      expect(await onItems('alpha', action, ['T#beta#DEPLOYMENT']), action).toBe('ImplicitlyDenied');
    }
    expect(await onItems('alpha', 'Query', ['T#beta#CLUSTER#edge-1#TGT'], `${table}/index/gsi1`)).toBe(
      'ImplicitlyDenied',
    );
    expect(await onItems('alpha', 'BatchGetItem', ['T#alpha#DEPLOYMENT', 'T#beta#DEPLOYMENT'])).toBe(
      'ImplicitlyDenied',
    );
    // A tenant whose name starts with alpha's is another tenant.
    expect(await onItems('alpha', 'GetItem', ['T#alphabet#DEPLOYMENT'])).toBe('ImplicitlyDenied');
    // And beta's own session is confined the same way.
    expect(await onItems('beta', 'GetItem', ['T#beta#DEPLOYMENT'])).toBe('Allowed');
    expect(await onItems('beta', 'GetItem', ['T#alpha#DEPLOYMENT'])).toBe('ImplicitlyDenied');
  });

  it('denies Scan, of the table and of the index', async () => {
    expect(await decide('alpha', 'dynamodb:Scan', table)).toBe('ImplicitlyDenied');
    expect(await decide('alpha', 'dynamodb:Scan', `${table}/index/gsi1`)).toBe('ImplicitlyDenied');
    // A request naming no partition key at all matches nothing either.
    expect(await decide('alpha', 'dynamodb:GetItem', table)).toBe('ImplicitlyDenied');
  });

  it('lets the session read the clusters, cluster sets and tenants, and write none of them', async () => {
    for (const partition of ['T#_platform#CLUSTER', 'T#_platform#CLUSTERSET', 'T#_platform#TENANT']) {
      for (const action of ['GetItem', 'Query', 'BatchGetItem']) {
        expect(await onItems('alpha', action, [partition]), `${action} ${partition}`).toBe('Allowed');
      }
      for (const action of ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']) {
        expect(await onItems('alpha', action, [partition]), `${action} ${partition}`).toBe(
          'ImplicitlyDenied',
        );
      }
    }
  });

  it('denies the session the tokens, and every other platform partition', async () => {
    for (const action of ['GetItem', 'Query', 'PutItem', 'DeleteItem']) {
      expect(await onItems('alpha', action, ['T#_platform#TOKEN']), action).toBe('ImplicitlyDenied');
    }
    expect(await onItems('alpha', 'Query', ['T#_platform#EXECUTION'])).toBe('ImplicitlyDenied');
  });

  it("lets alpha's session use the secrets under alpha's prefix only", async () => {
    const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
    for (const action of ['GetSecretValue', 'CreateSecret', 'PutSecretValue', 'DeleteSecret']) {
      expect(
        await decide('alpha', `secretsmanager:${action}`, secret('flotilla/alpha/approvals/shop')),
        action,
      ).toBe('Allowed');
      expect(
        await decide('alpha', `secretsmanager:${action}`, secret('flotilla/beta/approvals/shop')),
        action,
      ).toBe('ImplicitlyDenied');
    }
    expect(
      await decide('alpha', 'secretsmanager:GetSecretValue', secret('flotilla/_platform/clusters/edge-1/x')),
    ).toBe('ImplicitlyDenied');
    expect(
      await decide('alpha', 'secretsmanager:GetSecretValue', secret('flotilla/alphabet/clusters/x')),
    ).toBe('ImplicitlyDenied');
  });

  /** Whether the API function may assume the tenant data role with these session tags. */
  async function assume(
    action: 'sts:AssumeRole' | 'sts:TagSession',
    tags: Record<string, string>,
    principal = apiRoleArn,
  ) {
    const result = await runSimulation(
      {
        request: {
          principal,
          action,
          resource: { resource: roleArn, accountId: ACCOUNT },
          contextVariables: {
            ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
            'aws:TagKeys': Object.keys(tags),
          },
        },
        identityPolicies: apiPolicies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: trust,
      },
      { simulationMode: 'Strict' },
    );
    if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
    return result.overallResult;
  }

  it("lets the API's role start a session tagged with a tenant, never the platform's, nor with other tags", async () => {
    expect(apiPolicies.length).toBeGreaterThan(0);
    for (const action of ['sts:AssumeRole', 'sts:TagSession'] as const) {
      expect(await assume(action, { 'flotilla:tenant': 'alpha' }), action).toBe('Allowed');
      expect(await assume(action, { 'flotilla:tenant': '_platform' }), action).not.toBe('Allowed');
      expect(await assume(action, { 'flotilla:tenant': 'alpha', team: 'x' }), action).not.toBe('Allowed');
      expect(await assume(action, {}), action).not.toBe('Allowed');
    }
  });
});
