/**
 * `npm run bench` (full, a few minutes) or `npm run bench -- --quick` (a smoke run of the same code
 * paths with small counts). Every figure is measured against its floor in the same run; the table
 * is printed and bench/results.json written. See bench/README.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildDataSet, runAppend, runExports, runPostgresAudit, runVerify, type ExportFigure, type VerifyFigure } from './figures/audit';
import { createBenchDatabase, runPostgresAppend } from './figures/postgres';
import { runScale } from './figures/scale';
import { runSoak } from './figures/soak';
import { runTeamsFigure } from './figures/teams';
import type { LoadResult } from './children/load';
import { formatTable, isMet, type Figure } from './lib/report';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');

const plan = quick
  ? { warmup: 1, seconds: 2, rounds: 1, appends: 3000, appendRounds: 1, records: 20_000, pending: 500, messages: 10, pgPool: 1500, soak: 1000 }
  : { warmup: 3, seconds: 10, rounds: 2, appends: 50_000, appendRounds: 2, records: 1_000_000, pending: 10_000, messages: 300, pgPool: 8000, soak: 200_000 };
// --soak=<n>: another soak count (the full one takes long).
const soakCount = Number(process.argv.find((a) => a.startsWith('--soak='))?.slice('--soak='.length) ?? plan.soak);

const wanted = (name: string) => !only || only.includes(name);

/** Figure 1's realistic load: four times the roughly 50 requests a second Teams allows an app per tenant. */
const CLICK_RATE = 200;

/** Exports against the page-copy floor: JSON Lines within 1.3x of its time, CSV (re-encoded) within 1.6x. */
const EXPORT_WITHIN = { jsonl: 1.3, csv: 1.6 } as const;

