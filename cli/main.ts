/**
 * The flotilla command: one program, one subcommand module per verb (cli/commands/*). Every
 * failure is one line on stderr (`flotilla: …`) and a non-zero exit: 1 for an error, 2 when a
 * deploy ran but some clusters failed.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.ts';
import { EXIT_ERROR, oneLine } from './errors.ts';

const program = new Command('flotilla')
  .description('Deploy and keep services running across many Kubernetes clusters at once')
  .showHelpAfterError()
  .exitOverride();

for (const register of commands) register(program);

/** Exit once stdout and stderr are flushed (a pipe may still hold the output). */
function exit(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

try {
  await program.parseAsync(process.argv);
  exit(0);
} catch (error) {
  if (error instanceof CommanderError) exit(error.exitCode);
  else {
    const message = oneLine(error);
    // An exit code that is an answer, not a failure (`plan`: 2 for changes), prints nothing.
    if (message !== '') process.stderr.write(`flotilla: ${message}\n`);
    const code = (error as { exitCode?: unknown }).exitCode;
    exit(typeof code === 'number' && code > 0 ? code : EXIT_ERROR);
  }
}
