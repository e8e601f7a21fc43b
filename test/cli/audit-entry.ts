/** A minimal `countersign` with only the audit commands, for the CLI tests that run a real process. */
import { Command } from 'commander';
import { registerAuditCommands } from '../../src/cli/audit';

// Only when run as a program: mocha loads every file under test/ and must not start it.
if (require.main === module) {
  const program = new Command('countersign');
  registerAuditCommands(program);
  program.parseAsync(process.argv).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
