/**
 * The rollout planner (pure, in the manner of OCM's `rollout.go`): which clusters go in which
 * wave, how many at once, how many failures a wave tolerates, whether a wave waits for an
 * approval before it starts, and what a wave's gate decides once its batches are done — advance,
 * keep soaking, or stop (pause or roll back). Every target is in one of a closed set of rollout
 * states. Time is passed in; nothing here reads a clock or does I/O.
 *
 * Approvals come before a wave (as Azure Fleet's before-stage gates): `approval: true` on a wave
 * holds the rollout until someone approves, then that wave starts — on the first wave, before any
 * cluster is touched. Waiting after wave N is an approval on wave N + 1. For blue/green, the
 * approval holds the retirement of the blue group.
 *
 * Wave selection, in strategy order, from the targets not placed in an earlier wave:
 * - `count: N` takes the first N (by cluster name);
 * - `percent: P` takes ⌈P × total / 100⌉ (of all the targets, rounded up, at least 1);
 * - `selector` takes every remaining target whose labels match;
 * - a wave with none of them (only the last may) takes the rest.
 * Targets left over after the last wave go to a trailing wave named `rest`, so no target is ever
 * left out. A strategy without waves is one wave of every target. Blue/green is two waves: the
 * green group gets the revision, then the deployment is retired from the blue group.
 *
 * Failure budgets: `maxFailures: N` tolerates N failed targets; `"P%"` tolerates ⌊P × size / 100⌋
 * (rounded down: 10% of 5 clusters tolerates none). A wave halts when its failures exceed the
 * budget. The default budget is the strategy's `maxFailures`, else 0.
 */
import { durationSeconds } from './limits.ts';
import type { BlueGreen, LabelSelector, Labels, Strategy, Target, Wave, WaveState } from './model.ts';
import { matchesSelector } from './selectors.ts';

export { durationSeconds };

/** Failures a budget tolerates in a wave of `size` targets (percentages round down). */
export function failureBudget(budget: number | string | undefined, size: number): number {
  if (budget === undefined) return 0;
  if (typeof budget === 'number') return budget;
  const percent = Number(budget.slice(0, -1));
  return Math.floor((percent * size) / 100 + 1e-9);
}

/** A target as the planner sees it: a cluster name and its labels. */
export interface RolloutCandidate {
  readonly name: string;
  readonly labels: Labels;
}

/** The settings of one wave after defaults are applied (strategy, then Flotilla's own). */
export interface WaveSettings {
  readonly maxParallel?: number;
  /** Raw budget (count or percentage); resolved against the wave's size. */
  readonly maxFailures?: number | string;
  readonly progressDeadlineSeconds?: number;
  /** Soak: how long every target of the wave must stay healthy before the gate passes. */
  readonly minSuccessSeconds: number;
  /** Wait for an approval before this wave starts. */
  readonly approval: boolean;
}

/** One planned wave. */
export interface PlannedWave extends WaveSettings {
  /** Index in the plan (and the `wave` of its targets and batches). */
  readonly index: number;
  readonly name: string;
  /** `apply` the revision; `retire`: remove the deployment from these clusters (blue/green's blue). */
  readonly action: 'apply' | 'retire';
  /** Cluster names, sorted. */
  readonly clusters: string[];
  /** Failures tolerated, resolved over `clusters.length`. */
  readonly budget: number;
}

export interface WavePlan {
  readonly waves: PlannedWave[];
  /** Blue/green only: targets in neither group (they get nothing, and are reported). */
  readonly unassigned: string[];
}

function settingsOf(wave: Partial<Wave> | BlueGreen, strategy: Strategy | undefined): WaveSettings {
  const deadline = wave.progressDeadline ?? strategy?.progressDeadline;
  const maxParallel = wave.maxParallel ?? strategy?.maxParallel;
  const maxFailures = wave.maxFailures ?? strategy?.maxFailures;
  return {
    ...(maxParallel !== undefined ? { maxParallel } : {}),
    ...(maxFailures !== undefined ? { maxFailures } : {}),
    ...(deadline !== undefined ? { progressDeadlineSeconds: durationSeconds(deadline) } : {}),
    minSuccessSeconds: wave.minSuccessTime !== undefined ? durationSeconds(wave.minSuccessTime) : 0,
    approval: wave.approval === true,
  };
}

