/**
 * `flotilla agent run`: the agent, as a process — next to one cluster (in it, with its
 * service account: `--in-cluster`) or, as a gateway, next to many (`--kubeconfig` with one
 * context per cluster it serves). It enrols itself with its one-time bootstrap token the first
 * time (keeping the identity it gets in `--state-dir` or `--state-secret`: a token, or on AWS an
 * IoT certificate and its private key), connects out to its channel, and applies its work with
 * the same applier the control plane's push steps run.
 *
 * At an air-gapped site, offline: `flotilla agent keys` makes the site's receipt key pair once,
 * and `flotilla agent apply --bundle` verifies a carried bundle, applies it with the same code,
 * and writes the signed receipt to carry back.
 */
import { sign } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import {
  type AgentState,
  clientsFor,
  DirectoryState,
  inClusterConnection,
  kubeconfigConnections,
  SecretState,
} from '../../adapters/agent/local-access.ts';
import { mqttLink, verifiedFetcher } from '../../adapters/agent/mqtt-link.ts';
import { type AgentProxy, agentProxy, proxiedFetch } from '../../adapters/agent/proxy.ts';
import { SystemClock } from '../../adapters/local/clock.ts';
import {
  type AgentCertificate,
  type CertificateProof,
  identityProofMessage,
} from '../../domain/agent-identity.ts';
import { describeError } from '../../domain/errors.ts';
import type { ClusterClient, ClusterConnection } from '../../domain/ports.ts';
import { shownProxy } from '../../domain/proxy.ts';
import { generateSigningKeys, keyIdOf } from '../../domain/signing.ts';
import { Agent } from '../../usecases/agent-runtime/agent.ts';
import { applyBundle } from '../../usecases/agent-runtime/apply-bundle.ts';
import { CliError, EXIT_TARGETS_FAILED } from '../errors.ts';
import { collect, untilInterrupted } from './shared.ts';

