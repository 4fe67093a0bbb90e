/**
 * Air-gapped sites, end to end, with the real `flotilla` command in child processes: a fleet
 * where two clusters of a site ("vault") are enrolled as air-gapped (no endpoint, no credential,
 * no channel: the control plane never reaches them) and two are reached by push. A rollout puts
 * the site in its own wave with a failure budget: its work is issued and its clusters failed at
 * once (Unreachable, "air-gapped"), the push wave goes on. Then the operator exports a bundle,
 * the site applies it offline (`agent apply --bundle` against the simulated clusters, through a
 * kubeconfig only the site has) and the receipt is imported: the targets are Succeeded at the
 * revision. A second revision prunes an object through the next bundle, and a rollback goes the
 * same way. Tampered bundles change nothing on the site; tampered, replayed, stale and foreign
 * receipts move no target.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packReceipt } from '../../../domain/bundle.ts';
import type { Target } from '../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { generateSigningKeys } from '../../../domain/signing.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { endpointFilePath } from '../../../local/endpoint-file.ts';
import type { Simulator } from '../../../simulator/index.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { rollbackDeployment } from '../../../usecases/rollouts/rollback-deployment.ts';
import { type CliRun, runFlotilla } from '../helpers/cli.ts';
import { manifests } from '../helpers/manifests.ts';

let plane: ControlPlane;
let sim: Simulator;
let home: string;
const VAULT = ['vault-1', 'vault-2'];
let PUSH: string[] = [];

const path = (name: string) => join(home, name);

function flotilla(args: string[]): Promise<CliRun> {
  return runFlotilla(args, {
    cwd: home,
    env: { ...process.env, FLOTILLA_HOME: home, FLOTILLA_API: '', FLOTILLA_TOKEN: '' },
    timeoutMs: 90_000,
  });
}

async function ok(args: string[]): Promise<CliRun> {
  const run = await flotilla(args);
  expect(run.code, `flotilla ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'flotilla-air-gapped-'));
  plane = await startControlPlane({
    simulate: 2,
    simulator: { profile: 'uniform', readyDelayMs: 20 },
    waitMs: 20,
    endpointFile: endpointFilePath({ FLOTILLA_HOME: home }),
    tunables: { healthPollSeconds: 1 },
  });
  if (!plane.simulator) throw new Error('no simulator');
  sim = plane.simulator;
  PUSH = sim.clusters().map((c) => c.name);
  // The site's clusters exist only for the site: the control plane never gets their kubeconfig.
  for (const name of VAULT) sim.addCluster({ name, provider: 'OTHER', region: 'vault', version: '1.32' });
  writeFileSync(path('site.kubeconfig'), sim.kubeconfig({ clusters: VAULT }), { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  await plane?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

const config = (color: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: "${color}"\n`;
const LEGACY = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: legacy\ndata:\n  old: "yes"\n';
const WEB = [
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: { name: web }',
  'spec:',
  '  replicas: 1',
  '  selector: { matchLabels: { app: web } }',
  '  template:',
  '    metadata: { labels: { app: web } }',
  '    spec: { containers: [{ name: web, image: "nginx:1.27" }] }',
  '',
].join('\n');

/** The site in its own first wave, whose budget takes all of it; the push clusters after. */
const spec = (files: Record<string, string>) => ({
  name: 'shop',
  namespace: 'shop',
  source: manifests(files),
  target: {},
  strategy: {
    onFailure: 'pause',
    waves: [{ selector: { matchLabels: { site: 'vault' } }, maxFailures: '100%' }, {}],
  },
});

async function waitFor(executionId: string | undefined): Promise<string> {
  const execution = await plane.deps.store.getExecution('default', executionId ?? '');
  await plane.runner.wait(execution?.workflowRef ?? '');
  return (await plane.deps.store.getExecution('default', executionId ?? ''))?.status ?? 'missing';
}

async function targets(): Promise<Map<string, Target>> {
  return new Map((await plane.deps.store.listTargets('default', 'shop')).map((t) => [t.cluster, t]));
}

