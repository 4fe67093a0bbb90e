/**
 * Placement and failover on a simulated fleet, over every real part (the deploy workflow in the
 * local interpreter, dynalite, the Kubernetes adapter against the simulator, the bus, the local
 * re-check timers): `clusters: 3, spread: region` on 12 clusters in 4 regions; a placed cluster
 * made unreachable (reported by a drift scan, as on a real fleet) replaced after `after`, the
 * replacement healthy before the lost one is released, the dark one untouched while dark and
 * cleaned when it returns; a brief outage moves nothing; a second outage goes elsewhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlacementAnswer, placementView } from '../../../cli/commands/placement.ts';
import type { KubeObject, PlacementRecord } from '../../../domain/model.ts';
import { DEFAULT_TENANT, DEPLOYMENT_LABEL } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { startDriftScan } from '../../../usecases/drift/start-scan.ts';
import { reconcilePlacement } from '../../../usecases/placement/failover.ts';
import { createTenant } from '../../../usecases/tenancy/tenants.ts';
import { call } from '../api/support.ts';
import { apiWorkload, manifests } from '../helpers/manifests.ts';

const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1', 'sa-east-1'];
/** Seconds a placed cluster stays lost before it is replaced. */
const AFTER = 6;
const NAME = 'shop';

let plane: ControlPlane;
const regionOf = new Map<string, string>();

beforeAll(async () => {
  plane = await startControlPlane({
    simulate: 12,
    waitMs: 50,
    simulator: { readyDelayMs: 300 },
    tunables: { batchSize: 3, maxParallel: 6, healthPollSeconds: 1, requestTimeoutMs: 3000 },
  });
  // 12 clusters in 4 regions, three each.
  const { store } = plane.deps;
  const clusters = (await store.listClusters()).sort((a, b) => (a.name < b.name ? -1 : 1));
  expect(clusters).toHaveLength(12);
  for (const [i, cluster] of clusters.entries()) {
    const region = REGIONS[i % REGIONS.length] ?? 'eu-west-1';
    regionOf.set(cluster.name, region);
    await store.updateCluster({ ...cluster, region });
  }
}, 120_000);

afterAll(async () => {
  await plane?.stop();
});

function sim(name: string) {
  const simulator = plane.simulator;
  if (!simulator) throw new Error('no simulator');
  return simulator.cluster(name);
}

/** The deployment's objects on a simulated cluster, read in process (whatever its faults). */
function objectsOn(cluster: string): string[] {
  return (sim(cluster).list({ labelSelector: `${DEPLOYMENT_LABEL}=${NAME}` }) as KubeObject[])
    .map((o) => `${o.kind}/${o.metadata.name}`)
    .sort();
}

async function decision(): Promise<PlacementRecord> {
  const record = await plane.deps.store.getPlacement(DEFAULT_TENANT, NAME);
  if (!record) throw new Error('no placement decision');
  return record;
}

const selectedOf = (record: PlacementRecord) => record.selected.map((s) => s.cluster).sort();

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Wait until no run holds the deployment. */
async function idle(): Promise<void> {
  await until('the deployment to be idle', async () => {
    const d = await plane.deps.store.getDeployment(DEFAULT_TENANT, NAME);
    return d && !d.lock ? true : undefined;
  });
}

/** A drift scan of the deployment reads every target: an unreachable one is reported (ClusterUnreachable). */
async function scan(): Promise<void> {
  await idle();
  const result = await startDriftScan(plane.deps, { tenant: DEFAULT_TENANT, deployment: NAME });
  const started = result.started[0];
  if (!started) throw new Error(`scan skipped: ${JSON.stringify(result.skipped)}`);
  const execution = await plane.deps.store.getExecution(DEFAULT_TENANT, started.executionId);
  await plane.runner.wait(execution?.workflowRef ?? '');
}

