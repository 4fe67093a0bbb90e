import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  type HelmRelease,
  manifestText,
  readReleaseSecret,
  releaseSecret,
  releaseSecretName,
  withStatus,
} from '../../../domain/helm-release.ts';
import type { KubeObject } from '../../../domain/model.ts';

const hook: KubeObject = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'migrate', annotations: { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-weight': '-1' } },
};
const release: HelmRelease = {
  name: 'shop',
  namespace: 'shop',
  version: 3,
  status: 'deployed',
  description: 'Upgrade complete',
  firstDeployed: '2026-01-01T00:00:00.000Z',
  lastDeployed: '2026-01-02T00:00:00.000Z',
  chart: { name: 'shop', version: '1.2.0', appVersion: '2.0', apiVersion: 'v2' },
  chartValues: { replicas: 1 },
  config: { replicas: 3 },
  manifest: manifestText([
    {
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
      path: 'shop/templates/c.yaml',
    },
  ]),
  hooks: [
    {
      object: hook,
      path: 'shop/templates/hook.yaml',
      lastRun: { phase: 'Succeeded', startedAt: 'a', completedAt: 'b' },
    },
  ],
  applyMethod: 'csa',
  labels: { 'flotilla.dev/deployment': 'shop', 'flotilla.dev/tenant': 't', 'flotilla.dev/revision': '7' },
};

/** What Helm's Secret driver reads: the API's base64 of the base64 of the gzip of the JSON. */
function helmDecode(secret: KubeObject): Record<string, unknown> {
  const data = (secret as unknown as { data: { release: string } }).data.release;
  const inner = Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64');
  return JSON.parse(gunzipSync(inner).toString('utf8'));
}

describe('the Helm release record', () => {
  it('is the storage Secret Helm reads: name, type, labels, and the release JSON in its fields', () => {
    const secret = releaseSecret(release, new Date('2026-01-02T00:00:00Z'));
    expect(secret.metadata).toMatchObject({
      name: 'sh.helm.release.v1.shop.v3',
      namespace: 'shop',
      labels: { name: 'shop', owner: 'helm', status: 'deployed', version: '3', modifiedAt: '1767312000' },
    });
    expect((secret as { type?: string }).type).toBe('helm.sh/release.v1');
    const json = helmDecode(secret);
    expect(json).toMatchObject({
      name: 'shop',
      namespace: 'shop',
      version: 3,
      info: { status: 'deployed', description: 'Upgrade complete', first_deployed: release.firstDeployed },
      chart: { metadata: { name: 'shop', version: '1.2.0' }, values: { replicas: 1 } },
      config: { replicas: 3 },
      apply_method: 'csa',
    });
    expect(json.manifest).toBe(
      '---\n# Source: shop/templates/c.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n',
    );
    expect(json.hooks).toEqual([
      expect.objectContaining({
        name: 'migrate',
        kind: 'Job',
        path: 'shop/templates/hook.yaml',
        events: ['pre-upgrade'],
        weight: -1,
        delete_policies: ['before-hook-creation'],
        last_run: { started_at: 'a', completed_at: 'b', phase: 'Succeeded' },
      }),
    ]);
  });

  it("reads back what it wrote, with Flotilla's owner labels, and rewrites only the status", () => {
    const secret = releaseSecret(release, new Date());
    const stored = readReleaseSecret(secret);
    expect(stored).toMatchObject({
      name: 'shop',
      version: 3,
      status: 'deployed',
      tenant: 't',
      deployment: 'shop',
      revision: 7,
    });
    const superseded = withStatus(stored as NonNullable<typeof stored>, 'superseded', new Date());
    expect(superseded.metadata.labels).toMatchObject({ status: 'superseded', 'flotilla.dev/revision': '7' });
    expect(helmDecode(superseded)).toMatchObject({
      info: { status: 'superseded', description: 'Upgrade complete' },
      manifest: release.manifest,
    });
  });

  it('refuses what is not a release record', () => {
    expect(
      readReleaseSecret({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'x' },
        type: 'Opaque',
        data: {},
      } as KubeObject),
    ).toBeUndefined();
    expect(
      readReleaseSecret({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'x' },
        type: 'helm.sh/release.v1',
        data: { release: 'bm90IGd6aXA=' },
      } as KubeObject),
    ).toBeUndefined();
    expect(releaseSecretName('a', 12)).toBe('sh.helm.release.v1.a.v12');
  });
});
