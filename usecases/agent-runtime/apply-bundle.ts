/**
 * `flotilla agent apply --bundle`: an air-gapped site applies what a bundle carries, offline, and
 * writes a signed receipt of the outcome. Everything is checked before the first cluster is
 * touched — the bundle's signature against the control plane's public key (given to the site
 * once, out of band), every content digest, that this site's receipt key is the one each cluster's
 * receipt must be signed with, that every cluster to apply can be reached from here, and that
 * every render reads — so a bundle that is wrong in any byte changes nothing. Then each cluster's
 * work runs to completion with the agent's own code (run-work.ts: the same applier as push), and
 * the outcome of each goes into the receipt as the agent would report it.
 *
 * A report's sequence number is the time of the apply in milliseconds: a later apply of the same
 * work supersedes an earlier receipt, and a receipt brought back twice is refused as a replay.
 */

import type { AgentReport } from '../../domain/agent.ts';
import {
  type OpenedBundle,
  type OpenedItem,
  openBundle,
  packReceipt,
  type ReceiptFile,
} from '../../domain/bundle.ts';
import { mapLimit } from '../../domain/concurrency.ts';
import { describeError, type FieldIssue, ValidationError } from '../../domain/errors.ts';
import type { RenderedManifests } from '../../domain/model.ts';
import type { Clock, ClusterClient } from '../../domain/ports.ts';
import { keyIdOf, privateKeyProblem } from '../../domain/signing.ts';
import { renderFromBytes, reportOf, runWork, startingPoint } from './run-work.ts';

export interface ApplyBundleOptions {
  /** The bundle file's bytes. */
  readonly bundle: Uint8Array;
  /** The control plane's bundle public key (PEM). */
  readonly trustedKey: string;
  /** The site's receipt key (PEM, private). */
  readonly receiptKey: string;
  /** Apply only these clusters of the bundle. @default every one */
  readonly clusters?: readonly string[];
  /**
   * Clients for the clusters to apply (called once, after the bundle is verified, with their
   * names); a cluster it gives no client for is refused before anything is applied.
   */
  readonly connect: (clusters: readonly string[]) => ReadonlyMap<string, ClusterClient>;
  readonly clock: Clock;
  /** Between two steps of a delivery that waits. @default 1000 */
  readonly pollMs?: number;
  /** Clusters applied at once. @default 4 */
  readonly concurrency?: number;
  readonly log?: (message: string) => void;
}

export interface AppliedBundle {
  readonly bundle: OpenedBundle;
  readonly receipt: ReceiptFile;
  readonly reports: readonly AgentReport[];
}

function refuse(path: string, message: string): ValidationError {
  return new ValidationError([{ path, message }]);
}

/** Verify a bundle, apply it, and sign the receipt (see the module comment). */
export async function applyBundle(options: ApplyBundleOptions): Promise<AppliedBundle> {
  const keyProblem = privateKeyProblem(options.receiptKey);
  if (keyProblem) throw refuse('receiptKey', keyProblem);
  const bundle = openBundle(options.bundle, options.trustedKey);

  const wanted = options.clusters;
  const issues: FieldIssue[] = [];
  if (wanted) {
    for (const name of wanted) {
      if (!bundle.items.some((i) => i.item.cluster === name)) {
        issues.push({ path: 'clusters', message: `the bundle holds no work for cluster "${name}"` });
      }
    }
  }
  const selected = bundle.items.filter((i) => !wanted || wanted.includes(i.item.cluster));
  const siteKey = keyIdOf(options.receiptKey);
  for (const { item } of selected) {
    if (item.receiptKey !== siteKey) {
      issues.push({
        path: 'receiptKey',
        message: `the receipt of cluster "${item.cluster}" must be signed with key ${item.receiptKey}; this key is ${siteKey}`,
      });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);

  const names = selected.map((i) => i.item.cluster);
  const clients = options.connect(names);
  const unreachable = names.filter((n) => !clients.has(n));
  if (unreachable.length > 0) {
    throw refuse(
      'clusters',
      `no way to reach ${unreachable.map((n) => `"${n}"`).join(', ')} from here (a kubeconfig context of that name, or --in-cluster for a bundle of one cluster); name the clusters to apply with --cluster`,
    );
  }
  const renders = new Map<string, { render?: RenderedManifests; held?: RenderedManifests }>();
  for (const opened of selected) renders.set(opened.item.cluster, rendersOf(opened));

  const run = async (opened: OpenedItem): Promise<AgentReport> => {
    const { work } = opened;
    const client = clients.get(work.cluster) as ClusterClient;
    options.log?.(
      `${work.cluster}: ${work.action} revision ${work.revision} (generation ${work.generation})`,
    );
    const delivered = await runWork(
      { client, clock: options.clock, pollMs: options.pollMs ?? 1000 },
      work,
      renders.get(work.cluster) ?? {},
      startingPoint(work),
    );
    options.log?.(`${work.cluster}: ${delivered.status}${delivered.reason ? ` — ${delivered.reason}` : ''}`);
    const now = options.clock.now();
    return reportOf(work, delivered, now.getTime(), now.toISOString());
  };
  const reports = await mapLimit(selected, options.concurrency ?? 4, run);
  const receipt = packReceipt(
    {
      tenant: bundle.manifest.tenant,
      deployment: bundle.manifest.deployment,
      bundle: bundle.id,
      signedAt: options.clock.now().toISOString(),
      reports,
    },
    options.receiptKey,
  );
  return { bundle, receipt, reports };
}

/** The renders of one item, read before anything is applied. */
function rendersOf(opened: OpenedItem): { render?: RenderedManifests; held?: RenderedManifests } {
  const read = (digest: string | undefined): RenderedManifests | undefined => {
    if (digest === undefined) return undefined;
    try {
      return renderFromBytes(opened.content.get(digest) as Uint8Array);
    } catch (error) {
      throw refuse(`bundle.blobs["${digest}"]`, `is not a render: ${describeError(error)}`);
    }
  };
  const render = read(opened.work.render);
  const held = read(opened.work.held);
  return { ...(render ? { render } : {}), ...(held ? { held } : {}) };
}