function color(cluster: string): string | undefined {
  const object = sim
    .cluster(cluster)
    .get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' });
  return (object as { data?: { color?: string } } | undefined)?.data?.color;
}

function hasLegacy(cluster: string): boolean {
  return (
    sim.cluster(cluster).get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'legacy' }) !==
    undefined
  );
}

/** Every object of a cluster with its resourceVersion: equal snapshots mean nothing changed. */
function snapshot(cluster: string): string[] {
  return sim
    .cluster(cluster)
    .list()
    .map((o) => {
      const m = o.metadata as { namespace?: string; name?: string; resourceVersion?: string };
      return `${o.kind}/${m.namespace ?? ''}/${m.name}@${m.resourceVersion}`;
    })
    .sort();
}

/** A copy of a bundle with its JSON document changed by `edit` (as someone on the way might). */
function tamper(file: string, out: string, edit: (text: string) => string): string {
  const text = gunzipSync(readFileSync(path(file))).toString('utf8');
  const changed = edit(text);
  expect(changed).not.toBe(text);
  writeFileSync(path(out), gzipSync(Buffer.from(changed)));
  return out;
}

const apply = (bundle: string, receipt: string, key = 'site/receipt-key.pem') =>
  flotilla([
    'agent',
    'apply',
    '--bundle',
    path(bundle),
    '--kubeconfig',
    path('site.kubeconfig'),
    '--public-key',
    path('control-plane.pem'),
    '--receipt-key',
    path(key),
    '-o',
    path(receipt),
    '--poll-ms',
    '50',
  ]);

