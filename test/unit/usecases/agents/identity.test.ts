/**
 * An agent's identity over its life, one code path whatever the issuer: tokens (hash kept) or
 * certificates (`cert:<id>` kept, the key never). Exchange, re-enrolment, rotation with a proof
 * that cannot be used twice, the rotated-out identity retired after its grace, revocation.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../../adapters/local/clock.ts';
import { MemoryStore } from '../../../../adapters/memory/store.ts';
import type { WorkNotice } from '../../../../domain/agent.ts';
import type { AgentProof, CertificateProof } from '../../../../domain/agent-identity.ts';
import { UnauthorizedError } from '../../../../domain/errors.ts';
import { DEFAULT_TENANT } from '../../../../domain/names.ts';
import type { AgentChannel, AgentIdentityIssuer, IssuedAgentIdentity } from '../../../../domain/ports.ts';
import { authenticateAgent, clustersOfAgent } from '../../../../usecases/agents/credentials.ts';
import { enrolAgent } from '../../../../usecases/agents/enrol.ts';
import {
  exchangeBootstrap,
  ROTATION_GRACE_MS,
  revokeAgent,
  rotateIdentity,
} from '../../../../usecases/agents/identity.ts';
import { sweepAgents } from '../../../../usecases/agents/sweep.ts';
import { DEFAULT_TUNABLES } from '../../../../usecases/deps.ts';

/** Certificates as IoT would issue them, with a stand-in for the signature check. */
class FakeCertificates implements AgentIdentityIssuer {
  readonly active = new Set<string>();
  readonly retired: string[] = [];
  readonly revoked: Array<{ agent: string; kept: readonly string[] }> = [];
  #n = 0;

  async issue(tenant: string, agent: string): Promise<IssuedAgentIdentity> {
    const id = String(++this.#n).padStart(64, '0');
    this.active.add(id);
    return {
      kept: `cert:${id}`,
      credential: {
        type: 'certificate',
        certificateId: id,
        certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        privateKey: '-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n',
        clientId: `Flotilla_${tenant}_${agent}`,
      },
    };
  }

  async verify(tenant: string, agent: string, kept: string, proof: AgentProof): Promise<boolean> {
    if (typeof proof === 'string' || kept !== `cert:${proof.certificateId}`) return false;
    return this.active.has(proof.certificateId) && proof.signature === signature(tenant, agent, proof);
  }

  async retire(_tenant: string, _agent: string, kept: string): Promise<void> {
    this.retired.push(kept);
    this.active.delete(kept.slice('cert:'.length));
  }

  async revoke(_tenant: string, agent: string, kept: readonly string[]): Promise<void> {
    this.revoked.push({ agent, kept });
    this.active.clear();
  }
}

function signature(
  tenant: string,
  agent: string,
  proof: Pick<CertificateProof, 'certificateId' | 'signedAt'>,
) {
  return Buffer.from(`signed:${tenant}:${agent}:${proof.certificateId}:${proof.signedAt}`).toString('base64');
}

function proofOf(agent: string, certificateId: string, at: Date): CertificateProof {
  const unsigned = { certificateId, signedAt: at.toISOString() };
  return { ...unsigned, signature: signature('default', agent, unsigned) };
}

class RecordingChannel implements AgentChannel {
  readonly disconnected: string[] = [];
  endpoints() {
    return { api: 'https://api', channel: 'mqtts://iot:443' };
  }
  async send(_tenant: string, _agent: string, _notice: WorkNotice) {}
  async contentUrl(_tenant: string, _agent: string, digest: string) {
    return `https://blobs/${digest}`;
  }
  async disconnect(tenant: string, agent: string) {
    this.disconnected.push(`${tenant}/${agent}`);
  }
}

let store: MemoryStore;
let clock: ManualClock;
let certificates: FakeCertificates;
let channel: RecordingChannel;
function deps() {
  return {
    store,
    clock,
    bus: { publish: async () => {} },
    agents: channel,
    agentIdentities: certificates,
    tunables: { ...DEFAULT_TUNABLES, agentHeartbeatSeconds: 300 },
  };
}

async function enrol(name: string, clusters: string[] = [name]): Promise<string> {
  const enrolled = await enrolAgent(
    deps(),
    {
      name,
      gateway: clusters.length > 1,
      clusters: clusters.map((c) => ({ name: c })),
    },
    { tenant: DEFAULT_TENANT },
  );
  if (!enrolled.bootstrapToken) throw new Error('an online enrolment answers a bootstrap token');
  return enrolled.bootstrapToken;
}

beforeEach(() => {
  store = new MemoryStore();
  clock = new ManualClock('2026-03-01T10:00:00.000Z');
  certificates = new FakeCertificates();
  channel = new RecordingChannel();
});

describe('enrolment at fleet size', () => {
  it('enrols a new single agent without listing the fleet, and a gateway still keeps its clusters', async () => {
    for (const name of ['edge-1', 'edge-2', 'edge-3']) await enrol(name);
    const listClusters = vi.spyOn(store, 'listClusters');
    await enrol('edge-4');
    expect(listClusters).not.toHaveBeenCalled();
    // A gateway re-enrolled with one cluster fewer keeps serving the one it no longer lists.
    await enrol('gw', ['site-a', 'site-b']);
    await enrol('gw', ['site-a', 'site-c']);
    expect(listClusters).toHaveBeenCalled();
    const served = (await store.listClusters()).filter((c) => c.agent?.name === 'gw').map((c) => c.name);
    expect(served.sort()).toEqual(['site-a', 'site-b', 'site-c']);
  });
});

describe('agent identities (certificates)', () => {
  it('hands the certificate and key over once, and keeps only the certificate id', async () => {
    const token = await enrol('edge-1');

    const identity = await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      bootstrapToken: token,
    });

    expect(identity.identity).toBe(`cert:${'1'.padStart(64, '0')}`);
    expect(identity.certificate?.privateKey).toContain('secret-key-material');
    expect(identity.certificate?.clientId).toBe('Flotilla_default_edge-1');
    const record = await store.getCluster('edge-1');
    expect(record?.agent?.identity?.hash).toBe(identity.identity);
    expect(record?.agent?.bootstrap).toBeUndefined();
    expect(JSON.stringify(await store.listClusters())).not.toMatch(/PRIVATE KEY|secret-key-material/);
  });

