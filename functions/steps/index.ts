/**
 * Every step handler by its substitution key (statemachines/substitutions.ts): how the local
 * runner binds a Task state to the same handler Lambda runs.
 */
import type { StepHandler } from '../../adapters/lambda/step-handler.ts';
import type { SubstitutionKey } from '../../statemachines/substitutions.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import * as applyBatch from './apply-batch.ts';
import * as checkBatchHealth from './check-batch-health.ts';
import * as discoverFail from './discover-fail.ts';
import * as discoverFinish from './discover-finish.ts';
import * as discoverPlan from './discover-plan.ts';
import * as discoverRegion from './discover-region.ts';
import * as driftCheckHeal from './drift-check-heal.ts';
import * as driftFailScan from './drift-fail-scan.ts';
import * as driftFinishScan from './drift-finish-scan.ts';
import * as driftPlanScan from './drift-plan-scan.ts';
import * as driftReport from './drift-report.ts';
import * as driftScanBatch from './drift-scan-batch.ts';
import * as failDeploy from './fail-deploy.ts';
import * as finishDeploy from './finish-deploy.ts';
import * as gateWave from './gate-wave.ts';
import * as pauseDeploy from './pause-deploy.ts';
import * as planDeploy from './plan-deploy.ts';
import * as planRollback from './plan-rollback.ts';
import * as requestApproval from './request-approval.ts';

export const STEP_HANDLERS: Readonly<Record<SubstitutionKey, (deps: DepsProvider) => StepHandler<unknown>>> =
  {
    PlanDeployFunctionArn: planDeploy.createHandler,
    ApplyBatchFunctionArn: applyBatch.createHandler,
    CheckBatchHealthFunctionArn: checkBatchHealth.createHandler,
    FinishDeployFunctionArn: finishDeploy.createHandler,
    FailDeployFunctionArn: failDeploy.createHandler,
    GateWaveFunctionArn: gateWave.createHandler,
    RequestApprovalFunctionArn: requestApproval.createHandler,
    PauseDeployFunctionArn: pauseDeploy.createHandler,
    PlanRollbackFunctionArn: planRollback.createHandler,
    PlanDriftScanFunctionArn: driftPlanScan.createHandler,
    ScanDriftBatchFunctionArn: driftScanBatch.createHandler,
    ReportDriftFunctionArn: driftReport.createHandler,
    CheckHealFunctionArn: driftCheckHeal.createHandler,
    FinishDriftScanFunctionArn: driftFinishScan.createHandler,
    FailDriftScanFunctionArn: driftFailScan.createHandler,
    PlanDiscoveryFunctionArn: discoverPlan.createHandler,
    DiscoverRegionFunctionArn: discoverRegion.createHandler,
    FinishDiscoveryFunctionArn: discoverFinish.createHandler,
    FailDiscoveryFunctionArn: discoverFail.createHandler,
  };
