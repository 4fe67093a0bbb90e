/**
 * Rollouts API: the waves and clusters of a deployment's rollout, and the operations on it —
 * resume, rollback, approve, pause, cancel. Part of the deployments group (served under
 * `/deployments/{name}/rollout…` by the same function). Thin over usecases/rollouts.
 */
import { z } from 'zod';
import { accepted, ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import {
  Deployment,
  Dns1123Label,
  Execution,
  FailureCode,
  HealthCode,
  WaveProgress,
  WaveState,
} from '../../domain/model.ts';
import { ROLLOUT_STATES } from '../../domain/rollout.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { approveRollout } from '../../usecases/rollouts/approve-rollout.ts';
import { cancelRollout } from '../../usecases/rollouts/cancel-rollout.ts';
import { pauseRollout } from '../../usecases/rollouts/pause-rollout.ts';
import { resumeRollout } from '../../usecases/rollouts/resume-rollout.ts';
import { rollbackDeployment } from '../../usecases/rollouts/rollback-deployment.ts';
import { getRolloutStatus } from '../../usecases/rollouts/rollout-status.ts';

const NameParam = z.object({ name: Dns1123Label.meta({ description: 'Deployment name' }) });

const WaveView = z
  .object({
    position: z.number().int().meta({ description: 'Position in the run' }),
    index: z.number().int().meta({ description: "The wave's index in the plan (targets carry it)" }),
    name: z.string(),
    action: WaveProgress.shape.action,
    state: z.union([WaveState, z.literal('Applying')]),
    size: z.number().int(),
    clusters: z.number().int().meta({ description: 'Clusters this run works on in the wave' }),
    maxFailures: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    message: z.string().optional(),
  })
  .meta({ id: 'RolloutWave' });

const ClusterView = z
  .object({
    cluster: z.string(),
    wave: z.number().int().optional(),
    state: z.enum(ROLLOUT_STATES),
    health: HealthCode,
    desiredRevision: z.number().int(),
    appliedRevision: z.number().int().optional(),
    failure: FailureCode.optional(),
    reason: z.string().optional(),
    updatedAt: z.string(),
  })
  .meta({ id: 'RolloutCluster' });

/** A deployment's rollout: its waves and each cluster with its state and reason. */
export const RolloutStatus = z
  .object({
    deployment: Deployment,
    execution: Execution.optional().meta({
      description: 'The execution holding the deployment, else its last',
    }),
    phase: z.enum(['rollout', 'rollback']).optional(),
    waves: z.array(WaveView),
    rollbackWaves: z.array(WaveView),
    clusters: z.array(ClusterView),
    note: z.string().optional().meta({ description: 'What the run waits for, or why it stopped' }),
  })
  .meta({ id: 'RolloutStatus' });

const Started = z
  .object({
    executionId: z.string(),
    revision: z.number().int(),
    tookOver: z.string().optional().meta({ description: 'A dead execution whose lock was taken over' }),
  })
  .meta({ id: 'OperationStarted' });

const ResumeAnswer = z
  .object({
    revision: z.number().int(),
    behind: z.number().int().meta({ description: 'Targets not at the desired revision' }),
    executionId: z.string().optional().meta({ description: 'Absent when nothing was behind' }),
    tookOver: z.string().optional(),
  })
  .meta({ id: 'ResumeAnswer' });

const RollbackAnswer = Started.extend({
  fromRevision: z.number().int(),
  toRevision: z.number().int(),
}).meta({ id: 'RollbackAnswer' });

const ApproveAnswer = z
  .object({
    executionId: z.string(),
    wave: z.number().int().meta({ description: 'The wave approved to start' }),
  })
  .meta({ id: 'ApproveAnswer' });

const PauseAnswer = z
  .object({
    executionId: z.string(),
    wave: z.number().int(),
    immediate: z.boolean().meta({ description: 'It was waiting for an approval and pauses now' }),
  })
  .meta({ id: 'PauseAnswer' });

const CancelAnswer = z
  .object({
    executionId: z.string(),
    cancelled: z.number().int().meta({ description: 'Targets marked Cancelled' }),
  })
  .meta({ id: 'CancelAnswer' });

const busy = {
  409: { description: 'Another operation holds the deployment, or nothing to do in its state' },
};

/** The routes of the rollouts API (served by the deployments function). */
export function rolloutRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/deployments/{name}/rollout',
      operationId: 'getRollout',
      summary: "A deployment's rollout: each wave and each cluster with its state and reason",
      tags: ['rollouts'],
      access: 'read',
      params: NameParam,
      query: z.object({
        clusters: z.enum(['all', 'none']).optional().meta({
          description: '`none`: waves only, `clusters` empty (see /summary for big fleets). Default all',
        }),
      }),
      responses: { 200: { description: 'Waves and clusters', schema: RolloutStatus } },
      handle: async ({ params, query, caller }) =>
        ok(
          await getRolloutStatus(await deps(), params.name, {
            tenant: caller.tenant,
            clusters: query.clusters !== 'none',
          }),
        ),
    }),
    defineRoute({
      method: 'POST',
      path: '/deployments/{name}/rollout/resume',
      operationId: 'resumeRollout',
      summary: 'Re-run the desired revision on the targets not at it (failed and untouched)',
      description:
        'Takes over the lock of an execution whose workflow run is gone (a control plane that stopped). 202 with the execution; 200 when nothing is behind.',
      tags: ['rollouts'],
      access: 'operate',
      params: NameParam,
      responses: {
        200: { description: 'Nothing to resume', schema: ResumeAnswer },
        202: { description: 'Resuming', schema: ResumeAnswer },
        ...busy,
      },
      handle: async ({ params, caller }) => {
        const result = await resumeRollout(await deps(), params.name, { tenant: caller.tenant });
        const body = {
          revision: result.revision,
          behind: result.behind,
          ...(result.started
            ? {
                executionId: result.started.executionId,
                ...(result.started.tookOver ? { tookOver: result.started.tookOver } : {}),
              }
            : {}),
        };
        return result.started ? accepted(body) : ok(body);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/deployments/{name}/rollout/rollback',
      operationId: 'rollbackRollout',
      summary: 'Roll back to the previous good revision, or to toRevision',
      tags: ['rollouts'],
      access: 'operate',
      params: NameParam,
      body: z
        .object({
          toRevision: z
            .number()
            .int()
            .positive()
            .optional()
            .meta({ description: 'Default: the previous good revision' }),
        })
        .strict(),
      responses: { 202: { description: 'Rolling back', schema: RollbackAnswer }, ...busy },
      handle: async ({ params, body, caller }) => {
        const result = await rollbackDeployment(await deps(), params.name, {
          tenant: caller.tenant,
          ...(body.toRevision !== undefined ? { toRevision: body.toRevision } : {}),
        });
        return accepted({
          executionId: result.started.executionId,
          revision: result.toRevision,
          fromRevision: result.fromRevision,
          toRevision: result.toRevision,
          ...(result.started.tookOver ? { tookOver: result.started.tookOver } : {}),
        });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/deployments/{name}/rollout/approve',
      operationId: 'approveRollout',
      summary: 'Let a rollout waiting at an approval gate start the wave it holds',
      tags: ['rollouts'],
      access: 'operate',
      params: NameParam,
      body: z
        .object({
          wave: z
            .number()
            .int()
            .nonnegative()
            .optional()
            .meta({ description: 'Approve only if this wave (index) is the one waiting' }),
        })
        .strict(),
      responses: { 200: { description: 'Approved', schema: ApproveAnswer }, ...busy },
      handle: async ({ params, body, caller }) =>
        ok(
          await approveRollout(await deps(), params.name, {
            tenant: caller.tenant,
            ...(body.wave !== undefined ? { wave: body.wave } : {}),
          }),
        ),
    }),
    defineRoute({
      method: 'POST',
      path: '/deployments/{name}/rollout/pause',
      operationId: 'pauseRollout',
      summary: 'Stop the rollout before its next wave (batches in flight finish)',
      tags: ['rollouts'],
      access: 'operate',
      params: NameParam,
      responses: { 202: { description: 'Pause requested', schema: PauseAnswer }, ...busy },
      handle: async ({ params, caller }) =>
        accepted(await pauseRollout(await deps(), params.name, { tenant: caller.tenant })),
    }),
    defineRoute({
      method: 'POST',
      path: '/deployments/{name}/rollout/cancel',
      operationId: 'cancelRollout',
      summary: 'Stop the operation in progress now; clusters it had not finished are Cancelled',
      tags: ['rollouts'],
      access: 'operate',
      params: NameParam,
      responses: { 200: { description: 'Cancelled', schema: CancelAnswer }, ...busy },
      handle: async ({ params, caller }) =>
        ok(await cancelRollout(await deps(), params.name, { tenant: caller.tenant })),
    }),
  ];
}