interface RunOptions {
  readonly api?: string;
  readonly channel?: string;
  readonly tenant?: string;
  readonly agent?: string;
  readonly bootstrapToken?: string;
  readonly stateDir?: string;
  readonly stateSecret?: string;
  readonly inCluster?: boolean;
  readonly kubeconfig?: string;
  readonly context?: string[];
  readonly pollMs: string;
  readonly heartbeat?: string;
  readonly drift: string;
  readonly rotate: string;
  readonly proxy?: string;
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${flag} ${value}: expected a positive number`);
  return n;
}

async function postJson<T>(
  url: string,
  body: unknown,
  bearer?: string,
  send: typeof fetch = fetch,
): Promise<T> {
  const response = await send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON
    }
    throw new CliError(`${url}: ${response.status} ${message}`);
  }
  return JSON.parse(text) as T;
}

interface IdentityAnswer {
  tenant: string;
  agent: string;
  identity: string;
  certificate?: AgentCertificate;
  clusters: string[];
  endpoints: { api: string; channel: string };
  heartbeatSeconds?: number;
}

/** A proof that this agent holds its certificate's key, for the rotation route. */
export function certificateProof(
  tenant: string,
  agent: string,
  certificate: Pick<AgentCertificate, 'certificateId' | 'privateKey'>,
  now: Date,
): CertificateProof {
  const unsigned = { certificateId: certificate.certificateId, signedAt: now.toISOString() };
  const signature = sign(
    'sha256',
    Buffer.from(identityProofMessage(tenant, agent, unsigned), 'utf8'),
    certificate.privateKey,
  ).toString('base64');
  return { ...unsigned, signature };
}

/** What the agent keeps of an identity answer. */
function stateOf(answer: IdentityAnswer, base: Omit<AgentState, 'identity' | 'certificate'>): AgentState {
  return {
    ...base,
    identity: answer.identity,
    ...(answer.certificate ? { certificate: answer.certificate } : {}),
    ...(answer.heartbeatSeconds !== undefined ? { heartbeatSeconds: answer.heartbeatSeconds } : {}),
  };
}

interface ApplyOptions {
  readonly bundle: string;
  readonly publicKey: string;
  readonly receiptKey: string;
  readonly out: string;
  readonly inCluster?: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly cluster?: string[];
  readonly pollMs: string;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`${what} ${file}: ${describeError(error)}`);
  }
}

/** Connections to the clusters a bundle is applied to, from the options given. */
function siteConnections(options: ApplyOptions, names: readonly string[]): Map<string, ClusterConnection> {
  if (options.inCluster) {
    // The pod's own cluster: one, whatever the bundle calls it.
    return names.length === 1 ? new Map([[names[0] as string, inClusterConnection()]]) : new Map();
  }
  const text = readText(options.kubeconfig ?? '', '--kubeconfig');
  if (options.context) {
    return names.length === 1
      ? new Map([
          [
            names[0] as string,
            kubeconfigConnections(text, [options.context]).get(options.context) as ClusterConnection,
          ],
        ])
      : new Map();
  }
  // A context per cluster, named as the cluster.
  const doc = parse(text) as { contexts?: Array<{ name?: unknown }> } | null;
  const contexts = new Set((doc?.contexts ?? []).map((c) => String(c.name ?? '')));
  return kubeconfigConnections(
    text,
    names.filter((n) => contexts.has(n)),
  );
}

/** Register `agent run`, `agent apply` and `agent keys`. */
export function registerAgent(program: Command): void {
  const agent = program
    .command('agent')
    .description('The agent that runs next to clusters Flotilla cannot call');
  agent
    .command('run')
    .description('Run the agent: enrol with the bootstrap token once, connect out, apply its work, report')
    .option('--api <url>', 'the Flotilla API (default: $FLOTILLA_API)')
    .option(
      '--channel <url>',
      'the agent channel, mqtt(s)://… (default: $FLOTILLA_CHANNEL, else what the API says)',
    )
    .option('--tenant <tenant>', 'tenant (default: $FLOTILLA_TENANT, else default)')
    .option('--agent <name>', 'the agent name it was enrolled as (default: $FLOTILLA_AGENT)')
    .option('--bootstrap-token <token>', 'the one-time bootstrap token (default: $FLOTILLA_BOOTSTRAP_TOKEN)')
    .option('--state-dir <dir>', 'where it keeps its identity and the work it holds (0600 files)')
    .option('--state-secret <ns/name>', 'keep them in a Secret of its own cluster instead (in-cluster)')
    .option('--in-cluster', 'reach its own cluster with the pod service account')
    .option(
      '--kubeconfig <file>',
      'reach the clusters of this kubeconfig (a gateway: one context per cluster)',
    )
    .option('--context <name>', 'only these contexts (repeatable)', collect)
    .option('--poll-ms <ms>', 'between two steps of a delivery that waits', '1000')
    .option('--heartbeat <seconds>', 'between heartbeats (default: what the control plane asks, else 60)')
    .option('--drift <seconds>', 'between comparisons of its clusters with its work', '60')
    .option('--rotate <hours>', 'renew its identity this often', '24')
    .option(
      '--proxy <url>',
      'go out through this HTTP(S) proxy, http://[user:pass@]host:port (default: $HTTPS_PROXY; $NO_PROXY for exceptions)',
    )
    .action(async (options: RunOptions) => {
      const env = process.env;
      let proxy: AgentProxy | undefined;
      try {
        proxy = agentProxy(options.proxy, env);
      } catch (error) {
        throw new CliError(describeError(error));
      }
      const send = proxiedFetch(proxy);
      const tenant = options.tenant ?? env.FLOTILLA_TENANT ?? 'default';
      const name = options.agent ?? env.FLOTILLA_AGENT;
      if (!name) throw new CliError('--agent (or FLOTILLA_AGENT) is required');
      if (!options.inCluster && !options.kubeconfig)
        throw new CliError('--in-cluster or --kubeconfig is required');

      // The clusters it serves, and how to reach each.
      let clients: Map<string, ClusterClient>;
      if (options.inCluster) {
        clients = clientsFor(new Map([[name, inClusterConnection()]]));
      } else {
        const text = readFileSync(options.kubeconfig ?? '', 'utf8');
        clients = clientsFor(kubeconfigConnections(text, options.context));
      }
      const own = clients.get(name) ?? [...clients.values()][0];
      const store = options.stateSecret
        ? (() => {
            const [ns, secret] = options.stateSecret.split('/');
            if (!ns || !secret || !own)
              throw new CliError(`--state-secret ${options.stateSecret}: expected namespace/name`);
            return new SecretState(own, ns, secret);
          })()
        : new DirectoryState(options.stateDir ?? '.flotilla-agent');

      // Its identity: kept, or got once for the bootstrap token.
      let state: AgentState | undefined = await store.identity();
      const api = (options.api ?? env.FLOTILLA_API ?? state?.api ?? '').replace(/\/+$/, '');
      if (!api) throw new CliError('--api (or FLOTILLA_API) is required');
      if (!state || state.agent !== name || state.tenant !== tenant) {
        const token = options.bootstrapToken ?? env.FLOTILLA_BOOTSTRAP_TOKEN;
        if (!token)
          throw new CliError(
            'no identity kept yet: --bootstrap-token (or FLOTILLA_BOOTSTRAP_TOKEN) is required',
          );
        const answer = await postJson<IdentityAnswer>(
          `${api}/agent/bootstrap`,
          { tenant, agent: name, bootstrapToken: token },
          undefined,
          send,
        );
        state = stateOf(answer, {
          tenant,
          agent: name,
          api,
          channel: options.channel ?? env.FLOTILLA_CHANNEL ?? answer.endpoints.channel,
        });
        await store.saveIdentity(state);
        process.stderr.write(`agent ${name}: enrolled; serving ${answer.clusters.join(', ')}\n`);
      }
      const channel = options.channel ?? env.FLOTILLA_CHANNEL ?? state.channel;
      const log = (message: string) => process.stderr.write(`agent ${name}: ${message}\n`);
      const certificate = state.certificate;
      const link = mqttLink({
        url: channel,
        tenant,
        agent: name,
        log,
        ...(proxy ? { proxy } : {}),
        // A certificate identity is checked by the broker itself (mutual TLS, AWS IoT Core).
        ...(certificate
          ? {
              clientId: certificate.clientId,
              tls: {
                cert: certificate.certificatePem,
                key: certificate.privateKey,
                ...(certificate.ca ? { ca: certificate.ca } : {}),
              },
            }
          : { identity: state.identity }),
      });
      const heartbeatSeconds =
        options.heartbeat !== undefined
          ? positive(options.heartbeat, '--heartbeat')
          : (state.heartbeatSeconds ?? 60);
      const runtime = new Agent({
        link,
        fetch: verifiedFetcher({ fetch: send }),
        clusters: clients,
        clock: new SystemClock(),
        store,
        pollMs: positive(options.pollMs, '--poll-ms'),
        heartbeatMs: heartbeatSeconds * 1000,
        driftMs: positive(options.drift, '--drift') * 1000,
        log,
      });
      await runtime.start();
      log(
        `connecting to ${channel} for ${clients.size} cluster(s)${proxy ? ` through proxy ${shownProxy(proxy.url)}${proxy.noProxy ? ` (not for ${proxy.noProxy})` : ''}` : ''}`,
      );

      // Its identity is renewed now and then; the old one stays good for a few minutes.
      const rotate = setInterval(
        () =>
          void (async () => {
            const current = state;
            if (!current) return;
            const held = current.certificate;
            const answer = held
              ? await postJson<IdentityAnswer>(
                  `${api}/agent/rotate`,
                  { tenant, agent: name, proof: certificateProof(tenant, name, held, new Date()) },
                  undefined,
                  send,
                )
              : await postJson<IdentityAnswer>(
                  `${api}/agent/rotate`,
                  { tenant, agent: name },
                  current.identity,
                  send,
                );
            const { identity: _old, certificate: _oldCertificate, ...base } = current;
            state = stateOf(answer, base);
            await store.saveIdentity(state);
            if (answer.certificate) {
              link.renewCertificate({
                cert: answer.certificate.certificatePem,
                key: answer.certificate.privateKey,
              });
            } else {
              link.client.options.password = answer.identity;
            }
            log('identity renewed');
          })().catch((e) => log(`identity not renewed: ${describeError(e)}`)),
        positive(options.rotate, '--rotate') * 3600 * 1000,
      );
      rotate.unref();
      await untilInterrupted();
      clearInterval(rotate);
      await runtime.stop();
      for (const client of clients.values()) await (client as { close?: () => Promise<void> }).close?.();
    });

  agent
    .command('apply')
    .description(
      "At an air-gapped site, offline: verify a bundle, apply it with the agent's own code, write a signed receipt",
    )
    .requiredOption('--bundle <file>', 'the bundle (flotilla bundle export)')
    .requiredOption(
      '--public-key <file>',
      "the control plane's bundle public key (flotilla bundle public-key), carried here once",
    )
    .requiredOption('--receipt-key <file>', "this site's private receipt key (flotilla agent keys)")
    .requiredOption('-o, --out <file>', 'write the signed receipt here')
    .option(
      '--kubeconfig <file>',
      'reach the clusters through this kubeconfig (a context named as each cluster)',
    )
    .option(
      '--context <name>',
      'the one context to use (a bundle of one cluster, or one named with --cluster)',
    )
    .option('--in-cluster', 'reach the one cluster with the pod service account')
    .option('--cluster <name>', 'apply only these clusters of the bundle (repeatable)', collect)
    .option('--poll-ms <ms>', 'between two steps of a delivery that waits', '1000')
    .action(async (options: ApplyOptions) => {
      if (!options.inCluster === !options.kubeconfig) {
        throw new CliError('--in-cluster or --kubeconfig is required (one of the two)');
      }
      let bundle: Buffer;
      try {
        bundle = readFileSync(options.bundle);
      } catch (error) {
        throw new CliError(`--bundle ${options.bundle}: ${describeError(error)}`);
      }
      const trustedKey = readText(options.publicKey, '--public-key');
      const receiptKey = readText(options.receiptKey, '--receipt-key');
      const log = (message: string) => process.stderr.write(`agent apply: ${message}\n`);
      const opened: ClusterClient[] = [];
      try {
        const applied = await applyBundle({
          bundle,
          trustedKey,
          receiptKey,
          ...(options.cluster ? { clusters: options.cluster } : {}),
          connect: (names) => {
            const clients = clientsFor(siteConnections(options, names));
            opened.push(...clients.values());
            return clients;
          },
          clock: new SystemClock(),
          pollMs: positive(options.pollMs, '--poll-ms'),
          log,
        });
        writeFileSync(options.out, `${JSON.stringify(applied.receipt, null, 2)}\n`);
        const failed = applied.reports.filter((r) => r.status !== 'Succeeded' && r.status !== 'Removed');
        process.stdout.write(
          [
            ...applied.reports.map(
              (r) =>
                `${r.cluster}: ${r.status} at revision ${r.revision}${r.failure ? ` (${r.failure}: ${r.reason ?? ''})` : ''}`,
            ),
            `receipt written to ${options.out} (signed with ${keyIdOf(receiptKey)}); carry it back: flotilla bundle import ${options.out}`,
            '',
          ].join('\n'),
        );
        if (failed.length > 0) {
          throw new CliError(
            `${failed.length} cluster(s) did not succeed; the receipt says so`,
            EXIT_TARGETS_FAILED,
          );
        }
      } finally {
        for (const client of opened) await (client as { close?: () => Promise<void> }).close?.();
      }
    });

  agent
    .command('keys')
    .description(
      "Make an air-gapped site's receipt key pair (Ed25519): register the public half with the cluster",
    )
    .requiredOption('-o, --out <dir>', 'write receipt-key.pem (private, 0600) and receipt-key.pub.pem here')
    .action((options: { out: string }) => {
      mkdirSync(options.out, { recursive: true, mode: 0o700 });
      const privateFile = join(options.out, 'receipt-key.pem');
      const publicFile = join(options.out, 'receipt-key.pub.pem');
      if (existsSync(privateFile)) {
        throw new CliError(`${privateFile} exists: a site keeps one key (remove it first to make a new one)`);
      }
      const keys = generateSigningKeys();
      writeFileSync(privateFile, keys.privateKey, { mode: 0o600 });
      chmodSync(privateFile, 0o600);
      writeFileSync(publicFile, keys.publicKey);
      process.stdout.write(
        [
          `site key ${keyIdOf(keys.publicKey)}: ${privateFile} (keep it at the site), ${publicFile}`,
          `register the cluster with it: flotilla clusters register NAME --agent --air-gapped --receipt-key ${publicFile}`,
          '',
        ].join('\n'),
      );
    });
}