const round2 = (v: number) => Math.round(v * 100) / 100;

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-bench-'));
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  const step = (what: string) => process.stderr.write(`bench: ${what}\n`);
  let sqliteClickFloor: LoadResult | undefined;
  try {
    if (wanted('approve')) {
      step('1. approve click under load');
      const r = await runTeamsFigure({ kind: 'approve', connections: 50, warmupSeconds: plan.warmup, seconds: plan.seconds, rounds: plan.rounds });
      details.approve = r;
      sqliteClickFloor = r.baseline;
      figures.push(
        { name: 'Approve click: throughput', value: r.product.rps, unit: 'req/s', baseline: r.baseline.rps, target: { ratio: '>=', limit: 0.5 } },
        { name: 'Approve click: p50', value: r.product.p50, unit: 'ms', baseline: r.baseline.p50 },
        { name: 'Approve click: p99', value: r.product.p99, unit: 'ms', baseline: r.baseline.p99 },
      );
      step(`1. approve click, open-loop at ${CLICK_RATE} clicks/s`);
      const o = await runTeamsFigure({ kind: 'approve', connections: 0, rate: CLICK_RATE, warmupSeconds: plan.warmup, seconds: plan.seconds, rounds: plan.rounds });
      details.approveOpenLoop = o;
      figures.push(
        { name: `Approve click at ${CLICK_RATE}/s: p50`, value: o.product.p50, unit: 'ms', baseline: o.baseline.p50, target: { value: '<=', limit: round2(1.5 * o.baseline.p50) } },
        { name: `Approve click at ${CLICK_RATE}/s: p99`, value: o.product.p99, unit: 'ms', baseline: o.baseline.p99, target: { value: '<=', limit: round2(2 * o.baseline.p99) } },
      );
    }
    if (wanted('pg-approve')) {
      step('1b. approve click under load, the product on PostgreSQL');
      // Skipped, saying so, when no PostgreSQL answers; otherwise every round gets a fresh database.
      const probe = await createBenchDatabase(step, 'PostgreSQL approve click');
      if (probe) {
        await probe.drop();
        const postgres = async () => {
          const db = await createBenchDatabase(step, 'PostgreSQL approve click');
          if (!db) throw new Error('PostgreSQL went away during the run');
          return db;
        };
        const r = await runTeamsFigure({ kind: 'approve', connections: 50, warmupSeconds: plan.warmup, seconds: plan.seconds, rounds: plan.rounds, postgres, maxPool: plan.pgPool, ...(quick && sqliteClickFloor ? { floor: sqliteClickFloor } : {}) });
        details.pgApprove = r;
        figures.push(
          { name: 'Approve click on PostgreSQL: throughput', value: r.product.rps, unit: 'req/s', baseline: r.baseline.rps, target: { ratio: '>=', limit: 0.5 } },
          { name: 'Approve click on PostgreSQL: p50', value: r.product.p50, unit: 'ms', baseline: r.baseline.p50 },
          { name: 'Approve click on PostgreSQL: p99', value: r.product.p99, unit: 'ms', baseline: r.baseline.p99 },
        );
      }
    }
    if (wanted('request')) {
      step('2. new request under load');
      const r = await runTeamsFigure({ kind: 'message', connections: 50, warmupSeconds: plan.warmup, seconds: plan.seconds, rounds: plan.rounds });
      details.request = r;
      figures.push(
        { name: 'New request: throughput', value: r.product.rps, unit: 'req/s', baseline: r.baseline.rps, target: { ratio: '>=', limit: 0.5 } },
        { name: 'New request: p50', value: r.product.p50, unit: 'ms', baseline: r.baseline.p50 },
        { name: 'New request: p99', value: r.product.p99, unit: 'ms', baseline: r.baseline.p99 },
      );
    }
    if (wanted('append')) {
      step('3. durable audit append, 50 appenders');
      const r = await runAppend(work, plan.appends, plan.appendRounds);
      details.append = r;
      figures.push({ name: 'Audit append (durable, 50 appenders)', value: r.product.perSecond, unit: 'appends/s', baseline: r.baseline.perSecond, target: { ratio: '>=', limit: 0.8 } });
    }
    if (wanted('pg-append')) {
      step('3b. durable audit append on PostgreSQL, 50 appenders in two processes');
      const r = await runPostgresAppend(plan.appends, plan.appendRounds, step);
      if (r) {
        details.pgAppend = r;
        figures.push({ name: 'Audit append on PostgreSQL (durable, 2 processes x 25 appenders)', value: r.product.perSecond, unit: 'appends/s', baseline: r.baseline.perSecond, target: { ratio: '>=', limit: 0.5 } });
      }
    }
    // The PostgreSQL verify and export figures are measured against the SQLite ones of the same run, so those run too.
    const pgVerify = wanted('pg-verify');
    const pgExport = wanted('pg-export');
    if (wanted('verify') || wanted('export') || pgVerify || pgExport) {
      step(`building an audit log of ${plan.records} records`);
      const dataDir = path.join(work, 'audit');
      details.buildSeconds = await buildDataSet(dataDir, plan.records, 0);
      let verify: VerifyFigure | undefined;
      let exported: ExportFigure | undefined;
      if (wanted('verify') || pgVerify) {
        step('4. audit verify');
        verify = await runVerify(work, dataDir, plan.records);
        details.verify = verify;
        figures.push({ name: `Audit verify (${plan.records} records)`, value: verify.product.perSecond, unit: 'records/s', baseline: verify.baseline.perSecond, target: { ratio: '>=', limit: 0.8 } });
      }
      if (wanted('export') || pgExport) {
        step('5. audit export');
        exported = await runExports(work, dataDir);
        details.export = exported;
        for (const format of ['jsonl', 'csv'] as const) {
          const label = format === 'jsonl' ? 'JSON Lines' : 'CSV';
          figures.push(
            { name: `Export ${plan.records} records, ${label}: time`, value: exported[format].wallSeconds, unit: 's', baseline: exported.floor.uptimeSeconds, target: { value: '<=', limit: round2(EXPORT_WITHIN[format] * exported.floor.uptimeSeconds) } },
            { name: `Export ${plan.records} records, ${label}: peak RSS`, value: exported[format].maxRssMb, unit: 'MB', baseline: exported.floor.maxRssMb, target: { value: '<=', limit: 200 } },
          );
        }
      }
      if (pgVerify || pgExport) {
        step('4b/5b. audit verify and export from PostgreSQL');
        const db = await createBenchDatabase(step, 'PostgreSQL verify and export');
        if (db) {
          try {
            const r = await runPostgresAudit(work, dataDir, plan.records, db.url, { verify: pgVerify, export: pgExport });
            details.pgAudit = r;
            // The floor of each is the SQLite figure of this run; the target is within 2x of it.
            if (r.verify && verify) {
              figures.push({ name: `Audit verify on PostgreSQL (${plan.records} records)`, value: r.verify.perSecond, unit: 'records/s', baseline: verify.product.perSecond, target: { ratio: '>=', limit: 0.5 } });
              figures.push({ name: `Audit verify on PostgreSQL: peak RSS`, value: r.verify.maxRssMb, unit: 'MB', baseline: verify.product.maxRssMb, target: { value: '<=', limit: 200 } });
            }
            for (const format of ['jsonl', 'csv'] as const) {
              const run = r[format];
              if (!run || !exported) continue;
              const label = format === 'jsonl' ? 'JSON Lines' : 'CSV';
              figures.push(
                { name: `Export ${plan.records} records from PostgreSQL, ${label}: time`, value: run.wallSeconds, unit: 's', baseline: exported[format].wallSeconds, target: { value: '<=', limit: Math.round(200 * exported[format].wallSeconds) / 100 } },
                { name: `Export ${plan.records} records from PostgreSQL, ${label}: peak RSS`, value: run.maxRssMb, unit: 'MB', baseline: exported[format].maxRssMb, target: { value: '<=', limit: Math.min(200, Math.round(2 * exported[format].maxRssMb)) } },
              );
            }
          } finally {
            await db.drop();
          }
        }
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    if (wanted('scale')) {
      step(`6. scale: ${plan.pending} pending requests`);
      const r = await runScale(work, plan.pending, plan.messages);
      details.scale = r;
      figures.push(
        { name: `Bot with ${plan.pending} pending: peak RSS`, value: r.peakRssMb, unit: 'MB', target: { value: '<=', limit: 300 } },
        { name: `Bot with ${plan.pending} pending: start to ready`, value: r.startToReadySeconds, unit: 's', baseline: r.bareStartSeconds, target: { value: '<=', limit: round2(1.5 * r.bareStartSeconds) } },
      );
    }
    if (wanted('soak')) {
      step(`7. soak: ${soakCount} requests over 1000 conversations`);
      const dir = path.join(work, 'soak');
      fs.mkdirSync(dir);
      const r = await runSoak(dir, soakCount, 1000);
      details.soak = r;
      figures.push(
        { name: `Soak of ${soakCount} requests: RSS at the end`, value: r.rssAtEndMb, unit: 'MB', baseline: r.rssAtCheckpointMb, target: { value: '<=', limit: round2(1.2 * r.rssAtCheckpointMb) } },
        { name: `Soak of ${soakCount} requests: audit bytes per request`, value: r.auditBytesPerRequest, unit: 'B' },
      );
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const results = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    figures: figures.map(withRatio),
    details,
  };
  fs.writeFileSync(path.join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${formatTable(results.figures)}\n`);
  process.stdout.write(`Written to bench/results.json (${results.mode} run, ${results.date}).\n`);
}

function withRatio(f: Figure): Figure {
  // A ratio for rates only: for times and sizes the floor is shown for comparison.
  const ratio = f.baseline !== undefined && f.unit.endsWith('/s') ? f.value / f.baseline : undefined;
  const out: Figure = { ...f, ...(ratio !== undefined ? { ratio } : {}) };
  const met = isMet(out);
  return met === undefined ? out : { ...out, met };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
