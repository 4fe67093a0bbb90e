/**
 * The flotilla command: one program, one subcommand module per verb (cli/commands/*).
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.ts';

const program = new Command('flotilla')
  .description('Deploy and keep services running across many Kubernetes clusters at once')
  .showHelpAfterError()
  .exitOverride();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`flotilla: ${message}\n`);
  process.exit(1);
}
