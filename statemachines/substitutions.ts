/**
 * The one map of definition substitutions, shared by the CDK construct (which fills each key with
 * a Lambda ARN through `definitionSubstitutions`), the local ASL runner (which binds each Task
 * state to the same handler in-process) and the tests (which check every placeholder has a key).
 *
 * A Task state's `Resource` is `${<Key>}`; the key names one step function, and the step function
 * lives in `functions/steps/<file>.ts` (exporting `createHandler` and `handler`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Substitution key → the step handler file under functions/steps/ (without `.ts`). */
export const STEP_FUNCTIONS = {
  PlanDeployFunctionArn: 'plan-deploy',
  ApplyBatchFunctionArn: 'apply-batch',
  CheckBatchHealthFunctionArn: 'check-batch-health',
  FinishDeployFunctionArn: 'finish-deploy',
  FailDeployFunctionArn: 'fail-deploy',
  PlanDriftScanFunctionArn: 'drift-plan-scan',
  ScanDriftBatchFunctionArn: 'drift-scan-batch',
  ReportDriftFunctionArn: 'drift-report',
  CheckHealFunctionArn: 'drift-check-heal',
  FinishDriftScanFunctionArn: 'drift-finish-scan',
  FailDriftScanFunctionArn: 'drift-fail-scan',
  GateWaveFunctionArn: 'gate-wave',
  RequestApprovalFunctionArn: 'request-approval',
  PauseDeployFunctionArn: 'pause-deploy',
  PlanRollbackFunctionArn: 'plan-rollback',
  PlanDiscoveryFunctionArn: 'discover-plan',
  DiscoverRegionFunctionArn: 'discover-region',
  FinishDiscoveryFunctionArn: 'discover-finish',
  FailDiscoveryFunctionArn: 'discover-fail',
} as const;

export type SubstitutionKey = keyof typeof STEP_FUNCTIONS;
export type StepFunctionFile = (typeof STEP_FUNCTIONS)[SubstitutionKey];

/** Workflow → Task state name → substitution key of its Resource. */
export const WORKFLOW_TASKS = {
  deploy: {
    PlanDeploy: 'PlanDeployFunctionArn',
    ApplyBatch: 'ApplyBatchFunctionArn',
    CheckBatchHealth: 'CheckBatchHealthFunctionArn',
    FinishDeploy: 'FinishDeployFunctionArn',
    FailDeploy: 'FailDeployFunctionArn',
    OpenWave: 'GateWaveFunctionArn',
    GateWave: 'GateWaveFunctionArn',
    AwaitApproval: 'RequestApprovalFunctionArn',
    PauseDeploy: 'PauseDeployFunctionArn',
    PlanRollback: 'PlanRollbackFunctionArn',
  },
  'drift-scan': {
    PlanDriftScan: 'PlanDriftScanFunctionArn',
    ScanDriftBatch: 'ScanDriftBatchFunctionArn',
    ReportDrift: 'ReportDriftFunctionArn',
    CheckHeal: 'CheckHealFunctionArn',
    FinishDriftScan: 'FinishDriftScanFunctionArn',
    FailDriftScan: 'FailDriftScanFunctionArn',
  },
  discovery: {
    PlanDiscovery: 'PlanDiscoveryFunctionArn',
    DiscoverRegion: 'DiscoverRegionFunctionArn',
    FinishDiscovery: 'FinishDiscoveryFunctionArn',
    FailDiscovery: 'FailDiscoveryFunctionArn',
  },
} as const satisfies Record<string, Record<string, SubstitutionKey>>;

/**
 * Task states that wait for a task token: their `Resource` is the Lambda service integration
 * `arn:aws:states:::lambda:invoke.waitForTaskToken` and the substitution key fills
 * `Parameters.FunctionName` (so the role of the state machine needs lambda:InvokeFunction on that
 * function, as for the others). The function stores the token; the state waits until something
 * sends it back (SendTaskSuccess). Locally the runner serves the same wait.
 */
export const TOKEN_TASKS = {
  deploy: ['AwaitApproval'],
} as const satisfies Partial<Record<keyof typeof WORKFLOW_TASKS, readonly string[]>>;

/** Workflows that have a statemachines/<name>.asl.json file. */
export type DefinedWorkflow = keyof typeof WORKFLOW_TASKS;
export const DEFINED_WORKFLOWS = Object.keys(WORKFLOW_TASKS) as DefinedWorkflow[];

/** Absolute path of a workflow's definition file. */
export function definitionPath(workflow: DefinedWorkflow): string {
  return join(import.meta.dirname, `${workflow}.asl.json`);
}

/** The definition text, placeholders unfilled (what CDK passes to `DefinitionBody.fromString`). */
export function definitionText(workflow: DefinedWorkflow): string {
  return readFileSync(definitionPath(workflow), 'utf8');
}

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** Every `${Key}` placeholder in a definition text. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''))];
}

/**
 * Fill the placeholders of a definition as Step Functions does with definition substitutions.
 * Throws when a placeholder has no value, so nothing half-substituted ever runs.
 */
export function substitute(text: string, values: Readonly<Record<string, string>>): string {
  const missing = placeholdersOf(text).filter((key) => values[key] === undefined);
  if (missing.length > 0) throw new Error(`no substitution for ${missing.map((k) => `\${${k}}`).join(', ')}`);
  return text.replace(PLACEHOLDER, (_whole, key: string) => values[key] ?? '');
}

/** The substitution keys one workflow uses. */
export function substitutionKeysOf(workflow: DefinedWorkflow): SubstitutionKey[] {
  return [...new Set(Object.values(WORKFLOW_TASKS[workflow]))];
}
