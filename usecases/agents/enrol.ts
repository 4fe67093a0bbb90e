/**
 * Enrolling an agent: the clusters it will serve are registered (reached only through it: no
 * endpoint, no credential in Flotilla), and a one-time bootstrap token is handed out — once, to
 * the caller — which the agent exchanges for its own identity (bootstrap.ts). Enrolling an agent
 * again (its identity lost, its site rebuilt) hands out a new bootstrap token; its identity stops
 * being accepted as soon as the new token is used. A gateway agent serves many clusters of its
 * network (the manager of managers): registered once, it receives work for each of them.
 *
 * An air-gapped site is enrolled with the public key its receipts are signed with and no
 * bootstrap token at all: its agent never connects, its work is carried there in signed bundles.
 */
import { z } from 'zod';
import { ConnectorRoleArn, ConsoleUsers } from '../../domain/discovery.ts';
import { AlreadyExistsError, ValidationError } from '../../domain/errors.ts';
import { makeEvent } from '../../domain/events.ts';
import {
  Capabilities,
  type Cluster,
  Dns1123Label,
  KubernetesVersion,
  Labels,
  Provider,
} from '../../domain/model.ts';
import { publicKeyProblem } from '../../domain/signing.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { clustersOfAgent, hashToken, newToken } from './credentials.ts';

/** Longest a bootstrap token may live. */
const MAX_BOOTSTRAP_SECONDS = 7 * 24 * 3600;

export const AgentEnrolment = z
  .object({
    /** The agent's name: the cluster's, or for a gateway, its own. */
    name: Dns1123Label,
    /** One agent serving many clusters (each pushed to from within their network). */
    gateway: z.boolean().default(false),
    clusters: z
      .array(
        z
          .object({
            name: Dns1123Label,
            provider: Provider.default('OTHER'),
            region: z.string().min(1).max(100).default('unknown'),
            version: KubernetesVersion.optional(),
            labels: Labels.default({}),
          })
          .strict(),
      )
      .min(1)
      .max(1000),
    /** How long the bootstrap token is accepted, in seconds. @default 3600 */
    bootstrapSeconds: z.number().int().min(60).max(MAX_BOOTSTRAP_SECONDS).default(3600),
    /**
     * For an air-gapped site: the public key (PEM, Ed25519) its agent signs receipts with
     * (`flotilla agent keys`).
     */
    receiptKey: z.string().min(1).max(4000).optional(),
    /**
     * An air-gapped site: the agent never connects (no bootstrap token is issued); its work is
     * carried in bundles and its receipts, signed with `receiptKey`, brought back. @default false
     */
    airGapped: z.boolean().default(false),
    /**
     * The EKS Connector for a single agent's non-EKS cluster (register.ts): registered with EKS
     * unless `register` is false, its manifests handed out with the agent's.
     */
    eksConnector: z
      .object({
        /** Register the cluster with the EKS Connector. @default true */
        register: z.boolean().default(true),
        /** The connector agent's IAM role. @default the one Flotilla's stack created */
        roleArn: ConnectorRoleArn.optional(),
        /** IAM users or roles given read-only console visibility of the cluster's workloads. */
        consoleUsers: ConsoleUsers.default([]),
      })
      .strict()
      .default({ register: true, consoleUsers: [] }),
  })
  .strict()
  .superRefine((input, ctx) => {
    if (!input.gateway && (input.clusters.length !== 1 || input.clusters[0]?.name !== input.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['clusters'],
        message: `an agent that is not a gateway serves exactly its own cluster, "${input.name}"`,
      });
    }
    const names = input.clusters.map((c) => c.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) ctx.addIssue({ code: 'custom', path: ['clusters'], message: `"${twice}" is listed twice` });
    const keyProblem = input.receiptKey === undefined ? undefined : publicKeyProblem(input.receiptKey);
    if (keyProblem) ctx.addIssue({ code: 'custom', path: ['receiptKey'], message: keyProblem });
    if (input.airGapped && input.receiptKey === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['receiptKey'],
        message: 'an air-gapped site needs the public key its receipts are signed with (flotilla agent keys)',
      });
    }
  });
export type AgentEnrolment = z.input<typeof AgentEnrolment>;

export interface EnrolResult {
  readonly agent: string;
  readonly gateway: boolean;
  readonly clusters: string[];
  /** Shown once: the agent exchanges it for its identity. Never stored. None for an air-gapped site. */
  readonly bootstrapToken?: string;
  readonly expiresAt?: string;
  readonly airGapped: boolean;
}

