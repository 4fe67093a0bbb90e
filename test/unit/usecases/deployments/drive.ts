/**
 * Drives a deploy execution through its steps in order, as the workflow does, without the
 * interpreter: plan, then per batch apply and health checks until nothing is pending (the
 * manual clock advances by each wait), then finish. For use-case tests.
 */
import { applyBatch } from '../../../../usecases/deployments/apply-batch.ts';
import { checkBatchHealth } from '../../../../usecases/deployments/check-batch-health.ts';
import { type DeployOutcome, finishDeploy } from '../../../../usecases/deployments/finish-deploy.ts';
import { planDeploy } from '../../../../usecases/deployments/plan-deploy.ts';
import type { TestBed } from './fakes.ts';

export interface Drive {
  readonly outcome: DeployOutcome;
  readonly checks: number;
}

export async function drive(bed: TestBed, executionId: string, maxChecks = 1000): Promise<Drive> {
  const input = { tenant: 'default', executionId };
  const plan = await planDeploy(bed.deps, input);
  let checks = 0;
  for (const wave of plan.waves) {
    for (const batch of wave.batches) {
      let progress = await applyBatch(bed.deps, { ...input, batch, wave: wave.wave });
      while (progress.pending > 0 && checks < maxChecks) {
        bed.clock.advance(progress.waitSeconds * 1000);
        progress = await checkBatchHealth(bed.deps, { ...input, batch, wave: wave.wave });
        checks++;
      }
    }
  }
  return { outcome: await finishDeploy(bed.deps, input), checks };
}
