/**
 * The agent-message step as the IoT topic rule invokes it (`topic() AS topic, encode(*, 'base64')
 * AS payload`): a report reaches its target, a report about a cluster the agent does not serve
 * is refused (and nothing moves), a heartbeat brings the cluster back, a sync answers on the
 * agent's own work topic through IoT Core with presigned content URLs, and what cannot be taken
 * in is refused with its reason instead of failing the invocation again and again.
 */
import { IoTDataPlaneClient, PublishCommand, ThrottlingException } from '@aws-sdk/client-iot-data-plane';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IotAgentChannel, iotDataApi } from '../../../adapters/agent/iot-channel.ts';
import { localContext } from '../../../adapters/lambda/step-handler.ts';
import type { WorkNotice } from '../../../domain/agent.ts';
import type { Target } from '../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { createHandler } from '../../../functions/steps/agent-message.ts';
import { enrolAgent } from '../../../usecases/agents/enrol.ts';
import { exchangeBootstrap } from '../../../usecases/agents/identity.ts';
import type { Deps } from '../../../usecases/deps.ts';
import { type TestBed, testBed } from '../usecases/deployments/fakes.ts';

const iotData = mockClient(IoTDataPlaneClient);
afterEach(() => iotData.reset());

const context = localContext('flotilla-agent-message', 'request-1');
const noSleep = { sleep: async () => {}, random: () => 0 };

let bed: TestBed;
let deps: Deps;

function event(topic: string, message: unknown) {
  return { topic, payload: Buffer.from(JSON.stringify(message)).toString('base64') };
}

function report(cluster: string, overrides: Record<string, unknown> = {}) {
  return {
    cluster,
    deployment: 'shop',
    executionId: 'EX1',
    revision: 2,
    generation: 3,
    seq: 1,
    status: 'Succeeded',
    health: { status: 'Healthy' },
    inventory: [],
    applied: true,
    appliedAt: '2026-03-01T10:00:00.000Z',
    objects: 4,
    kept: [],
    sentAt: '2026-03-01T10:00:01.000Z',
    ...overrides,
  };
}

function waitingTarget(cluster: string): Target {
  return {
    tenant: 'default',
    deployment: 'shop',
    cluster,
    desiredRevision: 2,
    status: 'Progressing',
    health: { status: 'Progressing' },
    inventory: [],
    attempts: 1,
    workGeneration: 3,
    updatedAt: '2026-03-01T09:59:00.000Z',
    recordVersion: 0,
  } as Target;
}

beforeEach(async () => {
  bed = testBed();
  const channel = new IotAgentChannel({
    api: iotDataApi(new IoTDataPlaneClient({ region: 'eu-west-1' })),
    presign: async (key, seconds) =>
      `https://flotilla-blobs.s3.eu-west-1.amazonaws.com/${key}?X-Amz-Expires=${seconds}`,
    endpoint: 'a1b2c3-ats.iot.eu-west-1.amazonaws.com',
    apiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com',
    thingPrefix: 'Flotilla',
    retry: noSleep,
  });
  deps = { ...bed.deps, agents: channel };
  for (const name of ['edge-1', 'edge-2']) {
    const enrolled = await enrolAgent(deps, { name, clusters: [{ name }] }, { tenant: DEFAULT_TENANT });
    await exchangeBootstrap(deps, {
      tenant: DEFAULT_TENANT,
      agent: name,
      bootstrapToken: enrolled.bootstrapToken ?? '',
    });
    await bed.store.putTarget(waitingTarget(name));
  }
});

