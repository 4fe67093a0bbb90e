/**
 * The child processes of the deploy benchmark (bench/deploy.bench.ts), kept in their own module so
 * that each starts with only what it needs: `--simulator N` runs the fleet simulator; `--floor`
 * runs the floor, a plain undici loop sending the same server-side-apply requests as the
 * workflow. They talk to the bench over the IPC channel: one request, one answer, by id.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { Agent, request } from 'undici';
import type { KubeObject } from '../domain/model.ts';
import { DEPLOYMENT_LABEL } from '../domain/names.ts';
import { type SimClusterInfo, type Simulator, startSimulator } from '../simulator/index.ts';
import { pathOf, pool } from './support.ts';

/** CPU milliseconds (user + system, its threads and finished child processes) and peak RSS bytes of a process. */
export interface Usage {
  readonly cpuMs: number;
  readonly maxRssBytes: number;
}

/**
 * CPU milliseconds of the child processes this one has waited for (helm, for the control plane):
 * cutime + cstime of /proc/self/stat, in clock ticks (100 per second on Linux); 0 elsewhere.
 */
function childrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13] ?? 0) + Number(fields[14] ?? 0)) * 10;
  } catch {
    return 0;
  }
}

/** This process's usage, its finished children's CPU included. */
export function usage(): Usage {
  const r = process.resourceUsage();
  return {
    cpuMs: (r.userCPUTime + r.systemCPUTime) / 1000 + childrenCpuMs(),
    maxRssBytes: r.maxRSS * 1024,
  };
}

/** One cluster of a floor pass: where it is, and which of the pass's object sets it gets. */
export interface FloorCluster {
  readonly name: string;
  readonly server: string;
  readonly token: string;
  readonly set: string;
}

/** A floor pass: object sets (the namespace first, then the objects in apply order) and clusters. */
export interface FloorPass {
  readonly caPem: string;
  readonly sets: Readonly<Record<string, readonly KubeObject[]>>;
  readonly clusters: readonly FloorCluster[];
  /** Clusters at once. */
  readonly concurrency: number;
  /** Requests at once per cluster. */
  readonly requestConcurrency: number;
}

export interface FloorResult {
  readonly requests: number;
  /** Wall time of the pass inside the child. */
  readonly ms: number;
  readonly cpuMs: number;
}

export type ChildAsk =
  | { op: 'census'; namespace: string; deployment: string }
  | { op: 'floor'; pass: FloorPass }
  | { op: 'usage' | 'stop' };
export type ChildRequest = ChildAsk & { id: number };
export type ChildMessage =
  | { op: 'ready'; caPem?: string; kubeconfig?: string; clusters?: SimClusterInfo[] }
  | { id: number; result: unknown }
  | { id: number; error: string };

/**
 * The floor: per cluster a new keep-alive pool, one namespace apply, then the set
 * `requestConcurrency` at a time; `concurrency` clusters at once. Paths and bodies are computed
 * before the clock starts; one TLS context serves every connection (the cheapest a plain client
 * can be: the CA is parsed once).
 */
export async function runFloor(pass: FloorPass): Promise<FloorResult> {
  const secureContext = createSecureContext({ ca: pass.caPem });
  const prepared = new Map(
    Object.entries(pass.sets).map(([key, objects]) => [
      key,
      objects.map((object) => ({
        path: `${pathOf(object)}?fieldManager=flotilla&force=true`,
        body: JSON.stringify(object),
      })),
    ]),
  );
  const agents: Agent[] = [];
  let requests = 0;
  const cpu0 = usage().cpuMs;
  const t0 = performance.now();
  try {
    await pool(pass.clusters, pass.concurrency, async (cluster) => {
      const agent = new Agent({ connections: pass.requestConcurrency, connect: { secureContext } });
      agents.push(agent);
      const headers = {
        authorization: `Bearer ${cluster.token}`,
        'content-type': 'application/apply-patch+yaml',
        accept: 'application/json',
      };
      const send = async ({ path, body }: { path: string; body: string }) => {
        const res = await request(`${cluster.server}${path}`, {
          method: 'PATCH',
          dispatcher: agent,
          headers,
          body,
        });
        await res.body.json();
        requests++;
        if (res.statusCode >= 300) throw new Error(`floor: ${res.statusCode} for ${cluster.name} ${path}`);
      };
      const [namespace, ...rest] = prepared.get(cluster.set) ?? [];
      if (namespace) await send(namespace);
      await pool(rest, pass.requestConcurrency, send);
    });
  } finally {
    await Promise.all(agents.map((a) => a.close()));
  }
  return { requests, ms: performance.now() - t0, cpuMs: usage().cpuMs - cpu0 };
}

/** Per count of objects labelled with `deployment` in `namespace`, how many clusters hold it. */
function census(sim: Simulator, namespace: string, deployment: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const info of sim.clusters()) {
    const count = sim
      .cluster(info.name)
      .list({ namespace, labelSelector: `${DEPLOYMENT_LABEL}=${deployment}` }).length;
    out[count] = (out[count] ?? 0) + 1;
  }
  return out;
}

async function serve(): Promise<void> {
  const send = (message: ChildMessage) => process.send?.(message);
  const role = process.argv[2];
  const sim =
    role === '--simulator'
      ? await startSimulator({ clusters: Number(process.argv[3] ?? 0), readyDelayMs: 0 })
      : undefined;
  process.on('message', async (message: ChildRequest) => {
    try {
      if (message.op === 'usage') send({ id: message.id, result: usage() });
      else if (message.op === 'census') {
        if (!sim) throw new Error('not a simulator');
        send({ id: message.id, result: census(sim, message.namespace, message.deployment) });
      } else if (message.op === 'floor') send({ id: message.id, result: await runFloor(message.pass) });
      else {
        await sim?.stop();
        send({ id: message.id, result: true });
        process.disconnect();
      }
    } catch (error) {
      send({ id: message.id, error: error instanceof Error ? error.message : String(error) });
    }
  });
  send(
    sim
      ? { op: 'ready', caPem: sim.caPem, kubeconfig: sim.kubeconfig(), clusters: sim.clusters() }
      : { op: 'ready' },
  );
}

if (import.meta.main) await serve();
