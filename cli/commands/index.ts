import type { Command } from 'commander';
import { registerClusters } from './clusters.ts';
import { registerDeploy } from './deploy.ts';

/** Every subcommand registers itself on the program; add new ones here. */
export const commands: ReadonlyArray<(program: Command) => void> = [registerClusters, registerDeploy];