function planned(
  index: number,
  name: string,
  action: PlannedWave['action'],
  clusters: string[],
  settings: WaveSettings,
): PlannedWave {
  return {
    index,
    name,
    action,
    clusters,
    ...settings,
    budget: failureBudget(settings.maxFailures, clusters.length),
  };
}

function byName(a: RolloutCandidate, b: RolloutCandidate): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Split the targets of a revision into waves (see the module comment). Deterministic: the same
 * targets and strategy give the same waves, so a resumed run finds every cluster in its wave.
 * Waves that select nothing stay in the plan, empty.
 */
export function planWaves(candidates: readonly RolloutCandidate[], strategy: Strategy | undefined): WavePlan {
  const sorted = [...candidates].sort(byName);
  if (strategy?.blueGreen) return planBlueGreen(sorted, strategy.blueGreen, strategy);
  const specs = strategy?.waves ?? [];
  if (specs.length === 0) {
    return {
      waves: [
        planned(
          0,
          'all',
          'apply',
          sorted.map((c) => c.name),
          settingsOf({}, strategy),
        ),
      ],
      unassigned: [],
    };
  }
  const total = sorted.length;
  let remaining = sorted;
  const waves: PlannedWave[] = [];
  specs.forEach((spec, index) => {
    let picked: RolloutCandidate[];
    if (spec.count !== undefined) picked = remaining.slice(0, spec.count);
    else if (spec.percent !== undefined) {
      const want = Math.max(1, Math.ceil((spec.percent * total) / 100 - 1e-9));
      picked = remaining.slice(0, want);
    } else if (spec.selector !== undefined) {
      const selector: LabelSelector = spec.selector;
      picked = remaining.filter((c) => matchesSelector(selector, c.labels));
    } else picked = remaining;
    const taken = new Set(picked.map((c) => c.name));
    remaining = remaining.filter((c) => !taken.has(c.name));
    waves.push(
      planned(
        index,
        spec.name ?? `wave-${index + 1}`,
        'apply',
        picked.map((c) => c.name),
        settingsOf(spec, strategy),
      ),
    );
  });
  if (remaining.length > 0) {
    waves.push(
      planned(
        waves.length,
        'rest',
        'apply',
        remaining.map((c) => c.name),
        settingsOf({}, strategy),
      ),
    );
  }
  return { waves, unassigned: [] };
}

function planBlueGreen(sorted: readonly RolloutCandidate[], bg: BlueGreen, strategy: Strategy): WavePlan {
  const green: string[] = [];
  const blue: string[] = [];
  const unassigned: string[] = [];
  for (const c of sorted) {
    // A cluster in both groups is green: it gets the new revision rather than losing the service.
    if (matchesSelector(bg.green, c.labels)) green.push(c.name);
    else if (matchesSelector(bg.blue, c.labels)) blue.push(c.name);
    else unassigned.push(c.name);
  }
  return {
    waves: [
      planned(0, 'green', 'apply', green, blueGreenSettings(bg, strategy, 0)),
      planned(1, 'retire-blue', 'retire', blue, blueGreenSettings(bg, strategy, 1)),
    ],
    unassigned,
  };
}

/** Blue/green's two waves: green is gated like a wave; its approval holds the retirement of blue. */
function blueGreenSettings(bg: BlueGreen, strategy: Strategy, index: number): WaveSettings {
  if (index === 0) return { ...settingsOf(bg, strategy), approval: false };
  return {
    ...settingsOf({}, strategy),
    ...(bg.maxParallel !== undefined ? { maxParallel: bg.maxParallel } : {}),
    approval: bg.approval === true,
  };
}

/** The settings of the wave at `index` of a revision's plan (the trailing `rest` wave included). */
export function settingsOfWave(strategy: Strategy | undefined, index: number): WaveSettings {
  if (strategy?.blueGreen) return blueGreenSettings(strategy.blueGreen, strategy, index);
  return settingsOf(strategy?.waves?.[index] ?? {}, strategy);
}

/** Where in a strategy a wave's setting is written, for errors (`strategy.waves[1].approval`). */
function settingPath(strategy: Strategy, index: number, setting: string): string {
  if (strategy.blueGreen) return `strategy.blueGreen.${setting}`;
  return `strategy.waves[${index}].${setting}`;
}

