import type { Command } from 'commander';
import { registerAgent } from './agent.ts';
import { registerBundle } from './bundle.ts';
import { registerClusters } from './clusters.ts';
import { registerConnect } from './connect.ts';
import { registerConsole } from './console.ts';
import { registerDelete } from './delete.ts';
import { registerDemo } from './demo.ts';
import { registerDeploy } from './deploy.ts';
import { registerDrift } from './drift.ts';
import { registerEvents } from './events.ts';
import { registerPlacement } from './placement.ts';
import { registerPlan } from './plan.ts';
import { registerRehearse } from './rehearse.ts';
import { registerRollout } from './rollout.ts';
import { registerSchedules } from './schedules.ts';
import { registerSim } from './sim.ts';
import { registerTenancy } from './tenants.ts';
import { registerUp } from './up.ts';

/** Every subcommand registers itself on the program; add new ones here. */
export const commands: ReadonlyArray<(program: Command) => void> = [
  registerUp,
  registerClusters,
  registerConnect,
  registerDeploy,
  registerPlan,
  registerRehearse,
  registerRollout,
  registerPlacement,
  registerDelete,
  registerDemo,
  registerSim,
  registerDrift,
  registerSchedules,
  registerEvents,
  registerConsole,
  registerAgent,
  registerBundle,
  registerTenancy,
];
