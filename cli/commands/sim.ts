/**
 * `flotilla sim`: a simulated fleet of Kubernetes clusters on this machine, with a kubeconfig
 * for kubectl and helm, serving until interrupted.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { EXAMPLE_CHART, shellWord } from '../examples.ts';
import { collect, untilInterrupted } from './shared.ts';

interface SimOptions {
  readonly clusters: string;
  readonly prefix: string;
  readonly profile: string;
  readonly port: string;
  readonly http?: boolean;
  readonly readyDelay: string;
  readonly timeScale: string;
  readonly kubeconfig?: string;
  readonly faults?: string;
  readonly fault?: string[];
  readonly adminToken?: string;
}

function integer(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CliError(`${flag} ${value}: expected a whole number from ${min} to ${max}`);
  }
  return n;
}

/**
 * `--fault sim-003:unreachable=refuse`, `sim-004:latencyMs=200`, `sim-005:errorRate=0.2`,
 * `sim-006:neverReady=Deployment,StatefulSet` (or `true`), `sim-007:reject=Deployment:no GPUs here`,
 * `sim-008:fail=Job` (or `true`: Jobs and Pods).
 */
export function parseFaultFlag(flag: string): { cluster: string; faults: Record<string, unknown> } {
  const m = /^([^:]+):([A-Za-z]+)(?:=(.*))?$/.exec(flag);
  if (!m)
    throw new CliError(`--fault ${flag}: expected CLUSTER:KIND[=VALUE], e.g. sim-003:unreachable=refuse`);
  const cluster = m[1] ?? '';
  const kind = m[2] ?? '';
  const value = m[3];
  switch (kind) {
    case 'unreachable':
      return {
        cluster,
        faults: { unreachable: value === undefined ? 'refuse' : value === 'false' ? false : value },
      };
    case 'latencyMs':
    case 'errorRate':
      return { cluster, faults: { [kind]: Number(value) } };
    case 'neverReady':
      return {
        cluster,
        faults: {
          neverReady:
            value === undefined || value === 'true' ? true : value === 'false' ? false : value.split(','),
        },
      };
    case 'fail':
      return {
        cluster,
        faults: {
          fail: value === undefined || value === 'true' ? true : value === 'false' ? false : value.split(','),
        },
      };
    case 'reject': {
      const [rejected, ...message] = (value ?? '').split(':');
      if (!rejected)
        throw new CliError(`--fault ${flag}: reject needs a kind, e.g. ${cluster}:reject=Deployment:message`);
      return {
        cluster,
        faults: {
          reject: [{ kind: rejected, ...(message.length > 0 ? { message: message.join(':') } : {}) }],
        },
      };
    }
    default:
      throw new CliError(
        `--fault ${flag}: unknown fault ${kind} (unreachable, latencyMs, errorRate, neverReady, fail, reject)`,
      );
  }
}