/** Enrol an agent and the clusters it serves (see the module comment). */
export async function enrolAgent(
  deps: Pick<Deps, 'store' | 'clock' | 'bus'>,
  request: unknown,
  options: {
    readonly tenant: string;
    /** The cluster's EKS registration (EKS Connector), recorded on it. */
    readonly arn?: string;
  },
): Promise<EnrolResult> {
  const input = parseOrThrow(AgentEnrolment, request);
  const tenant = options.tenant;
  const now = deps.clock.now();
  const token = newToken();
  const bootstrap = {
    hash: hashToken(token),
    expiresAt: new Date(now.getTime() + input.bootstrapSeconds * 1000).toISOString(),
  };
  // Every cluster is checked before anything is written.
  const existing = new Map<string, Cluster>();
  const issues = [];
  for (const [i, spec] of input.clusters.entries()) {
    const found = await deps.store.getCluster(spec.name);
    if (!found) continue;
    if (found.tenant !== tenant || found.auth.type !== 'agent' || found.auth.agent !== input.name) {
      issues.push({
        path: `clusters[${i}].name`,
        message:
          found.tenant === tenant && found.auth.type === 'agent'
            ? `cluster "${spec.name}" is served by agent "${found.auth.agent}"`
            : `cluster "${spec.name}" is registered already, reached by ${found.auth.type}; deregister it first`,
      });
    }
    existing.set(spec.name, found);
  }
  if (issues.length > 0) throw new ValidationError(issues);
  // A gateway keeps serving clusters enrolled earlier that this request does not list. A new
  // single agent (none of its clusters registered yet) served nothing before: no listing of the
  // fleet for it, so enrolling N agents stays N reads, not N².
  const served = input.gateway || existing.size > 0 ? await clustersOfAgent(deps, tenant, input.name) : [];
  const iso = now.toISOString();
  const agentRecord = (previous?: Cluster['agent']) => ({
    name: input.name,
    gateway: input.gateway,
    ...(previous?.identity ? { identity: previous.identity } : {}),
    // An air-gapped site never connects: no token is accepted for it.
    ...(input.airGapped ? { airGapped: true } : { bootstrap }),
    ...(input.receiptKey
      ? { receiptKey: input.receiptKey }
      : previous?.receiptKey
        ? { receiptKey: previous.receiptKey }
        : {}),
  });
  const created: string[] = [];
  for (const spec of input.clusters) {
    const found = existing.get(spec.name);
    if (found) {
      await retryOnConflict(async () => {
        const fresh = (await deps.store.getCluster(spec.name)) ?? found;
        await deps.store.updateCluster({
          ...fresh,
          provider: spec.provider,
          region: spec.region,
          labels: { ...fresh.labels, ...spec.labels },
          ...(options.arn ? { arn: options.arn } : {}),
          agent: agentRecord(fresh.agent),
          updatedAt: iso,
        });
      });
      continue;
    }
    try {
      await deps.store.createCluster({
        tenant,
        name: spec.name,
        provider: spec.provider,
        region: spec.region,
        version: spec.version ?? 'unknown',
        labels: spec.labels,
        capabilities: Capabilities.parse({}),
        auth: { type: 'agent', agent: input.name },
        agent: agentRecord(),
        // Until its agent says it is there (an air-gapped one never does: its receipts speak for it).
        status: 'Pending',
        statusReason: input.airGapped
          ? `air-gapped site: reached only by carried bundles (flotilla bundle export)`
          : `waiting for agent "${input.name}" to connect`,
        source: 'agent',
        ...(options.arn ? { arn: options.arn } : {}),
        createdAt: iso,
        updatedAt: iso,
        recordVersion: 0,
      });
      created.push(spec.name);
    } catch (error) {
      if (error instanceof AlreadyExistsError) {
        throw new ValidationError([
          { path: 'clusters', message: `cluster "${spec.name}" was registered meanwhile` },
        ]);
      }
      throw error;
    }
  }
  // Clusters the gateway served before: their bootstrap is renewed too (one identity for all).
  for (const cluster of served.filter((c) => !input.clusters.some((s) => s.name === c.name))) {
    await retryOnConflict(async () => {
      const fresh = (await deps.store.getCluster(cluster.name)) ?? cluster;
      await deps.store.updateCluster({ ...fresh, agent: agentRecord(fresh.agent), updatedAt: iso });
    });
  }
  if (created.length > 0) {
    await deps.bus
      .publish(
        created.map((name) => {
          const spec = input.clusters.find((c) => c.name === name);
          return makeEvent('ClusterRegistered', now, {
            tenant,
            cluster: name,
            provider: spec?.provider ?? 'OTHER',
            region: spec?.region ?? 'unknown',
            source: 'agent',
          });
        }),
      )
      .catch(() => undefined);
  }
  return {
    agent: input.name,
    gateway: input.gateway,
    clusters: [...new Set([...input.clusters.map((c) => c.name), ...served.map((c) => c.name)])].sort(),
    ...(input.airGapped ? {} : { bootstrapToken: token, expiresAt: bootstrap.expiresAt }),
    airGapped: input.airGapped,
  };
}
