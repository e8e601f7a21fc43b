/**
 * `countersign audit verify` and `countersign audit export`: what compliance staff run against the
 * database (read-only, safe while the bot runs) or against an export file.
 */
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import { readCsv, writeCsv } from '../audit/csv';
import { readJsonl, writeJsonl } from '../audit/jsonl';
import type { ExportSummary } from '../audit/output';
import { verifyChain } from '../audit/verify';
import type { AuditRecord } from '../domain/audit';
import { databaseFile } from '../settings';
import { NotACountersignDatabaseError, openSqliteAuditReader, verifySqliteAuditLog } from '../store/sqlite';
import { EXPORT_FORMATS, parseInstant, resolveDataDir } from './audit-options';
import type { ExportFormat } from './audit-options';
import { EXIT_INPUT, verificationExitCode, verificationReport } from './audit-report';

/** Where the commands read and write; tests pass their own. */
export interface AuditCliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  setExitCode(code: number): void;
}

const processIo = (): AuditCliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  setExitCode: (code) => {
    process.exitCode = code;
  },
});

/** A problem the user can fix, reported as one line and exit code 1 (never a stack trace). */
class AuditInputError extends Error {}

interface VerifyOptions {
  dataDir?: string;
  file?: string;
  partial?: boolean;
}

interface ExportOptions {
  dataDir?: string;
  format: ExportFormat;
  from?: string;
  to?: string;
  out?: string;
}

export function registerAuditCommands(program: Command, io: AuditCliIo = processIo()): Command {
  const audit = program.command('audit').description('Verify and export the tamper-evident audit trail');

  audit
    .command('verify')
    .description('Check the audit hash chain of the database, or of an export file; exit 2 when it is damaged')
    .option('--data-dir <dir>', 'data directory holding countersign.db (default: $COUNTERSIGN_DATA_DIR or ./data)')
    .option('--file <export>', 'verify an exported .jsonl (or .csv) file instead of the database')
    .option('--partial', 'the file is a window of the chain (exported with --from): do not require it to start at record 1')
    .action(async (opts: VerifyOptions) => {
      await reportingInputErrors(io, () => verify(opts, io));
    });

  audit
    .command('export')
    .description('Export audit records, in seq order, as JSON Lines or CSV')
    .addOption(new Option('--format <format>', 'jsonl or csv').choices(EXPORT_FORMATS).makeOptionMandatory())
    .option('--from <iso>', 'only records at or after this time (ISO-8601; UTC if no zone)', parseInstant)
    .option('--to <iso>', 'only records before this time (ISO-8601; UTC if no zone)', parseInstant)
    .option('--out <file>', 'write to this file (default: standard output)')
    .option('--data-dir <dir>', 'data directory holding countersign.db (default: $COUNTERSIGN_DATA_DIR or ./data)')
    .action(async (opts: ExportOptions, cmd: Command) => {
      if (opts.from && opts.to && opts.from >= opts.to) {
        cmd.error(`error: --from (${opts.from}) must be before --to (${opts.to})`, { code: 'countersign.audit.range' });
      }
      await reportingInputErrors(io, () => exportRecords(opts, io));
    });

  return audit;
}

async function reportingInputErrors(io: AuditCliIo, run: () => Promise<number>): Promise<void> {
  try {
    io.setExitCode(await run());
  } catch (err) {
    if (!(err instanceof AuditInputError)) throw err;
    io.stderr.write(`error: ${err.message}\n`);
    io.setExitCode(EXIT_INPUT);
  }
}

function requireDatabase(dataDirOption: string | undefined, io: AuditCliIo): string {
  const dataDir = resolveDataDir(dataDirOption, io.env, io.cwd);
  const file = databaseFile(dataDir);
  if (!existsSync(file)) {
    const from = dataDirOption ? '--data-dir' : io.env.COUNTERSIGN_DATA_DIR ? 'COUNTERSIGN_DATA_DIR' : 'the default ./data';
    throw new AuditInputError(`no Countersign database at ${file} (data directory from ${from}); pass --data-dir <dir>`);
  }
  return file;
}

/** A file that is not a Countersign database is the user's input problem, not a crash. */
async function unreadableAsInput<T>(file: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    if (err instanceof NotACountersignDatabaseError) throw new AuditInputError(err.message);
    if ((err as { code?: string }).code === 'SQLITE_NOTADB') throw new AuditInputError(`${file} is not a SQLite database`);
    throw err;
  }
}

async function verify(opts: VerifyOptions, io: AuditCliIo): Promise<number> {
  if (opts.file) {
    const file = path.resolve(io.cwd, opts.file);
    if (!existsSync(file)) throw new AuditInputError(`no export file at ${file}`);
    const records: AsyncIterable<AuditRecord> = file.toLowerCase().endsWith('.csv') ? readCsv(file) : readJsonl(file);
    let result;
    try {
      result = await verifyChain(records, { start: opts.partial ? 'anywhere' : 'genesis' });
    } catch (err) {
      throw new AuditInputError(`cannot read ${file}: ${(err as Error).message}`);
    }
    io.stdout.write(verificationReport(file, result));
    return verificationExitCode(result);
  }
  if (opts.partial) throw new AuditInputError('--partial applies to an export file: use it with --file');
  const db = requireDatabase(opts.dataDir, io);
  const result = await unreadableAsInput(db, () => verifySqliteAuditLog(db));
  io.stdout.write(verificationReport(db, result, result.warnings));
  return verificationExitCode(result, result.warnings);
}

async function exportRecords(opts: ExportOptions, io: AuditCliIo): Promise<number> {
  const db = requireDatabase(opts.dataDir, io);
  const reader = await unreadableAsInput(db, async () => openSqliteAuditReader(db));
  const write = opts.format === 'csv' ? writeCsv : writeJsonl;
  try {
    const records = reader.read({ from: opts.from, to: opts.to });
    let summary: ExportSummary;
    let target: string;
    if (opts.out) {
      target = path.resolve(io.cwd, opts.out);
      if (!existsSync(path.dirname(target))) throw new AuditInputError(`cannot write ${target}: its directory does not exist`);
      summary = await writeFileAtomically(target, (out) => write(records, out));
    } else {
      target = 'standard output';
      summary = await write(records, io.stdout);
    }
    const range = summary.count ? ` (seq ${summary.firstSeq} to ${summary.lastSeq})` : '';
    io.stderr.write(`Exported ${summary.count} audit records${range} as ${opts.format} to ${target}.\n`);
    return 0;
  } finally {
    reader.close();
  }
}

/** Written beside the target and renamed at the end: a failed export never leaves half a file. */
async function writeFileAtomically(target: string, write: (out: Writable) => Promise<ExportSummary>): Promise<ExportSummary> {
  const temp = `${target}.partial-${process.pid}`;
  const out = createWriteStream(temp, { flags: 'wx' });
  try {
    const summary = await write(out);
    out.end();
    await finished(out);
    renameSync(temp, target);
    return summary;
  } catch (err) {
    out.destroy();
    rmSync(temp, { force: true });
    if ((err as NodeJS.ErrnoException).code && (err as NodeJS.ErrnoException).syscall) {
      throw new AuditInputError(`cannot write ${target}: ${(err as Error).message}`);
    }
    throw err;
  }
}