describe('placement: clusters 3, spread over region, failover', () => {
  let placed: string[] = [];

  it('lands on 3 clusters in 3 different regions, the other 9 ranked as alternates', async () => {
    // Act
    const result = await createDeployment(
      plane.deps,
      {
        name: NAME,
        namespace: 'shop',
        source: manifests({ 'api.yaml': apiWorkload('nginx:1.27') }),
        placement: {
          clusters: 3,
          spread: { key: 'region', maxSkew: 1 },
          failover: { after: AFTER, when: 'unreachable' },
        },
      },
      { tenant: DEFAULT_TENANT },
    );
    const execution = await plane.deps.store.getExecution(DEFAULT_TENANT, result.executionId ?? '');
    const run = await plane.runner.wait(execution?.workflowRef ?? '');

    // Assess
    expect(run.output).toMatchObject({ status: 'Succeeded', counts: { total: 3, succeeded: 3 } });
    const record = await decision();
    placed = selectedOf(record);
    expect(placed).toHaveLength(3);
    expect(new Set(placed.map((c) => regionOf.get(c))).size).toBe(3);
    expect(record.alternates).toHaveLength(9);
    expect(record.history).toHaveLength(1);
    const targets = await plane.deps.store.listTargets(DEFAULT_TENANT, NAME);
    expect(targets.map((t) => t.cluster).sort()).toEqual(placed);
    for (const name of plane.simulator?.clusters().map((c) => c.name) ?? []) {
      expect(objectsOn(name).length > 0, name).toBe(placed.includes(name));
    }

    // The API serves it to the tenant (read access), and as 404 to another tenant.
    const answer = await call<{ decision: PlacementRecord }>(plane, 'GET', `/deployments/${NAME}/placement`);
    expect(answer.status).toBe(200);
    expect(selectedOf(answer.body.decision)).toEqual(placed);
    await createTenant(plane.deps, { name: 'rival' });
    const rival = await fetch(`${plane.url}/deployments/${NAME}/placement`, {
      headers: { authorization: `Bearer ${plane.token}`, 'x-flotilla-tenant': 'rival' },
    });
    expect(rival.status).toBe(404);
  }, 120_000);

  it('moves nothing when a placed cluster is dark for less than `after`', async () => {
    // Prepare
    const down = placed[0] ?? '';
    const runs = async () =>
      (await plane.deps.store.listExecutions(DEFAULT_TENANT, { deployment: NAME })).filter(
        (e) => e.type !== 'drift-scan',
      ).length;
    const before = await runs();
    sim(down).setFaults({ unreachable: 'refuse' });

    // Act: reported by a scan; back before `after` runs out.
    await scan();
    const seen = await until('the outage to be seen', async () => (await decision()).troubled[down]);
    sim(down).clearFaults();
    // Past `after`: the re-check finds it back and forgets it.
    await until(
      'the outage to be forgotten',
      async () => ((await decision()).troubled[down] === undefined ? true : undefined),
      (AFTER + 20) * 1000,
    );

    // Assess
    const record = await decision();
    expect(Date.now() - Date.parse(seen)).toBeGreaterThanOrEqual(AFTER * 1000);
    expect(selectedOf(record)).toEqual(placed);
    expect(record.replacements).toEqual([]);
    expect(record.history).toHaveLength(1);
    expect(await runs()).toBe(before);
  }, 120_000);

  let lost = '';
  let replacement = '';

  it('replaces a cluster dark for longer than `after`: the new one healthy first, the dark one untouched', async () => {
    // Prepare
    lost = placed[1] ?? '';
    const copy = objectsOn(lost);
    expect(copy.length).toBeGreaterThan(0);
    sim(lost).setFaults({ unreachable: 'refuse' });

    // Act
    await scan();
    const { added, since } = await until('a replacement', async () => {
      const record = await decision();
      const found = record.selected.find((s) => s.replacing === lost);
      return found ? { added: found, since: record.troubled[lost] ?? '' } : undefined;
    });
    replacement = added.cluster;
    const released = await until(
      'the lost cluster to be released',
      async () => (await decision()).released.find((r) => r.cluster === lost),
      (AFTER + 60) * 1000,
    );

    // Assess: added after `after`, released only once the replacement was healthy.
    const record = await decision();
    expect(Date.parse(added.since) - Date.parse(since)).toBeGreaterThanOrEqual(AFTER * 1000);
    expect(released).toMatchObject({ replacedBy: replacement, state: 'waiting' });
    const target = await plane.deps.store.getTarget(DEFAULT_TENANT, NAME, replacement);
    expect(target).toMatchObject({ status: 'Succeeded', health: { status: 'Healthy' }, appliedRevision: 1 });
    expect(Date.parse(target?.updatedAt ?? '')).toBeLessThanOrEqual(Date.parse(released.at));
    const history = record.history.map((h) => ({ added: h.added, removed: h.removed }));
    expect(history.slice(-2)).toEqual([
      { added: [replacement], removed: [] },
      { added: [], removed: [lost] },
    ]);
    // Still 3 clusters in 3 regions, and the dark one holds what it held.
    expect(selectedOf(record)).toHaveLength(3);
    expect(new Set(selectedOf(record).map((c) => regionOf.get(c))).size).toBe(3);
    expect(objectsOn(replacement).length).toBeGreaterThan(0);
    expect(objectsOn(lost)).toEqual(copy);
    expect((await plane.deps.store.getTarget(DEFAULT_TENANT, NAME, lost))?.status).not.toBe('Removed');
    // What `flotilla placement show` prints of it.
    const shown = await call<PlacementAnswer>(plane, 'GET', `/deployments/${NAME}/placement`);
    const view = placementView(shown.body);
    expect(view).toContain(`placement of ${NAME}`);
    expect(view).toMatch(new RegExp(`${lost}\\s+\\S+\\s+${replacement}\\s+dark: copy kept until it returns`));
    if (process.env.FLOTILLA_PRINT_PLACEMENT) process.stderr.write(view);

    // While dark, another look changes nothing on it.
    await idle();
    const again = await reconcilePlacement(plane.deps, DEFAULT_TENANT, NAME);
    expect(again.actions).toEqual([]);
    expect(again.executionId).toBeUndefined();
    expect(objectsOn(lost)).toEqual(copy);
  }, 180_000);

  it('cleans the released cluster when it comes back', async () => {
    // Act
    sim(lost).clearFaults();
    await until(
      "the returned cluster's copy to be removed",
      async () => ((await decision()).released.length === 0 ? true : undefined),
      (AFTER + 60) * 1000,
    );

    // Assess
    expect(objectsOn(lost)).toEqual([]);
    expect((await plane.deps.store.getTarget(DEFAULT_TENANT, NAME, lost))?.status).toBe('Removed');
    expect(selectedOf(await decision())).not.toContain(lost);
  }, 180_000);

  it('sends a second outage elsewhere, not onto the first replacement (no herd), keeping the spread', async () => {
    // Prepare
    await idle();
    const before = selectedOf(await decision());
    const second = before.find((c) => c !== replacement) ?? '';
    sim(second).setFaults({ unreachable: 'refuse' });

    // Act
    await scan();
    const released = await until(
      'the second lost cluster to be released',
      async () => (await decision()).released.find((r) => r.cluster === second),
      (AFTER + 60) * 1000,
    );

    // Assess
    const record = await decision();
    expect(released.replacedBy).toBeDefined();
    expect(released.replacedBy).not.toBe(replacement);
    expect(released.replacedBy).not.toBe(lost);
    expect(selectedOf(record)).toHaveLength(3);
    expect(selectedOf(record)).toContain(replacement);
    expect(new Set(selectedOf(record).map((c) => regionOf.get(c))).size).toBe(3);
    expect(record.replacements).toHaveLength(2);
    sim(second).clearFaults();
  }, 180_000);
});