describe('the agent-message step', () => {
  it('takes a report in: its target records the outcome the agent reached', async () => {
    // Prepare
    const handler = createHandler(() => deps);

    // Act
    const outcome = await handler(event('flotilla/default/agents/edge-1/reports', report('edge-1')), context);

    // Assess
    expect(outcome).toMatchObject({ taken: true, tenant: 'default', agent: 'edge-1', kind: 'reports' });
    const target = await bed.store.getTarget('default', 'shop', 'edge-1');
    expect(target?.status).toBe('Succeeded');
    expect(target?.report).toMatchObject({ generation: 3, seq: 1, status: 'Succeeded', objects: 4 });
  });

  it("refuses a report about another agent's cluster, and leaves that cluster's target as it was", async () => {
    // Prepare
    const handler = createHandler(() => deps);
    const before = await bed.store.getTarget('default', 'shop', 'edge-2');

    // Act: edge-1 may publish only on its own topics; what it says there about edge-2 is refused.
    const outcome = await handler(event('flotilla/default/agents/edge-1/reports', report('edge-2')), context);

    // Assess
    expect(outcome).toEqual({
      taken: false,
      reason: 'agent "edge-1" reports: cluster: agent "edge-1" does not serve cluster "edge-2"',
    });
    expect(await bed.store.getTarget('default', 'shop', 'edge-2')).toEqual(before);
  });

  it('refuses a stale report (another work generation) without moving the target', async () => {
    const handler = createHandler(() => deps);

    const outcome = await handler(
      event('flotilla/default/agents/edge-1/reports', report('edge-1', { generation: 2 })),
      context,
    );

    expect(outcome).toMatchObject({ taken: true, outcome: { accept: false, reason: 'stale' } });
    expect((await bed.store.getTarget('default', 'shop', 'edge-1'))?.status).toBe('Progressing');
  });

  it('takes a heartbeat in: the cluster is Active and seen', async () => {
    const handler = createHandler(() => deps);
    bed.clock.advance(60_000);

    await handler(
      event('flotilla/default/agents/edge-2/heartbeat', {
        clusters: [{ name: 'edge-2', version: 'v1.31.2' }],
        agentVersion: '0.1.0',
        sentAt: '2026-03-01T10:00:00.000Z',
      }),
      context,
    );

    const cluster = await bed.store.getCluster('edge-2');
    expect(cluster?.status).toBe('Active');
    expect(cluster?.version).toBe('1.31.2');
    expect(cluster?.agent?.seenAt).toBe(bed.clock.now().toISOString());
  });

  it("answers a sync on the agent's own work topic through IoT Core, with presigned content URLs", async () => {
    // Prepare
    iotData.on(PublishCommand).resolves({});
    const render = await bed.blobs.put(new TextEncoder().encode('kind: ConfigMap\n'));
    const work = {
      tenant: 'default',
      deployment: 'shop',
      cluster: 'edge-1',
      revision: 2,
      generation: 3,
      action: 'apply',
      render,
    };
    const workDigest = await bed.blobs.put(new TextEncoder().encode(JSON.stringify(work)));
    await bed.store.putTarget({ ...waitingTarget('edge-1'), workDigest, recordVersion: 1 });
    const handler = createHandler(() => deps);

    // Act
    await handler(event('flotilla/default/agents/edge-1/sync', {}), context);

    // Assess
    expect(iotData).toHaveReceivedCommandWith(PublishCommand, {
      topic: 'flotilla/default/agents/edge-1/work',
      qos: 1,
    });
    const sent = JSON.parse(
      new TextDecoder().decode(iotData.commandCalls(PublishCommand)[0]?.args[0].input.payload as Uint8Array),
    ) as WorkNotice;
    expect(sent.items.map((i) => i.work.cluster)).toEqual(['edge-1']);
    expect(sent.items[0]?.content[render]).toBe(
      `https://flotilla-blobs.s3.eu-west-1.amazonaws.com/sha256/${render.slice(7, 9)}/${render.slice(7)}?X-Amz-Expires=600`,
    );
  });

  it.each([
    [
      'a work topic (the control plane publishes there)',
      'flotilla/default/agents/edge-1/work',
      report('edge-1'),
    ],
    ['a topic that is not an agent topic', '$aws/events/presence/connected/edge-1', {}],
    ['a payload that is not JSON', 'flotilla/default/agents/edge-1/reports', undefined],
    ['a malformed report', 'flotilla/default/agents/edge-1/reports', { cluster: 'edge-1' }],
  ])('refuses %s with its reason, without failing the invocation', async (_name, topic, message) => {
    const handler = createHandler(() => deps);
    const payload =
      message === undefined ? Buffer.from('not json').toString('base64') : event(topic, message).payload;

    const outcome = await handler({ topic, payload }, context);

    expect(outcome).toMatchObject({ taken: false, reason: expect.any(String) });
    expect((await bed.store.getTarget('default', 'shop', 'edge-1'))?.status).toBe('Progressing');
  });

  it('fails the invocation on a store or IoT failure, for it to be tried again', async () => {
    iotData.on(PublishCommand).rejects(new ThrottlingException({ message: 'slow down', $metadata: {} }));
    const handler = createHandler(() => deps);

    const error = await handler(event('flotilla/default/agents/edge-1/sync', {}), context).catch(
      (e: unknown) => e,
    );

    expect(error).toMatchObject({ name: 'TransientError' });
  });

  it('rejects an event that is not what the rule selects, as a ValidationError naming the field', async () => {
    const handler = createHandler(() => deps);

    const error = await handler(
      { topic: 'flotilla/default/agents/edge-1/reports', payload: '%%%' },
      context,
    ).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'ValidationError' });
    expect((error as { issues: Array<{ path: string }> }).issues.map((i) => i.path)).toContain(
      'event.payload',
    );
  });
});