function readFaultsFile(path: string): Record<string, Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError(`--faults ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`--faults ${path}: expected {"<cluster>": {faults}, ...}`);
  }
  return parsed as Record<string, Record<string, unknown>>;
}

/** Register `sim`. */
export function registerSim(program: Command): void {
  program
    .command('sim')
    .description(
      'Serve a simulated fleet of Kubernetes clusters for kubectl, helm and Flotilla; serve until Ctrl-C',
    )
    .option('--clusters <n>', 'number of clusters', '10')
    .option('--prefix <name>', 'cluster and context name prefix (<prefix>-001, ...)', 'sim')
    .option('--profile <profile>', 'fleet profile: mixed, uniform or edge', 'mixed')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', '0')
    .option('--http', 'plain HTTP instead of HTTPS (kubectl then sends no token: only for other clients)')
    .option('--ready-delay <ms>', 'how long workloads take to become ready', '1000')
    .option(
      '--time-scale <factor>',
      'real seconds per second an object states (ttlSecondsAfterFinished): 0.01 makes 30 s pass in 0.3 s',
      '1',
    )
    .option('--kubeconfig <file>', 'where to write the kubeconfig (default: .flotilla/<prefix>.kubeconfig)')
    .option('--faults <file>', 'JSON file of faults per cluster: {"sim-003": {"unreachable": "refuse"}}')
    .option(
      '--fault <cluster:kind=value>',
      'a fault at start, e.g. sim-003:unreachable=refuse (repeatable)',
      collect,
    )
    .option('--admin-token <token>', 'token for the /_sim control API (default: random)')
    .action(async (options: SimOptions) => {
      const { PROFILES, startSimulator, parseFaults } = await import('../../simulator/index.ts');
      const count = integer(options.clusters, '--clusters', 0, 5000);
      const port = integer(options.port, '--port', 0, 65535);
      const readyDelayMs = integer(options.readyDelay, '--ready-delay', 0, 3_600_000);
      const timeScale = Number(options.timeScale);
      if (!Number.isFinite(timeScale) || timeScale < 0) {
        throw new CliError(
          `--time-scale ${options.timeScale}: expected a non-negative number (1 is real time)`,
        );
      }
      const profile = PROFILES.find((p) => p === options.profile);
      if (!profile)
        throw new CliError(`--profile ${options.profile}: expected one of ${PROFILES.join(', ')}`);
      const faults: Record<string, Record<string, unknown>> = options.faults
        ? readFaultsFile(options.faults)
        : {};
      for (const flag of options.fault ?? []) {
        const { cluster, faults: more } = parseFaultFlag(flag);
        faults[cluster] = { ...(faults[cluster] ?? {}), ...more };
      }
      const checked = Object.fromEntries(
        Object.entries(faults).map(([cluster, f]) => {
          try {
            return [cluster, parseFaults(f)];
          } catch (error) {
            throw new CliError(
              `faults of ${cluster}: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
        }),
      );
      const sim = await startSimulator({
        clusters: count,
        prefix: options.prefix,
        profile,
        port,
        tls: !options.http,
        readyDelayMs,
        timeScale,
        ...(options.adminToken ? { adminToken: options.adminToken } : {}),
      }).catch((error: unknown) => {
        throw new CliError(error instanceof Error ? error.message : String(error));
      });
      try {
        for (const [cluster, f] of Object.entries(checked)) sim.cluster(cluster).setFaults(f);
      } catch (error) {
        await sim.stop();
        throw new CliError(error instanceof Error ? error.message : String(error));
      }
      const kubeconfig = resolve(options.kubeconfig ?? `.flotilla/${options.prefix}.kubeconfig`);
      mkdirSync(dirname(kubeconfig), { recursive: true });
      writeFileSync(kubeconfig, sim.kubeconfig(), { mode: 0o600 });
      chmodSync(kubeconfig, 0o600);
      const infos = sim.clusters();
      const first = infos[0]?.name ?? `${options.prefix}-001`;
      const byProvider = new Map<string, number>();
      for (const c of infos) byProvider.set(c.provider, (byProvider.get(c.provider) ?? 0) + 1);
      const lines = [
        `Fleet:          ${infos.length} clusters (${[...byProvider].map(([p, n]) => `${n} ${p}`).join(', ')})`,
        `Server:         ${sim.url}/clusters/<name>`,
        `Kubeconfig:     ${kubeconfig}`,
        `Control API:    ${sim.url}/_sim  (admin token: ${sim.adminToken})`,
        ...Object.entries(checked).map(([cluster, f]) => `Fault:          ${cluster} ${JSON.stringify(f)}`),
        '',
        'Try:',
        `  kubectl --kubeconfig ${shellWord(kubeconfig)} --context ${first} get nodes -L topology.kubernetes.io/region`,
        `  helm --kubeconfig ${shellWord(kubeconfig)} --kube-context ${first} install hello ${shellWord(EXAMPLE_CHART)} -n hello --create-namespace --wait`,
        `  curl -sk -H "Authorization: Bearer ${sim.adminToken}" -X PATCH -d '{"unreachable":"refuse"}' ${sim.url}/_sim/clusters/${first}/faults`,
        '',
        'Serving until Ctrl-C.',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      await untilInterrupted();
      process.stderr.write('stopping…\n');
      await sim.stop();
    });
}