/**
 * Gates of a plan that cannot take effect, with where they are written: an approval or a soak on
 * a wave that selects no cluster (it would never be asked, nor observed). Checked when a
 * deployment is requested, over the clusters it selects then.
 */
export function idleGates(
  plan: WavePlan,
  strategy: Strategy | undefined,
): Array<{ path: string; message: string }> {
  if (!strategy) return [];
  const problems: Array<{ path: string; message: string }> = [];
  for (const wave of plan.waves) {
    if (wave.clusters.length > 0) continue;
    const what = strategy.blueGreen
      ? `the ${wave.action === 'retire' ? 'blue' : 'green'} group selects no cluster`
      : `wave ${wave.index + 1} (${wave.name}) selects no cluster`;
    if (wave.approval) {
      problems.push({
        path: settingPath(strategy, wave.index, 'approval'),
        message: `${what}, so its approval could never be asked; drop it or change the wave`,
      });
    }
    if (wave.minSuccessSeconds > 0 && wave.action === 'apply') {
      problems.push({
        path: settingPath(strategy, wave.index, 'minSuccessTime'),
        message: `${what}, so there is nothing to soak; drop it or change the wave`,
      });
    }
  }
  return problems;
}

/**
 * Batches for a wave of `maxParallel` clusters at once when a batch holds at most `batchSize`:
 * `k` batches in flight of at most ⌊maxParallel / k⌋ clusters each, so at most `maxParallel`
 * clusters are being applied at any moment.
 */
export function batchShape(
  maxParallel: number,
  batchSize: number,
): { batchSize: number; concurrency: number } {
  const parallel = Math.max(1, Math.floor(maxParallel));
  const size = Math.max(1, Math.floor(batchSize));
  const concurrency = Math.ceil(parallel / size);
  return { batchSize: Math.max(1, Math.floor(parallel / concurrency)), concurrency };
}

// ---------------------------------------------------------------------------------------------
// Per-target states

/** The closed set of states a target is in during a rollout (OCM's, plus cancel and removal). */
export const ROLLOUT_STATES = [
  'ToApply',
  'Progressing',
  'Succeeded',
  'Failed',
  'TimedOut',
  'Skipped',
  'Cancelled',
  'Removed',
] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** The rollout state of a target record. */
export function rolloutStateOf(target: Pick<Target, 'status' | 'failure'>): RolloutState {
  switch (target.status) {
    case 'Pending':
      return 'ToApply';
    case 'Progressing':
      return 'Progressing';
    case 'Succeeded':
      return 'Succeeded';
    case 'Removed':
      return 'Removed';
    case 'Skipped':
      return target.failure === 'Cancelled' ? 'Cancelled' : 'Skipped';
    case 'Failed':
      if (target.failure === 'HealthTimeout') return 'TimedOut';
      if (target.failure === 'Cancelled') return 'Cancelled';
      return 'Failed';
  }
}

/** How a wave's targets of one run ended up. */
export interface WaveTally {
  readonly succeeded: number;
  readonly failed: number;
  /** Still to apply or progressing (none once the wave's batches are done). */
  readonly unfinished: number;
}

/** Count a wave's targets by outcome (timed out counts as failed; removed as succeeded). */
export function tallyWave(targets: ReadonlyArray<Pick<Target, 'status' | 'failure'>>): WaveTally {
  let succeeded = 0;
  let failed = 0;
  let unfinished = 0;
  for (const target of targets) {
    const state = rolloutStateOf(target);
    if (state === 'Succeeded' || state === 'Removed' || state === 'Skipped') succeeded++;
    else if (state === 'ToApply' || state === 'Progressing') unfinished++;
    else failed++;
  }
  return { succeeded, failed, unfinished };
}

// ---------------------------------------------------------------------------------------------
// The gate after a wave

export type OnFailure = 'pause' | 'rollback' | 'continue';

/**
 * What the workflow does at a gate: `next` (go on: start the wave, or after the wave advance, and
 * after the last wave finish), `soak` (wait `waitSeconds` and ask again), `approval` (wait for an
 * approval, then ask again), `pause` (stop here, resumable), `rollback` (re-apply the previous
 * good revision), `stop` (the run was cancelled: end without touching anything).
 */
