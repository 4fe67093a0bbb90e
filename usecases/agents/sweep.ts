/**
 * The agents' periodic sweep: dark clusters marked Unreachable (dark.ts), and identities rotated
 * out past their grace retired (identity.ts). On AWS a schedule runs it; its period and the
 * dark threshold are tunables (how often agents heartbeat decides how soon silence means dark).
 */
import type { Deps } from '../deps.ts';
import { markDarkClusters } from './dark.ts';
import { retireRotatedIdentities } from './identity.ts';

/** Silence that makes an agent dark when nothing says otherwise (the local control plane's). */
export const DEFAULT_DARK_AFTER_SECONDS = 180;

/** How long an agent may be silent before its clusters are marked Unreachable, in ms. */
export function darkAfterMs(tunables: Deps['tunables']): number {
  const seconds =
    tunables.agentDarkAfterSeconds ??
    (tunables.agentHeartbeatSeconds !== undefined
      ? 3 * tunables.agentHeartbeatSeconds
      : DEFAULT_DARK_AFTER_SECONDS);
  return seconds * 1000;
}

export interface SweepResult {
  /** Clusters marked Unreachable by this sweep. */
  readonly dark: string[];
  /** Agents whose rotated-out identity was retired. */
  readonly retired: string[];
}

/** One sweep of every tenant's agents (a platform job). */
export async function sweepAgents(
  deps: Pick<Deps, 'store' | 'clock' | 'bus' | 'tunables' | 'agentIdentities'>,
): Promise<SweepResult> {
  const dark = await markDarkClusters(deps, { afterMs: darkAfterMs(deps.tunables) });
  const retired = await retireRotatedIdentities(deps);
  return { dark, retired };
}
