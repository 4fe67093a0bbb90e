/**
 * Updates the API server refuses, with its messages: the field and the refused value as Go
 * prints it (what `helm upgrade` and `kubectl apply` show users).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goLabelSelector, goSyntax } from '../../simulator/go-values.ts';
import { type Simulator, startSimulator } from '../../simulator/index.ts';
import { type Client, client, deploymentManifest } from './http.ts';

const APPLY = { contentType: 'application/apply-patch+yaml' };

describe('immutable fields', () => {
  let sim: Simulator;
  let api: Client;
  /** Server-side applies `body` as manager `test` (force: these tests are about validation, not ownership). */
  const apply = (path: string, body: Record<string, unknown>) =>
    api.call('PATCH', 'sim-001', `${path}?fieldManager=test&force=true`, { ...APPLY, body });

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1 });
    api = client(sim);
  });

  afterAll(async () => {
    api.close();
    await sim.stop();
  });

  it('prints values as Go does', () => {
    expect(goLabelSelector({ matchLabels: { b: '2', a: '1' } })).toBe(
      'v1.LabelSelector{MatchLabels:map[string]string{"a":"1", "b":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}',
    );
    expect(goSyntax('[]string', ['10.96.0.9'])).toBe('[]string{"10.96.0.9"}');
    expect(goSyntax('*int32', 3)).toBe('3');
    expect(
      goSyntax('core.PodTemplateSpec', {
        metadata: { labels: { app: 'x' } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', args: ['true'] }] },
      }),
    ).toBe(
      'core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Labels:map[string]string{"app":"x"}}, Spec:core.PodSpec{RestartPolicy:"Never", Containers:[]core.Container{core.Container{Name:"c", Image:"busybox", Args:[]string{"true"}}}}}',
    );
  });

  it('refuses a new Job template, showing the template it was given', async () => {
    const path = '/apis/batch/v1/namespaces/default/jobs/migrate';
    const job = (image: string) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate' },
      spec: {
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image }] } },
      },
    });
    await apply(path, job('app:1'));

    const reply = await apply(path, job('app:2'));

    expect(reply.status).toBe(422);
    expect(reply.body.message).toMatch(
      /^Job\.batch "migrate" is invalid: spec\.template: Invalid value: core\.PodTemplateSpec\{Spec:core\.PodSpec\{.*Image:"app:2".*\}\}: field is immutable$/,
    );
    expect(reply.body.details).toMatchObject({
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.template' }],
    });
  });

  it('refuses a new Deployment selector', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments/web';
    await apply(path, deploymentManifest('web', 'default'));
    const changed = deploymentManifest('web', 'default') as { spec: Record<string, unknown> };
    changed.spec.selector = { matchLabels: { app: 'web', tier: 'front' } };
    (changed.spec.template as { metadata: { labels: object } }).metadata.labels = {
      app: 'web',
      tier: 'front',
    };

    const reply = await apply(path, changed);

    expect(reply.status).toBe(422);
    expect(reply.body.message).toBe(
      'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"front"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    );
  });

  it('forbids StatefulSet spec changes other than the few it allows', async () => {
    const path = '/apis/apps/v1/namespaces/default/statefulsets/db';
    const sts = (storage: string, replicas: number) => {
      const d = deploymentManifest('db', 'default', replicas) as { spec: Record<string, unknown> };
      return {
        ...d,
        kind: 'StatefulSet',
        spec: {
          ...d.spec,
          serviceName: 'db',
          volumeClaimTemplates: [
            {
              metadata: { name: 'data' },
              spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
            },
          ],
        },
      };
    };
    await apply(path, sts('1Gi', 1));

    const scaled = await apply(path, sts('1Gi', 3));
    const resized = await apply(path, sts('2Gi', 3));

    expect(scaled.status).toBe(200);
    expect(resized.status).toBe(422);
    expect(resized.body.message).toBe(
      `StatefulSet.apps "db" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden`,
    );
  });

  it('refuses a new cluster IP and changes to an immutable ConfigMap', async () => {
    const svcPath = '/api/v1/namespaces/default/services/api';
    const created = await apply(svcPath, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'api' },
      spec: { ports: [{ port: 80 }] },
    });
    const cmPath = '/api/v1/namespaces/default/configmaps/frozen';
    const cm = (value: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'frozen' },
      immutable: true,
      data: { value },
    });
    await apply(cmPath, cm('a'));

    const headless = await apply(svcPath, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'api' },
      spec: { clusterIP: 'None', ports: [{ port: 80 }] },
    });
    const thawed = await apply(cmPath, cm('b'));

    expect((created.body.spec as { clusterIP: string }).clusterIP).toMatch(/^10\.96\./);
    expect(headless.status).toBe(422);
    expect(headless.body.message).toContain(
      'spec.clusterIPs[0]: Invalid value: []string{"None"}: may not change once set',
    );
    expect(thawed.status).toBe(422);
    expect(thawed.body.message).toBe(
      'ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set',
    );
  });

  it('refuses restart policies a controller cannot honour', async () => {
    const d = deploymentManifest('never', 'default') as {
      spec: { template: { spec: Record<string, unknown> } };
    };
    d.spec.template.spec.restartPolicy = 'Never';

    const reply = await apply('/apis/apps/v1/namespaces/default/deployments/never', d);

    expect(reply.status).toBe(422);
    expect(reply.body.message).toBe(
      'Deployment.apps "never" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    );
  });
});