  it('refuses a second exchange of the same token, issuing nothing for it', async () => {
    const token = await enrol('edge-1');
    await exchangeBootstrap(deps(), { tenant: DEFAULT_TENANT, agent: 'edge-1', bootstrapToken: token });

    const again = await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      bootstrapToken: token,
    }).catch((e: unknown) => e);

    expect(again).toBeInstanceOf(UnauthorizedError);
    expect(certificates.retired).toEqual([]);
    expect(certificates.active.size).toBe(1);
  });

  it('lets one of two racing exchanges of a token win, and retires the certificate the loser made', async () => {
    const token = await enrol('edge-1');

    const [a, b] = await Promise.allSettled([
      exchangeBootstrap(deps(), { tenant: DEFAULT_TENANT, agent: 'edge-1', bootstrapToken: token }),
      exchangeBootstrap(deps(), { tenant: DEFAULT_TENANT, agent: 'edge-1', bootstrapToken: token }),
    ]);

    const won = [a, b].filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(certificates.retired).toHaveLength(1);
    expect(certificates.active.size).toBe(1);
    const kept = (await store.getCluster('edge-1'))?.agent?.identity?.hash;
    expect(won[0]?.status === 'fulfilled' && won[0].value.identity).toBe(kept);
    expect(certificates.retired).not.toContain(kept);
  });

  it('retires the certificate a re-enrolment replaces, at once', async () => {
    const first = await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      bootstrapToken: await enrol('edge-1'),
    });

    const second = await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      bootstrapToken: await enrol('edge-1'),
    });

    expect(certificates.retired).toEqual([first.identity]);
    expect((await store.getCluster('edge-1'))?.agent?.identity?.hash).toBe(second.identity);
  });

  it('rotates on a proof made with the current certificate: a new one, the old kept for the grace', async () => {
    const first = await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      bootstrapToken: await enrol('edge-1'),
    });
    clock.advance(3600_000);
    const id = first.certificate?.certificateId ?? '';

    const rotated = await rotateIdentity(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      identity: proofOf('edge-1', id, clock.now()),
    });

    expect(rotated.identity).not.toBe(first.identity);
    expect(rotated.certificate?.privateKey).toBeDefined();
    const record = (await store.getCluster('edge-1'))?.agent;
    expect(record?.identity?.hash).toBe(rotated.identity);
    expect(record?.previous).toEqual({
      hash: first.identity,
      until: new Date(clock.now().getTime() + ROTATION_GRACE_MS).toISOString(),
    });
    expect(certificates.retired).toEqual([]);
  });

  it('refuses the same proof a second time (it was signed before the identity it obtained)', async () => {
    const first = await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      bootstrapToken: await enrol('edge-1'),
    });
    clock.advance(60_000);
    const proof = proofOf('edge-1', first.certificate?.certificateId ?? '', clock.now());
    await rotateIdentity(deps(), { tenant: DEFAULT_TENANT, agent: 'edge-1', identity: proof });
    clock.advance(1_000);

    const replay = await rotateIdentity(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      identity: proof,
    }).catch((e: unknown) => e);

    expect(replay).toBeInstanceOf(UnauthorizedError);
  });

  it('accepts a fresh proof of the previous certificate during the grace (an answer lost on the way back)', async () => {
    const first = await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      bootstrapToken: await enrol('edge-1'),
    });
    clock.advance(60_000);
    const id = first.certificate?.certificateId ?? '';
    await rotateIdentity(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      identity: proofOf('edge-1', id, clock.now()),
    });
    clock.advance(30_000);

    const retried = await rotateIdentity(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      identity: proofOf('edge-1', id, clock.now()),
    });

    expect(retried.certificate).toBeDefined();
  });

  it('refuses a proof for another agent, and a token where a certificate is kept', async () => {
    const first = await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      bootstrapToken: await enrol('edge-1'),
    });
    await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-2',
      bootstrapToken: await enrol('edge-2'),
    });
    clock.advance(60_000);
    const id = first.certificate?.certificateId ?? '';

    await expect(
      rotateIdentity(deps(), {
        tenant: DEFAULT_TENANT,
        agent: 'edge-2',
        identity: proofOf('edge-1', id, clock.now()),
      }),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(authenticateAgent(deps(), 'default', 'edge-1', first.identity)).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
  });

  it('retires the rotated-out certificate once its grace has ended, and the records forget it', async () => {
    const first = await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      bootstrapToken: await enrol('edge-1'),
    });
    clock.advance(60_000);
    await rotateIdentity(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      identity: proofOf('edge-1', first.certificate?.certificateId ?? '', clock.now()),
    });

    const early = await sweepAgents(deps());
    clock.advance(ROTATION_GRACE_MS + 1);
    const late = await sweepAgents(deps());

    expect(early.retired).toEqual([]);
    expect(late.retired).toEqual(['default/edge-1']);
    expect(certificates.retired).toEqual([first.identity]);
    expect((await store.getCluster('edge-1'))?.agent?.previous).toBeUndefined();
  });

  it('marks a cluster dark after three missed heartbeats (the heartbeat the control plane asks for)', async () => {
    await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      bootstrapToken: await enrol('edge-1'),
    });
    const cluster = await store.getCluster('edge-1');
    if (!cluster?.agent) throw new Error('enrolled');
    await store.updateCluster({
      ...cluster,
      status: 'Active',
      agent: { ...cluster.agent, seenAt: clock.now().toISOString() },
    });

    clock.advance(3 * 300_000);
    const quiet = await sweepAgents(deps());
    clock.advance(1);
    const dark = await sweepAgents(deps());

    expect(quiet.dark).toEqual([]);
    expect(dark.dark).toEqual(['edge-1']);
  });

  it('revokes: every certificate of the agent stops working at the broker, and its connection is closed', async () => {
    const first = await exchangeBootstrap(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'gw',
      bootstrapToken: await enrol('gw', ['site-a', 'site-b']),
    });
    clock.advance(60_000);
    const rotated = await rotateIdentity(deps(), {
      tenant: DEFAULT_TENANT,
      agent: 'gw',
      identity: proofOf('gw', first.certificate?.certificateId ?? '', clock.now()),
    });

    const result = await revokeAgent(deps(), { viewer: DEFAULT_TENANT, cluster: 'site-b' });

    expect(result).toEqual({ agent: 'gw', clusters: ['site-a', 'site-b'] });
    expect(certificates.revoked).toEqual([{ agent: 'gw', kept: [rotated.identity, first.identity] }]);
    expect(channel.disconnected).toEqual(['default/gw']);
    const record = (await store.getCluster('site-a'))?.agent;
    expect(record?.revokedAt).toBeDefined();
    expect(record?.identity).toBeUndefined();
  });
});

