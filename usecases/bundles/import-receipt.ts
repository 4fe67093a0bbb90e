/**
 * `flotilla bundle import RECEIPT`: what an air-gapped site did with a bundle, brought back and
 * recorded on the targets. The receipt must be signed with the receipt key registered for every
 * cluster it speaks of (a receipt signed by another site, or changed after it was signed, is
 * refused whole, and nothing is recorded). Then each report in it takes the path every agent
 * report takes (usecases/agents/receive.ts): judged against the work its target waits for — a
 * report about other work (stale: the target was given newer work since) or one already taken in
 * (replayed: its sequence is not above the kept one) never moves the target — and, when no run
 * waits for it, recorded on the target at once.
 */
import { openReceipt, receiptSignedBy } from '../../domain/bundle.ts';
import { type FieldIssue, ValidationError } from '../../domain/errors.ts';
import { keyIdOf } from '../../domain/signing.ts';
import { type ReceiveDeps, receiveReport } from '../agents/receive.ts';
import { tenantClusters } from '../tenancy/visibility.ts';

/** What became of one report of a receipt. */
export interface ReceiptOutcome {
  readonly cluster: string;
  readonly generation: number;
  readonly revision: number;
  /** The site's outcome (Succeeded, Failed, Removed). */
  readonly status: string;
  /** Whether it was taken in; when not, why. */
  readonly accepted: boolean;
  readonly reason?: 'stale' | 'replayed' | 'unknown-target';
}

export interface ImportedReceipt {
  readonly deployment: string;
  /** The bundle the receipt answers. */
  readonly bundle: string;
  /** Id of the site key that signed it. */
  readonly signer: string;
  readonly signedAt: string;
  readonly outcomes: ReceiptOutcome[];
  readonly recorded: number;
  readonly refused: number;
}

/** Import a receipt (see the module comment). */
export async function importReceipt(
  deps: ReceiveDeps,
  payload: unknown,
  options: { readonly tenant: string },
): Promise<ImportedReceipt> {
  const tenant = options.tenant;
  const { file, body } = openReceipt(payload);
  const issues: FieldIssue[] = [];
  if (body.tenant !== tenant) {
    issues.push({ path: 'receipt.tenant', message: `is "${body.tenant}"; this is tenant "${tenant}"` });
  }
  if (!(await deps.store.getDeployment(tenant, body.deployment))) {
    issues.push({ path: 'receipt.deployment', message: `no deployment "${body.deployment}"` });
  }
  const names = body.reports.map((r) => r.cluster);
  const clusters = await tenantClusters(deps, tenant, [...new Set(names)]);
  const agents = new Map<string, string>();
  const checkedKeys = new Map<string, boolean>();
  body.reports.forEach((report, i) => {
    const path = `receipt.reports[${i}]`;
    if (report.deployment !== body.deployment) {
      issues.push({
        path: `${path}.deployment`,
        message: `is not the receipt's deployment, "${body.deployment}"`,
      });
    }
    if (names.indexOf(report.cluster) !== i) {
      issues.push({ path: `${path}.cluster`, message: `"${report.cluster}" is reported twice` });
      return;
    }
    const cluster = clusters.get(report.cluster);
    const receiptKey = cluster?.agent?.receiptKey;
    if (!cluster) {
      issues.push({ path: `${path}.cluster`, message: `cluster "${report.cluster}" is not registered` });
    } else if (cluster.auth.type !== 'agent' || !cluster.agent || !receiptKey) {
      issues.push({
        path: `${path}.cluster`,
        message: `cluster "${report.cluster}" has no receipt key registered: it takes no receipts`,
      });
    } else if (cluster.agent.revokedAt) {
      issues.push({
        path: `${path}.cluster`,
        message: `cluster "${report.cluster}" is served by agent "${cluster.agent.name}", which is revoked`,
      });
    } else {
      const registered = keyIdOf(receiptKey);
      if (registered !== body.signer) {
        issues.push({
          path: 'signature',
          message: `the receipt is signed by key ${body.signer}; the receipt key registered for cluster "${report.cluster}" is ${registered}`,
        });
        return;
      }
      let good = checkedKeys.get(registered);
      if (good === undefined) {
        good = receiptSignedBy(file, receiptKey);
        checkedKeys.set(registered, good);
        if (!good) {
          issues.push({
            path: 'signature',
            message: `does not verify against the receipt key ${registered} registered for cluster "${report.cluster}": the receipt was changed after it was signed`,
          });
        }
      }
      agents.set(report.cluster, cluster.agent.name);
    }
  });
  if (issues.length > 0) throw new ValidationError(issues);

  const outcomes: ReceiptOutcome[] = [];
  for (const report of body.reports) {
    const verdict = await receiveReport(deps, tenant, agents.get(report.cluster) ?? '', report);
    outcomes.push({
      cluster: report.cluster,
      generation: report.generation,
      revision: report.revision,
      status: report.status,
      accepted: verdict.accept,
      ...(verdict.accept ? {} : { reason: verdict.reason }),
    });
  }
  const recorded = outcomes.filter((o) => o.accepted).length;
  return {
    deployment: body.deployment,
    bundle: body.bundle,
    signer: body.signer,
    signedAt: body.signedAt,
    outcomes,
    recorded,
    refused: outcomes.length - recorded,
  };
}
