/** A minimal `countersign` with only the audit and store commands, for the CLI tests that run a real process. */
import { Command } from 'commander';
import { registerAuditCommands } from '../../src/cli/audit';
import { registerStoreCommands } from '../../src/cli/store';

// Only when run as a program: mocha loads every file under test/ and must not start it.
if (require.main === module) {
  const program = new Command('countersign');
  registerAuditCommands(program);
  registerStoreCommands(program);
  program.parseAsync(process.argv).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