describe('an air-gapped site', () => {
  it('is enrolled with its receipt key and no token, endpoint or credential', async () => {
    const keys = await ok(['agent', 'keys', '-o', path('site')]);
    expect(keys.stdout).toMatch(/site key ed25519:[0-9a-f]{32}/);
    expect((await flotilla(['agent', 'keys', '-o', path('site')])).stderr).toMatch(/exists/);
    const registered = await ok([
      'clusters',
      'register-gateway',
      'vault',
      '--cluster',
      'vault-1',
      '--cluster',
      'vault-2',
      '--air-gapped',
      '--receipt-key',
      path('site/receipt-key.pub.pem'),
      '-l',
      'site=vault',
      '-o',
      'json',
    ]);
    const answer = JSON.parse(registered.stdout) as Record<string, unknown>;
    expect(answer).toMatchObject({ agent: 'vault', airGapped: true, clusters: VAULT, manifests: [] });
    expect(answer.bootstrapToken).toBeUndefined();
    for (const name of VAULT) {
      const cluster = await plane.deps.store.getCluster(name);
      expect(cluster).toMatchObject({ auth: { type: 'agent', agent: 'vault' }, agent: { airGapped: true } });
      expect(cluster?.endpoint).toBeUndefined();
      expect(cluster?.agent?.bootstrap).toBeUndefined();
      expect(cluster?.agent?.receiptKey).toBe(readFileSync(path('site/receipt-key.pub.pem'), 'utf8'));
    }
    // A private key is never taken for the public one.
    const wrong = await flotilla([
      'clusters',
      'register',
      'vault-3',
      '--agent',
      '--air-gapped',
      '--receipt-key',
      path('site/receipt-key.pem'),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/receiptKey.*PEM public key/);
    expect(await plane.deps.store.getCluster('vault-3')).toBeUndefined();
  });

  it('is handed its work by the rollout and failed at once, while the push wave goes on', async () => {
    const created = await createDeployment(
      plane.deps,
      spec({ 'c.yaml': config('blue'), 'l.yaml': LEGACY, 'w.yaml': WEB }),
      { tenant: DEFAULT_TENANT },
    );
    await waitFor(created.executionId);
    const records = await targets();
    for (const name of PUSH) {
      expect(records.get(name), name).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
    }
    for (const name of VAULT) {
      const target = records.get(name);
      expect(target, name).toMatchObject({ status: 'Failed', failure: 'Unreachable', desiredRevision: 1 });
      expect(target?.reason).toMatch(/air-gapped site/);
      expect(target?.workDigest).toMatch(/^sha256:/);
      // Nothing reached it: the control plane has no way to.
      expect(snapshot(name).filter((o) => o.includes('/shop/'))).toEqual([]);
    }
  });

  it('refuses to bundle a cluster reached by push, naming it', async () => {
    const run = await flotilla([
      'bundle',
      'export',
      'shop',
      '--cluster',
      PUSH[0] ?? '',
      '-o',
      path('x.bundle'),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/clusters\[0\].*reached by (token|kubeconfig)/);
  });

  it('takes its bundle, applies it offline and its receipt makes the targets Succeeded', async () => {
    const exported = await ok([
      'bundle',
      'export',
      'shop',
      '-l',
      'site=vault',
      '-o',
      path('r1.bundle'),
      '--public-key-out',
      path('control-plane.pem'),
    ]);
    expect(exported.stdout).toContain('vault-1: apply revision 1');
    expect(exported.stdout).toContain('vault-2: apply revision 1');
    const applied = await apply('r1.bundle', 'r1.receipt.json');
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('vault-1: Succeeded at revision 1');
    for (const name of VAULT) {
      expect(color(name), name).toBe('blue');
      expect(hasLegacy(name), name).toBe(true);
    }
    const imported = await ok(['bundle', 'import', path('r1.receipt.json')]);
    expect(imported.stdout).toContain('2 recorded, 0 refused');
    const records = await targets();
    for (const name of VAULT) {
      const target = records.get(name);
      expect(target, name).toMatchObject({
        status: 'Succeeded',
        appliedRevision: 1,
        health: { status: 'Healthy' },
      });
      expect(target?.inventory.map((i) => `${i.kind}/${i.name}`).sort()).toEqual([
        'ConfigMap/legacy',
        'ConfigMap/settings',
        'Deployment/web',
      ]);
    }
  });

  it('refuses a receipt brought back twice, changed, or signed by another site; nothing moves', async () => {
    const before = await targets();
    const again = await flotilla(['bundle', 'import', path('r1.receipt.json')]);
    expect(again.code).toBe(2);
    expect(again.stdout).toMatch(/vault-1: .*not recorded, replayed/);

    const receipt = JSON.parse(readFileSync(path('r1.receipt.json'), 'utf8')) as { receipt: string };
    writeFileSync(
      path('changed.receipt.json'),
      JSON.stringify({ ...receipt, receipt: receipt.receipt.replace(/"seq":(\d)/g, '"seq":9$1') }),
    );
    const changed = await flotilla(['bundle', 'import', path('changed.receipt.json')]);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/signature: does not verify .* changed after it was signed/);

    const body = JSON.parse(receipt.receipt) as Parameters<typeof packReceipt>[0];
    const foreign = packReceipt(
      { ...body, reports: body.reports.map((r) => ({ ...r, seq: r.seq + 1 })) },
      generateSigningKeys().privateKey,
    );
    writeFileSync(path('foreign.receipt.json'), JSON.stringify(foreign));
    const other = await flotilla(['bundle', 'import', path('foreign.receipt.json')]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(
      /signature: the receipt is signed by key ed25519:\w+; the receipt key registered for cluster "vault-1" is/,
    );

    const after = await targets();
    for (const name of VAULT)
      expect(after.get(name)?.recordVersion, name).toBe(before.get(name)?.recordVersion);
  });

  it('prunes through the next bundle; a tampered copy of it changes nothing on the site', async () => {
    const created = await createDeployment(plane.deps, spec({ 'c.yaml': config('green'), 'w.yaml': WEB }), {
      tenant: DEFAULT_TENANT,
    });
    await waitFor(created.executionId);
    for (const name of PUSH) expect(hasLegacy(name), name).toBe(false);
    // The first receipt is about older work now: stale, it moves nothing.
    const stale = await flotilla(['bundle', 'import', path('r1.receipt.json')]);
    expect(stale.code).toBe(2);
    expect(stale.stdout).toMatch(/vault-2: .*not recorded, stale/);
    expect((await targets()).get('vault-1')).toMatchObject({
      status: 'Failed',
      desiredRevision: 2,
      appliedRevision: 1,
    });

    await ok([
      'bundle',
      'export',
      'shop',
      '--cluster',
      'vault-1',
      '--cluster',
      'vault-2',
      '-o',
      path('r2.bundle'),
    ]);
    const held = VAULT.map(snapshot);
    const doc = JSON.parse(gunzipSync(readFileSync(path('r2.bundle'))).toString('utf8')) as {
      manifest: string;
      blobs: Record<string, string>;
    };
    const workDigest = (JSON.parse(doc.manifest) as { items: Array<{ work: string }> }).items[0]?.work ?? '';
    const renderDigest = Object.keys(doc.blobs).find((d) => doc.blobs[d]?.includes('"green"')) ?? '';
    const tampered: Array<[string, RegExp]> = [
      [
        tamper('r2.bundle', 'render.bundle', (t) => t.replace('\\"green\\"', '\\"greem\\"')),
        new RegExp(`bundle\\.blobs\\["${renderDigest}"\\]: does not match its digest`),
      ],
      [
        tamper('r2.bundle', 'work.bundle', (t) => {
          const at = t.indexOf('\\"previous\\":[', t.indexOf(`"${workDigest}":`)) + 2;
          return `${t.slice(0, at)}P${t.slice(at + 1)}`;
        }),
        new RegExp(`bundle\\.blobs\\["${workDigest}"\\]: does not match its digest`),
      ],
      [
        tamper('r2.bundle', 'signature.bundle', (t) =>
          t.replace(/"signature":"(.)/, (_m, c: string) => `"signature":"${c === 'A' ? 'B' : 'A'}`),
        ),
        /bundle\.signature: does not verify against the control plane's key/,
      ],
    ];
    for (const [file, why] of tampered) {
      const run = await apply(file, 'never.receipt.json');
      expect(run.code, file).toBe(1);
      expect(run.stderr, file).toMatch(why);
    }
    // A site key other than the one registered: refused before anything is applied, too.
    await ok(['agent', 'keys', '-o', path('stranger')]);
    const stranger = await apply('r2.bundle', 'never.receipt.json', 'stranger/receipt-key.pem');
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(/receiptKey: the receipt of cluster "vault-1" must be signed with key/);
    expect(VAULT.map(snapshot)).toEqual(held);

    expect((await apply('r2.bundle', 'r2.receipt.json')).code).toBe(0);
    for (const name of VAULT) {
      expect(color(name), name).toBe('green');
      expect(hasLegacy(name), name).toBe(false);
    }
    await ok(['bundle', 'import', path('r2.receipt.json')]);
    const records = await targets();
    for (const name of VAULT) {
      expect(records.get(name), name).toMatchObject({ status: 'Succeeded', appliedRevision: 2 });
      expect(
        records.get(name)?.inventory.some((i) => i.name === 'legacy'),
        name,
      ).toBe(false);
    }
  });

  it('rolls back through a bundle as well', async () => {
    const rollback = await rollbackDeployment(plane.deps, 'shop', { tenant: DEFAULT_TENANT, toRevision: 1 });
    await waitFor(rollback.started.executionId);
    for (const name of PUSH) {
      expect(color(name), name).toBe('blue');
      expect(hasLegacy(name), name).toBe(true);
    }
    const waiting = await targets();
    for (const name of VAULT) {
      expect(waiting.get(name), name).toMatchObject({
        status: 'Failed',
        failure: 'Unreachable',
        desiredRevision: 1,
      });
      expect(color(name), name).toBe('green');
    }
    await ok(['bundle', 'export', 'shop', '-l', 'site=vault', '-o', path('r3.bundle')]);
    expect((await apply('r3.bundle', 'r3.receipt.json')).code).toBe(0);
    for (const name of VAULT) {
      expect(color(name), name).toBe('blue');
      expect(hasLegacy(name), name).toBe(true);
    }
    await ok(['bundle', 'import', path('r3.receipt.json')]);
    const records = await targets();
    for (const name of VAULT) {
      expect(records.get(name), name).toMatchObject({
        status: 'Succeeded',
        appliedRevision: 1,
        desiredRevision: 1,
      });
    }
  });
});
