/** Runs `countersign audit ...` (and `store ...`) in-process, with its output captured and commander errors turned into the exit code the command line gives them. */
import { Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { registerAuditCommands } from '../../src/cli/audit';
import { registerStoreCommands } from '../../src/cli/store';
import { exitCodeOf } from '../../src/cli/exit-code';
import { checkOptionsBeforeActions } from '../../src/cli/option-checks';
import { readCliSettings } from '../../src/settings';
import type { AuditCliIo } from '../../src/cli/audit';

export class Capture extends Writable {
  text = '';
  constructor(readonly isTTY = false) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function audit(args: string[], env: NodeJS.ProcessEnv = {}, cwd = process.cwd(), options: { tty?: boolean } = {}): Promise<Run> {
  const stdout = new Capture();
  const stderr = new Capture(options.tty ?? false);
  let code = 0;
  const io: AuditCliIo = { stdout, stderr, settings: readCliSettings(env), cwd, setExitCode: (c) => (code = c), operator: 'compliance@test-host' };
  const program = new Command('countersign').exitOverride().configureOutput({
    writeOut: (s) => stdout.write(s),
    writeErr: (s) => stderr.write(s),
  });
  registerAuditCommands(program, io);
  checkOptionsBeforeActions(program);
  try {
    await program.parseAsync(['audit', ...args], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    code = exitCodeOf(err);
  }
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Runs `countersign store ...` in-process, as `audit` runs the audit commands. */
export async function storeCommand(args: string[], env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): Promise<Run> {
  const stdout = new Capture();
  const stderr = new Capture();
  let code = 0;
  const io: AuditCliIo = { stdout, stderr, settings: readCliSettings(env), cwd, setExitCode: (c) => (code = c), operator: 'ops@test-host' };
  const program = new Command('countersign').exitOverride().configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) });
  registerStoreCommands(program, io);
  checkOptionsBeforeActions(program);
  try {
    await program.parseAsync(['store', ...args], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    code = exitCodeOf(err);
  }
  return { code, stdout: stdout.text, stderr: stderr.text };
}
