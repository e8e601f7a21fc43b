/** The `countersign` command line: config check, azure check, audit verify / export, and starting the bot. */
import { Command } from 'commander';
import { registerAuditCommands } from './audit';
import { processIo } from './audit-io';
import { registerAzureCommands } from './azure';
import { registerConfigCommands } from './config';
import { nodeProblem } from '../node-version';
import { readCliSettings, SettingsError, type CliSettings } from '../settings';
import { registerStoreCommands } from './store';
import { exitCodeOf } from './exit-code';
import { checkOptionsBeforeActions } from './option-checks';

/** What the command line receives from its entry point (bin/countersign.js). */
export interface CliEntry {
  /**
   * Runs the bot: src/main.ts's `main` (signals, a fatal store, exit codes), handed in by the entry
   * point so that the CLI never imports the composition root, and the bot's HTTP stack is loaded only
   * by `countersign start`.
   */
  start(): Promise<void>;
}

export function buildProgram(entry: CliEntry, settings: CliSettings = readCliSettings()): Command {
  const program = new Command('countersign')
    .description('Countersign: two-person approval for Azure operations from Microsoft Teams')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(exitCodeOf(err)));
  program
    .command('start')
    .description('Start the bot: settings from the environment (docs/operations.md), the config from $COUNTERSIGN_CONFIG or config/countersign.example.yaml')
    .action(() => entry.start());
  registerConfigCommands(program, settings);
  registerAzureCommands(program, settings);
  registerAuditCommands(program, processIo(settings));
  registerStoreCommands(program, processIo(settings));
  checkOptionsBeforeActions(program);
  return program;
}

export function run(entry: CliEntry, argv: string[] = process.argv): void {
  // First: on another Node the database driver fails to load, advising a rebuild for that Node.
  const wrongNode = nodeProblem();
  if (wrongNode) {
    process.stderr.write(`countersign: ${wrongNode}\n`);
    process.exit(1);
  }
  const fail = (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  };
  let program: Command;
  try {
    // The environment is read first: a variable meant for Countersign that it does not read stops every command, named.
    program = buildProgram(entry);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    return fail(err);
  }
  program.parseAsync(argv).catch(fail);
}

