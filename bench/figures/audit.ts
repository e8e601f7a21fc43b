/**
 * Figures 3 to 5: the audit log. Appends against raw SQLite with the same durability; verification
 * against reading the same rows and SHA-256 of each, in one thread; exports of a large log, each command in a process of its
 * own so that its peak resident set is its own.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { databaseFile } from '../../src/settings';
import { shippedCliNodeOptions, startChild, type Message } from '../lib/proc';

interface Rate extends Message {
  count: number;
  seconds: number;
  perSecond: number;
}

async function once<T extends Message>(script: string, message: Message, reply: string, timeoutMs = 900_000): Promise<T> {
  const child = startChild(script);
  try {
    await child.next('spawned', 60_000);
    return await child.request<T>(message, reply, timeoutMs);
  } finally {
    await child.stop();
  }
}

export interface AppendFigure {
  product: Rate;
  baseline: Rate;
  /** Diagnostic: the floor with each row sealed just before its insert. */
  sealInline: Rate;
}

/** Product and floor alternate (best of `rounds` each), each on a fresh database. */
export async function runAppend(work: string, count: number, rounds: number): Promise<AppendFigure> {
  const best: Partial<Record<'baseline' | 'sealInline' | 'product', Rate>> = {};
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['baseline', 'sealInline', 'product'] as const) {
      const dir = fs.mkdtempSync(path.join(work, `append-${mode}-`));
      const r = await once<Rate>('audit-append.ts', { type: 'run', mode, dir, count, concurrency: 50 }, 'result');
      fs.rmSync(dir, { recursive: true, force: true });
      if (!best[mode] || r.perSecond > best[mode].perSecond) best[mode] = r;
    }
  }
  return { product: best.product!, baseline: best.baseline!, sealInline: best.sealInline! };
}

export async function buildDataSet(dataDir: string, records: number, pending: number): Promise<number> {
  fs.mkdirSync(dataDir, { recursive: true });
  const r = await once<Message & { seconds: number }>('build-audit-db.ts', { type: 'build', dataDir, records, pending }, 'built', 1_800_000);
  return r.seconds;
}

export interface CliRun {
  code: number;
  /** From the command's start to its end, inside the process. */
  commandSeconds: number;
  /** From spawning the process to its exit (Node and tsx start included). */
  wallSeconds: number;
  maxRssMb: number;
}

/** Runs `countersign <args>` in a process of its own (bench/children/cli.ts) with the command's own Node options, `env` added to its environment. */
async function runCli(args: string[], resultFile: string, env: Record<string, string> = {}): Promise<CliRun> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [...shippedCliNodeOptions(), '--import', 'tsx', path.resolve(__dirname, '..', 'children', 'cli.ts')], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env, BENCH_CLI_ARGS: JSON.stringify(args), BENCH_RESULT_FILE: resultFile },
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => resolve());
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const r = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as Omit<CliRun, 'wallSeconds'>;
  fs.rmSync(resultFile, { force: true });
  if (r.code !== 0) throw new Error(`countersign ${args.join(' ')} exited with ${r.code}`);
  return { ...r, wallSeconds };
}

export interface VerifyFigure {
  product: CliRun & { perSecond: number };
  baseline: Rate;
}

/**
 * The product (`countersign audit verify`) and the floor (hash-floor.ts) turn about, twice each, so
 * that both meet the same state of the machine's file cache (it reclaims cached pages on its own);
 * the figure is the best of each.
 */
export async function runVerify(work: string, dataDir: string, records: number): Promise<VerifyFigure> {
  let product: VerifyFigure['product'] | undefined;
  let baseline: VerifyFigure['baseline'] | undefined;
  for (let round = 0; round < 2; round++) {
    const cli = await runCli(['audit', 'verify', '--data-dir', dataDir], path.join(work, 'verify.json'));
    if (!product || cli.commandSeconds < product.commandSeconds) product = { ...cli, perSecond: records / cli.commandSeconds };
    const floor = await once<Rate>('hash-floor.ts', { type: 'run', dataDir, limit: records }, 'result');
    if (!baseline || floor.perSecond > baseline.perSecond) baseline = floor;
  }
  return { product: product!, baseline: baseline! };
}

export interface ExportFigure {
  jsonl: CliRun & { bytes: number };
  csv: CliRun & { bytes: number };
  /** Reading the stored text and writing it to a file, nothing else (export-floor.ts). */
  floor: Rate & { bytes: number; maxRssMb: number; uptimeSeconds: number };
}

export async function runExports(work: string, dataDir: string): Promise<ExportFigure> {
  const out: Partial<ExportFigure> = {};
  out.floor = await once<ExportFigure['floor']>('export-floor.ts', { type: 'run', dataDir, file: path.join(work, 'floor.jsonl') }, 'result');
  for (const format of ['jsonl', 'csv'] as const) {
    const file = path.join(work, `export.${format}`);
    const run = await runCli(['audit', 'export', '--format', format, '--out', file, '--data-dir', dataDir], path.join(work, `export-${format}.json`));
    out[format] = { ...run, bytes: fs.statSync(file).size };
    fs.rmSync(file, { force: true });
  }
  return out as ExportFigure;
}

export interface PostgresAuditFigure {
  /** `countersign store migrate --from` the SQLite data set: how the PostgreSQL database was filled (copy and its verification). */
  migrate: CliRun;
  verify?: CliRun & { perSecond: number };
  jsonl?: CliRun & { bytes: number };
  csv?: CliRun & { bytes: number };
}

/**
 * Verification and exports from PostgreSQL: the SQLite data set is moved into the fresh database
 * `databaseUrl` with `countersign store migrate` (the same records, seq and bytes), then the same
 * commands as for SQLite run with COUNTERSIGN_STORE=postgres, each in a process of its own.
 */
export async function runPostgresAudit(work: string, dataDir: string, records: number, databaseUrl: string, what: { verify: boolean; export: boolean }): Promise<PostgresAuditFigure> {
  const env = { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: databaseUrl };
  const migrate = await runCli(['store', 'migrate', '--from', databaseFile(dataDir)], path.join(work, 'pg-migrate.json'), env);
  const out: PostgresAuditFigure = { migrate };
  if (what.verify) {
    const cli = await runCli(['audit', 'verify', '--data-dir', dataDir], path.join(work, 'pg-verify.json'), env);
    out.verify = { ...cli, perSecond: records / cli.commandSeconds };
  }
  if (what.export) {
    for (const format of ['jsonl', 'csv'] as const) {
      const file = path.join(work, `pg-export.${format}`);
      const run = await runCli(['audit', 'export', '--format', format, '--out', file, '--data-dir', dataDir], path.join(work, `pg-export-${format}.json`), env);
      out[format] = { ...run, bytes: fs.statSync(file).size };
      fs.rmSync(file, { force: true });
    }
  }
  return out;
}