export type GateAction = 'next' | 'soak' | 'approval' | 'pause' | 'rollback' | 'stop';

export interface GateInput {
  readonly wave: Pick<PlannedWave, 'budget' | 'minSuccessSeconds'>;
  readonly tally: WaveTally;
  /** Whether anything comes after this wave in the run. */
  readonly hasNext: boolean;
  readonly onFailure: OnFailure;
  /** False for runs that are never held (rollbacks, heals). */
  readonly gated: boolean;
  readonly now: Date;
  /** When the soak of this wave began (undefined: not yet). */
  readonly soakStartedAt?: Date;
  readonly pauseRequested: boolean;
  /** Seconds between soak checks. */
  readonly pollSeconds: number;
}

export interface GateDecision {
  readonly action: GateAction;
  /** The wave's state after this decision. */
  readonly state: WaveState;
  /** For `soak`: seconds to wait before asking again. */
  readonly waitSeconds?: number;
  /** For `soak`: the soak begins now (record it). */
  readonly startSoak?: boolean;
  /** When the wave is over its budget: why (for the halt record and the events). */
  readonly overBudget?: string;
  readonly message?: string;
}

/** Over budget: `failed` exceeds `budget`. */
export function overBudget(tally: WaveTally, budget: number): boolean {
  return tally.failed > budget;
}

/**
 * The gate after one wave, as a pure decision. Order: the failure budget (halt → pause or
 * rollback as the strategy says, or carry on with `continue`), then the soak (every target must
 * stay healthy for `minSuccessSeconds`; checks in between are the caller's), then a requested
 * pause. (Approvals are asked before a wave: decideWaveStart.)
 */
export function decideGate(input: GateInput): GateDecision {
  const { wave, tally, hasNext } = input;
  const failures = `${tally.failed} failed, ${wave.budget} tolerated`;
  if (!input.gated) return { action: 'next', state: 'Passed' };
  if (overBudget(tally, wave.budget)) {
    const overBudgetReason = `exceeded its failure budget (${failures})`;
    if (input.onFailure === 'rollback')
      return { action: 'rollback', state: 'Halted', overBudget: overBudgetReason };
    if (input.onFailure === 'pause' && hasNext)
      return { action: 'pause', state: 'Halted', overBudget: overBudgetReason };
    // continue, or nothing left to pause before: the run goes on (and ends Failed).
    return { action: 'next', state: 'Failed', overBudget: overBudgetReason };
  }
  if (wave.minSuccessSeconds > 0) {
    if (!input.soakStartedAt) {
      return {
        action: 'soak',
        state: 'Soaking',
        startSoak: true,
        waitSeconds: Math.max(1, Math.min(input.pollSeconds, Math.ceil(wave.minSuccessSeconds))),
      };
    }
    const remaining = input.soakStartedAt.getTime() + wave.minSuccessSeconds * 1000 - input.now.getTime();
    if (remaining > 0) {
      if (input.pauseRequested && hasNext) {
        return { action: 'pause', state: 'Passed', message: 'paused by request during the soak' };
      }
      return {
        action: 'soak',
        state: 'Soaking',
        waitSeconds: Math.max(1, Math.min(input.pollSeconds, Math.ceil(remaining / 1000))),
      };
    }
  }
  if (input.pauseRequested && hasNext) {
    return { action: 'pause', state: 'Passed', message: 'paused by request' };
  }
  return { action: 'next', state: 'Passed' };
}

/** What decides whether a wave that asks for an approval may start. */
export interface WaveStartInput {
  readonly approval: boolean;
  readonly approved: boolean;
  readonly pauseRequested: boolean;
}

/**
 * Whether a wave starts, as a pure decision: a requested pause stops the run before it (nothing
 * of the wave is touched), an approval not given yet holds it, otherwise it starts (`next`).
 */
export function decideWaveStart(input: WaveStartInput): {
  action: 'next' | 'approval' | 'pause';
  message?: string;
} {
  if (input.pauseRequested) return { action: 'pause', message: 'paused by request' };
  if (input.approval && !input.approved) return { action: 'approval' };
  return { action: 'next' };
}
