/**
 * The event catalogue as documents: what each event means and who publishes it (the README's
 * table), and a JSON Schema per event type generated from its zod schema in domain/events.ts —
 * the whole EventBridge event as a subscriber receives it (`source`, `detail-type`, `time`,
 * `detail`). docs/events/generate.ts writes the schemas to docs/events/<Type>.json; a test
 * checks the committed files are what this gives.
 */
import { z } from 'zod';
import { EVENT_DETAILS, EVENT_SOURCE, EVENT_TYPES, type EventType } from '../../domain/events.ts';

/** What each event says, and where it comes from. */
export const EVENT_DOCS: Readonly<
  Partial<Record<EventType, { readonly when: string; readonly by: string }>>
> = {
  DeploymentStarted: {
    when: 'an execution of the deploy workflow started (deploy, resume, rollback, heal, maintenance)',
    by: 'create-deployment, start-operation',
  },
  DeploymentSucceeded: { when: 'an execution ended with every target at its revision', by: 'FinishDeploy' },
  DeploymentFailed: {
    when: 'an execution ended with failed or unfinished targets, or broke',
    by: 'FinishDeploy, FailDeploy',
  },
  WaveCompleted: { when: "a wave's clusters are done and its gate decided (halted or not)", by: 'GateWave' },
  DeploymentPaused: {
    when: 'a rollout stopped at a wave (failure budget, or asked to pause)',
    by: 'PauseDeploy',
  },
  DeploymentCancelled: { when: 'a rollout was cancelled', by: 'rollout cancel' },
  DeploymentDeleted: {
    when: 'a deployment was removed from every cluster (`flotilla delete`); its history stays',
    by: 'FinishDeploy',
  },
  ApprovalRequested: { when: 'a wave waits for an approval before it starts', by: 'AwaitApproval' },
  TargetFailed: { when: 'one cluster failed in an execution (reason and failure code)', by: 'FinishDeploy' },
  RolledBack: { when: 'a failed rollout was rolled back to the previous good revision', by: 'FinishDeploy' },
  DriftDetected: {
    when: 'a drift scan found a cluster whose objects differ from what Flotilla applied (policy report or heal)',
    by: 'ReportDrift (drift-scan workflow)',
  },
  DriftHealed: {
    when: 'a heal re-applied the desired revision to a drifted cluster',
    by: 'CheckHeal (drift-scan workflow)',
  },
  ClusterRegistered: {
    when: 'a cluster was registered (API, import, discovery, connector)',
    by: 'register, discovery, connect',
  },
  ClusterUnreachable: {
    when: 'a cluster could not be reached (discovery, or a drift scan reading it)',
    by: 'discovery, ScanDriftBatch',
  },
  ClusterDeregistered: { when: 'a cluster was deregistered (targets dropped when forced)', by: 'deregister' },
};

/** The JSON Schema of one event type, as EventBridge delivers it. */
export function eventSchema(type: EventType): Record<string, unknown> {
  const detail = z.toJSONSchema(EVENT_DETAILS[type], { target: 'draft-2020-12', io: 'output' }) as Record<
    string,
    unknown
  >;
  const { $schema: _inner, $defs, ...detailSchema } = detail;
  const docs = EVENT_DOCS[type];
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://flotilla.dev/schemas/events/${type}.json`,
    title: type,
    ...(docs ? { description: `Published when ${docs.when}.` } : {}),
    type: 'object',
    properties: {
      source: { const: EVENT_SOURCE },
      'detail-type': { const: type },
      time: { type: 'string', format: 'date-time' },
      detail: detailSchema,
    },
    required: ['source', 'detail-type', 'detail'],
    ...($defs ? { $defs } : {}),
  };
}

/** File name → content of every schema (stable JSON, two-space indent, a final newline). */
export function eventSchemaFiles(): Map<string, string> {
  return new Map(
    EVENT_TYPES.map((type) => [`${type}.json`, `${JSON.stringify(eventSchema(type), null, 2)}\n`]),
  );
}