describe('agent identities (tokens, the local issuer)', () => {
  it('exchange a token and rotate with it as before: the old one works for the grace only', async () => {
    const local = () => ({ ...deps(), agentIdentities: undefined });
    const token = await enrolAgent(
      local(),
      { name: 'edge-1', clusters: [{ name: 'edge-1' }] },
      { tenant: DEFAULT_TENANT },
    );
    const first = await exchangeBootstrap(local(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      bootstrapToken: token.bootstrapToken ?? '',
    });
    expect(first.certificate).toBeUndefined();

    const second = await rotateIdentity(local(), {
      tenant: DEFAULT_TENANT,
      agent: 'edge-1',
      identity: first.identity,
    });
    await expect(authenticateAgent(local(), 'default', 'edge-1', first.identity)).resolves.toHaveLength(1);
    clock.advance(ROTATION_GRACE_MS + 1);

    await expect(authenticateAgent(local(), 'default', 'edge-1', first.identity)).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    await expect(authenticateAgent(local(), 'default', 'edge-1', second.identity)).resolves.toHaveLength(1);
  });
});

describe('the clusters of an agent', () => {
  it("read one record for an agent that is not a gateway, and list the tenant's only for a gateway", async () => {
    await enrol('edge-1');
    await enrol('gw', ['site-a', 'site-b', 'site-c']);
    const list = vi.spyOn(store, 'listClusters');

    const own = await clustersOfAgent({ store }, 'default', 'edge-1');
    expect(list).not.toHaveBeenCalled();
    const gateway = await clustersOfAgent({ store }, 'default', 'gw');

    expect(own.map((c) => c.name)).toEqual(['edge-1']);
    expect(gateway.map((c) => c.name).sort()).toEqual(['site-a', 'site-b', 'site-c']);
    expect(list).toHaveBeenCalledTimes(1);
    expect(await clustersOfAgent({ store }, 'default', 'nobody')).toEqual([]);
  });
});
