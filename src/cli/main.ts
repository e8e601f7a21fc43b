/** The `countersign` command line: config check, azure check, audit verify / export, and starting the bot. */
import { Command } from 'commander';
import { registerAuditCommands } from './audit';
import { registerAzureCommands } from './azure';
import { registerConfigCommands } from './config';
import { registerStoreCommands } from './store';

export function buildProgram(): Command {
  const program = new Command('countersign')
    .description('Countersign: two-person approval for Azure operations from Microsoft Teams')
    .showHelpAfterError()
    .exitOverride((err) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
      process.exit(err.exitCode === 0 ? 0 : 64);
    });
  program
    .command('start')
    .description('Start the bot (settings from the environment; see README)')
    .action(async () => {
      // Loaded only here: the bot's HTTP stack is not needed by the audit and config commands.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startCountersign } = require('../main') as typeof import('../main');
      const running = await startCountersign().catch((err: Error) => {
        process.stderr.write(`Countersign did not start: ${err.message}\n`);
        process.exit(1);
      });
      const stop = () => void running.stop().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  registerConfigCommands(program);
  registerAzureCommands(program);
  registerAuditCommands(program);
  registerStoreCommands(program);
  return program;
}

export function run(argv: string[] = process.argv): void {
  buildProgram()
    .parseAsync(argv)
    .catch((err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    });
}

if (require.main === module) run();
