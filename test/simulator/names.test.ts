/**
 * Object names as the API server checks them, per kind: RBAC roles and bindings take any name
 * that is safe in a URL path (`system:controller:foo`), most kinds DNS-1123 subdomains,
 * Namespaces and StatefulSets DNS-1123 labels, Services DNS-1035 labels; and every name in a
 * request path must be a safe path segment. The RBAC case is driven with the real kubectl.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../simulator/index.ts';
import { nameProblems, nameRule } from '../../simulator/validation.ts';
import { type Client, client } from './http.ts';
import { type Toolbox, toolbox } from './tools.ts';

const CONTEXT = { context: 'sim-001' };

const clusterRole = (name: string) => `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: "${name}"
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["get"]
`;

describe('object names', () => {
  let sim: Simulator;
  let tools: Toolbox;
  let api: Client;

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1 });
    tools = toolbox(sim);
    api = client(sim);
  });

  afterAll(async () => {
    api.close();
    await sim.stop();
    tools.cleanup();
  });

  it('takes RBAC names with colons through every kubectl verb', async () => {
    const name = 'system:flotilla:reader';
    const manifest = clusterRole(name);

    const created = await tools.kubectl(['create', '-f', '-'], { ...CONTEXT, input: manifest });
    const applied = await tools.kubectl(['apply', '-f', '-'], { ...CONTEXT, input: manifest });
    const serverSide = await tools.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      ...CONTEXT,
      input: manifest.replace('"get"', '"get", "list"'),
    });
    const got = await tools.kubectl(
      ['get', 'clusterrole', name, '-o', 'jsonpath={.rules[0].verbs}'],
      CONTEXT,
    );
    const listed = await tools.kubectl(['get', 'clusterroles', '-o', 'name'], CONTEXT);
    const watch = tools.kubectlRunning(['get', 'clusterrole', name, '--watch', '-o', 'name'], CONTEXT);
    await watch.untilLines(1);
    const deleted = await tools.kubectl(['delete', 'clusterrole', name, '--wait'], CONTEXT);
    // kubectl prints the object again when its watch delivers the deletion.
    await watch.untilLines(2);
    const watched = await watch.stop();

    expect(created.stdout).toContain(`clusterrole.rbac.authorization.k8s.io/${name} created`);
    expect(applied.code).toBe(0);
    expect(serverSide.stdout).toContain('serverside-applied');
    expect(got.stdout).toBe('["get","list"]');
    expect(listed.stdout.split('\n')).toContain(`clusterrole.rbac.authorization.k8s.io/${name}`);
    expect(deleted.stdout).toContain(`clusterrole.rbac.authorization.k8s.io "${name}" deleted`);
    expect(watched.stdout.split('\n').slice(0, 2)).toEqual([
      `clusterrole.rbac.authorization.k8s.io/${name}`,
      `clusterrole.rbac.authorization.k8s.io/${name}`,
    ]);
    expect(
      sim.cluster('sim-001').get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name }),
    ).toBeUndefined();
  });

  it.each([
    ['Role', 'pathSegment'],
    ['ClusterRoleBinding', 'pathSegment'],
    ['Service', 'dns1035'],
    ['Namespace', 'label'],
    ['StatefulSet', 'label'],
    ['ConfigMap', 'subdomain'],
    ['Deployment', 'subdomain'],
    ['Widget', 'subdomain'],
  ] as const)('checks %s names as %s', (kind, rule) => {
    expect(nameRule(kind)).toBe(rule);
  });

  it.each([
    ['pathSegment', 'system:controller:job', []],
    ['pathSegment', 'Upper_Case and spaces', []],
    ['pathSegment', 'a/b', ["may not contain '/'"]],
    ['pathSegment', '50%', ["may not contain '%'"]],
    ['pathSegment', '..', ["may not be '..'"]],
    ['subdomain', 'web.example', []],
    ['subdomain', 'system:foo', [expect.stringContaining('a lowercase RFC 1123 subdomain')]],
    ['label', 'web.example', [expect.stringContaining('a lowercase RFC 1123 label')]],
    ['label', 'x'.repeat(64), ['must be no more than 63 characters']],
    ['dns1035', 'web-1', []],
    ['dns1035', '1-web', [expect.stringContaining('a DNS-1035 label')]],
  ] as const)('%s names: %s', (rule, name, problems) => {
    expect(nameProblems(rule, name)).toEqual(problems);
  });

  it('answers 422 with the kind’s own rule', async () => {
    const post = (path: string, body: Record<string, unknown>) => api.call('POST', 'sim-001', path, { body });

    const service = await post('/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: '1-web' },
      spec: { ports: [{ port: 80 }] },
    });
    const configMap = await post('/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'system:config' },
    });
    const role = await post('/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'a/b' },
    });
    const cronJob = await post('/apis/batch/v1/namespaces/default/cronjobs', {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c'.repeat(53) },
      spec: {
        schedule: '* * * * *',
        jobTemplate: {
          spec: {
            template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
          },
        },
      },
    });

    expect([service.status, configMap.status, role.status, cronJob.status]).toEqual([422, 422, 422, 422]);
    expect(service.body.message).toMatch(
      /^Service "1-web" is invalid: metadata.name: Invalid value: "1-web": a DNS-1035 label/,
    );
    expect(configMap.body.message).toMatch(
      /^ConfigMap "system:config" is invalid: metadata.name: Invalid value: "system:config": a lowercase RFC 1123 subdomain/,
    );
    expect(role.body.message).toBe(
      `Role.rbac.authorization.k8s.io "a/b" is invalid: metadata.name: Invalid value: "a/b": may not contain '/'`,
    );
    expect(cronJob.body.message).toContain('metadata.name: Invalid value: "ccc');
    expect(cronJob.body.message).toContain('must be no more than 52 characters');
  });

  it('checks a binding’s roleRef and keeps it from changing', async () => {
    const path = '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings';
    const binding = (roleRef: Record<string, string>) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'system:readers' },
      roleRef,
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }],
    });

    const wrongKind = await api.call('POST', 'sim-001', path, {
      body: binding({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Deployment', name: 'x' }),
    });
    const created = await api.call('POST', 'sim-001', path, {
      body: binding({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:view' }),
    });
    const changed = await api.call('PUT', 'sim-001', `${path}/system:readers`, {
      body: binding({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:edit' }),
    });

    expect(wrongKind.status).toBe(422);
    expect(wrongKind.body.message).toContain(
      'roleRef.kind: Unsupported value: "Deployment": supported values: "Role", "ClusterRole"',
    );
    expect(created.status).toBe(201);
    expect(changed.status).toBe(422);
    expect(changed.body.message).toBe(
      'RoleBinding.rbac.authorization.k8s.io "system:readers" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"system:edit"}: cannot change roleRef',
    );
  });

  it('answers 400 to a name in the path that is not a safe path segment', async () => {
    const reply = await api.call('GET', 'sim-001', '/api/v1/namespaces/default/configmaps/50%25');
    const broken = await api.call('GET', 'sim-001', '/api/v1/namespaces/default/configmaps/%E0%A4%A');

    expect(reply.status).toBe(400);
    expect(reply.body.message).toBe(`Name parameter invalid: "50%": may not contain '%'`);
    expect(broken.status).toBe(400);
  });
});
