/**
 * Read and diff the live objects of one batch of clusters (ScanDriftBatch).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { scanDriftBatch } from '../../usecases/drift/scan-batch.ts';
import { ScanBatchEvent } from './drift-events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'drift-scan-batch', schema: ScanBatchEvent, deps, run: scanDriftBatch });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
