/**
 * The tenancy commands of the real CLI against a local control plane: the platform administrator
 * makes a tenant, a cluster set and tokens; each token's `whoami` says its tenant and role; a
 * viewer's deploy is refused in one line naming the role it takes, an operator's lands only on
 * the tenant's clusters under its field manager, and a revoked token is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { endpointFilePath } from '../../../local/endpoint-file.ts';
import { type CliRun, runFlotilla } from '../helpers/cli.ts';

let plane: ControlPlane;
let home: string;

function flotilla(args: string[], token?: string): Promise<CliRun> {
  return runFlotilla(args, {
    cwd: home,
    env: {
      ...process.env,
      FLOTILLA_HOME: home,
      FLOTILLA_API: '',
      FLOTILLA_TOKEN: token ?? '',
      FLOTILLA_TENANT: '',
    },
    timeoutMs: 90_000,
  });
}

async function ok(args: string[], token?: string): Promise<CliRun> {
  const run = await flotilla(args, token);
  expect(run.code, `flotilla ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'flotilla-tenancy-cli-'));
  plane = await startControlPlane({
    simulate: 6,
    waitMs: 20,
    endpointFile: endpointFilePath({ FLOTILLA_HOME: home }),
    tunables: { healthPollSeconds: 1 },
  });
});

afterAll(async () => {
  await plane?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('tenancy through the CLI', () => {
  it('sets up a tenant, its clusters and tokens, and holds each token to its role', async () => {
    await ok(['tenants', 'create', 'payments']);
    const listed = JSON.parse((await ok(['tenants', 'list', '-o', 'json'])).stdout) as Array<{
      name: string;
    }>;
    expect(listed.map((t) => t.name).sort()).toEqual(['default', 'payments']);
    writeFileSync(
      join(home, 'set.yaml'),
      [
        'selector: { matchLabels: { env: prod } }',
        'bindings:',
        '  - tenant: payments',
        '    namespaces: [payments-*]',
        '',
      ].join('\n'),
    );
    await ok(['cluster-sets', 'put', 'prod', '-f', join(home, 'set.yaml')]);

    const token = async (role: string) =>
      JSON.parse(
        (await ok(['tokens', 'create', '--tenant', 'payments', '--role', role, '--name', role, '-o', 'json']))
          .stdout,
      ) as { token: string; id: string };
    const viewer = await token('viewer');
    const operator = await token('operator');

    const who = JSON.parse((await ok(['whoami', '-o', 'json'], viewer.token)).stdout) as {
      tenant: string;
      role: string;
      actions: Record<string, { allowed: boolean }>;
    };
    expect([who.tenant, who.role, who.actions.read?.allowed, who.actions.deploy?.allowed]).toEqual([
      'payments',
      'viewer',
      true,
      false,
    ]);

    // The tenant sees the clusters of its set, and only those.
    const clusters = JSON.parse(
      (await ok(['clusters', 'list', '-o', 'json'], viewer.token)).stdout,
    ) as Array<{
      name: string;
      labels: Record<string, string>;
    }>;
    expect(clusters.length).toBe(2);
    expect(clusters.every((c) => c.labels.env === 'prod')).toBe(true);

    writeFileSync(
      join(home, 'app.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app }\ndata: { a: b }\n',
    );
    writeFileSync(
      join(home, 'deploy.yaml'),
      [
        'apiVersion: flotilla.dev/v1alpha1',
        'kind: Deployment',
        'metadata: { name: app }',
        'spec:',
        '  source: { manifests: ./app.yaml }',
        '  namespace: payments-app',
        '  target: { selector: {} }',
        '',
      ].join('\n'),
    );
    const refused = await flotilla(['deploy', '-f', join(home, 'deploy.yaml')], viewer.token);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/viewer role may not deploy.*it takes operator/);

    await ok(['deploy', '-f', join(home, 'deploy.yaml')], operator.token);
    const objects = (plane.simulator?.clusters() ?? []).map((c) => ({
      cluster: c.name,
      managers: (
        plane.simulator?.cluster(c.name).get({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: 'payments-app',
          name: 'app',
        }) as { metadata: { managedFields?: Array<{ manager: string }> } } | undefined
      )?.metadata.managedFields?.map((f) => f.manager),
    }));
    expect(objects.filter((o) => o.managers).map((o) => o.cluster)).toEqual(clusters.map((c) => c.name));
    for (const o of objects.filter((x) => x.managers)) expect(o.managers).toContain('flotilla-payments');

    await ok(['tokens', 'revoke', '--tenant', 'payments', viewer.id]);
    const revoked = await flotilla(['status'], viewer.token);
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toMatch(/401|token/i);
  }, 180_000);
});
