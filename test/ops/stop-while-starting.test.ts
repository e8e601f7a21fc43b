/**
 * A stop signal while Countersign starts (`node --import tsx src/main.ts` in its own process): a
 * platform restart during a long catch-up, or while the start waits for a lock, ends in a clean stop
 * with exit code 0 within the stop's bound, not in a kill by the signal.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { verifyChain } from '../../src/audit/verify/verify';
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/schema-versions';
import { EXAMPLE_CONFIG } from '../support/people';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { eventually } from '../support/teams';
import { aRequest, anEvent, requestRef } from '../store/fixtures';
import { CrashRig } from '../crash/support';
import { launchCountersign, spawnCountersign, type CountersignProcess } from './child';

/** Whether the process has `file` open (Linux: its /proc/<pid>/fd). */
function hasOpen(pid: number, file: string): boolean {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === path.resolve(file);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** The stop's documented bound (docs/operations.md#shutdown). */
const STOP_BOUND_MS = 28_000;
/** PostgreSQL's migration lock (src/store/postgres/migrations.ts). */
const MIGRATION_LOCK = '4771034112001';

describe('a stop signal while starting (Countersign in its own process)', function () {
  this.timeout(180_000);
  let dataDir: string;
  let bot: CountersignProcess | undefined;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-boot-'));
  });
  afterEach(async () => {
    bot?.kill();
    await bot?.exited;
    bot = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const env = (more: Record<string, string> = {}) => ({ COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_CONFIG: EXAMPLE_CONFIG, LOG_LEVEL: 'info', ...more });

  /** A first start and stop: the database, its signing key and checkpoints, as a deployment has them. */
  async function startAndStop(more: Record<string, string> = {}): Promise<void> {
    const first = await spawnCountersign(env(more));
    first.child.kill('SIGTERM');
    assert.deepEqual(await first.exited, { code: 0, signal: null });
  }

  /** SIGTERM now: the exit, and how long after the signal it came. */
  async function terminate(p: CountersignProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const sent = performance.now();
    p.child.kill('SIGTERM');
    const exit = await p.exited;
    return { ...exit, ms: performance.now() - sent };
  }

  async function seedOverdue(count: number, dir = dataDir): Promise<string[]> {
    const store = await openSqliteStore({ file: databaseFile(dir), writer: 'inline' });
    const now = Date.now();
    const ids = Array.from({ length: count }, (_, i) => `CS-${1000 + i}`);
    try {
      for (const id of ids) {
        const time = new Date(now - 7_200_000).toISOString();
        await store.requests.insert(aRequest(id, { createdAt: time, updatedAt: time, expiresAt: new Date(now - 60_000).toISOString() }), [
          anEvent('request.created', { time: new Date().toISOString(), request: requestRef(id) }),
        ]);
      }
    } finally {
      await store.close();
    }
    return ids;
  }

  function expiredCounts(dir = dataDir): { expired: number; twice: number } {
    const db = new Database(databaseFile(dir), { readonly: true });
    try {
      const expired = (db.prepare("SELECT COUNT(*) FROM requests WHERE state = 'expired'").pluck().get() as number) ?? 0;
      const twice = (db.prepare("SELECT COUNT(*) FROM (SELECT request_id FROM audit_log WHERE type = 'request.expired' GROUP BY request_id HAVING COUNT(*) > 1)").pluck().get() as number) ?? 0;
      return { expired, twice };
    } finally {
      db.close();
    }
  }

  async function chainVerifies(dir = dataDir): Promise<void> {
    const store = await openSqliteStore({ file: databaseFile(dir), writer: 'inline' });
    try {
      const chain = await verifyChain(store.audit.read());
      assert.equal(chain.ok, true, JSON.stringify(chain));
    } finally {
      await store.close();
    }
  }

  it('stops cleanly, at any moment of a start catching up on a large overdue backlog, and the next start finishes the rest once', async () => {
    await startAndStop();
    const backlog = await seedOverdue(1500);

    // As soon as it opened the database (its checks, its first writes): before it listens, or just after.
    bot = launchCountersign(env());
    const child = bot.child;
    // Elsewhere than Linux, a moment after the launch.
    if (fs.existsSync('/proc/self/fd')) await eventually('the database opened', () => hasOpen(child.pid!, databaseFile(dataDir)), 60_000);
    else await sleep(1_500);
    const early = await terminate(bot);
    assert.deepEqual({ code: early.code, signal: early.signal }, { code: 0, signal: null }, bot.stderr.join(''));
    assert.ok(early.ms < STOP_BOUND_MS, `exited ${Math.round(early.ms)} ms after the signal`);
    const said = bot.stderr.join('');
    assert.ok(/Countersign stopped while starting \(SIGTERM\)/.test(said) || bot.lines().some((l) => l.msg === 'Countersign stopped'), said);

    // While catching up: listening already, requests being expired one at a time.
    bot = launchCountersign(env());
    await eventually('catch-up under way', () => expiredCounts().expired > 50, 60_000);
    const during = await terminate(bot);
    assert.deepEqual({ code: during.code, signal: during.signal }, { code: 0, signal: null }, bot.stderr.join(''));
    assert.ok(during.ms < STOP_BOUND_MS, `exited ${Math.round(during.ms)} ms after the signal`);
    const lines = bot.lines().map((l) => l.msg);
    assert.ok(lines.includes('stopping') && lines.includes('Countersign stopped'), lines.join(' | '));
    assert.ok(!lines.includes('audit checkpoint at shutdown failed'), lines.join(' | '));
    const cut = expiredCounts().expired;
    assert.ok(cut < backlog.length, `the catch-up was cut short (${cut} of ${backlog.length} expired)`);

    // The next start expires the rest, each once.
    bot = await spawnCountersign(env());
    assert.equal(expiredCounts().expired, backlog.length);
    const last = await terminate(bot);
    assert.equal(last.code, 0);
    assert.equal(expiredCounts().twice, 0, 'no request expired twice');
    await chainVerifies();
  });

  it('stopped while catching up, hands back the executions the catch-up claimed: their lease released, each sent to ARM once', async () => {
    const rig = await CrashRig.create();
    try {
      await rig.start();
      const restart = await rig.ask('vm restart batch-worker-01');
      // Approved, but its start stalls on reading the target: killed then, it stays approved, unclaimed.
      rig.sandbox.faults.stall({ method: 'GET', pathContains: '/virtualMachines/batch-worker-01', ms: 30_000 });
      await rig.approve(restart.cardId);
      await sleep(1_000);
      assert.equal(rig.request(restart.requestId)?.state, 'approved');
      await rig.kill();
      const backlog = await seedOverdue(1500, rig.dataDir);

      // The next start claims it first thing while catching up; ARM takes longer than the stop's grace.
      rig.sandbox.timing.operationMs = 40_000;
      const p = rig.launch({ COUNTERSIGN_EXECUTION_LEASE: '60s' });
      await eventually('the execution claimed and sent to ARM', () => rig.writes('/batch-worker-01/restart').length === 1, 60_000);
      await eventually('catch-up under way', () => expiredCounts(rig.dataDir).expired > 50, 60_000);
      const stopped = await terminate(p);
      rig.bot = undefined;
      const exitAt = Date.now();
      assert.deepEqual({ code: stopped.code, signal: stopped.signal }, { code: 0, signal: null }, p.stderr.join(''));
      assert.ok(stopped.ms < STOP_BOUND_MS, `exited ${Math.round(stopped.ms)} ms after the signal`);
      assert.ok(expiredCounts(rig.dataDir).expired < backlog.length, 'the catch-up was cut short');
      const handedBack = rig.request(restart.requestId);
      assert.equal(handedBack?.state, 'executing');
      const lease = handedBack?.execution?.lease;
      assert.ok(lease && Date.parse(lease.expiresAt) <= exitAt, `lease released, not held for 60 s: ${JSON.stringify(lease)}`);

      // The next start takes it over at once and follows the same ARM operation: sent once.
      await rig.start();
      const done = await rig.until(restart.requestId, ['succeeded', 'failed', 'unknown'], 60_000);
      assert.equal(done.state, 'succeeded', done.outcomeDetail);
      assert.equal(done.execution?.resumedAt?.length, 1, 'taken over once');
      assert.deepEqual(rig.writes('/batch-worker-01/restart'), ['POST 202']);
      await eventually('the rest of the backlog expired', () => expiredCounts(rig.dataDir).expired === backlog.length, 60_000);
      await rig.stop();
      assert.equal(expiredCounts(rig.dataDir).twice, 0, 'no request expired twice');
      await chainVerifies(rig.dataDir);
    } finally {
      await rig.close();
    }
  });

  it('ends a start waiting for the SQLite write lock within the lock wait, with exit code 0', async () => {
    await startAndStop();
    const holder = new Database(databaseFile(dataDir));
    holder.exec('BEGIN IMMEDIATE');
    try {
      bot = launchCountersign(env({ COUNTERSIGN_STORE_LOCK_WAIT: '4s' }));
      await sleep(1500);
      const stopped = await terminate(bot);
      assert.deepEqual({ code: stopped.code, signal: stopped.signal }, { code: 0, signal: null }, bot.stderr.join(''));
      assert.ok(stopped.ms < 4_000 + 3_000, `exited ${Math.round(stopped.ms)} ms after the signal`);
      assert.match(bot.stderr.join(''), /Countersign stopped while starting \(SIGTERM\)/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    // Nothing was left half done: the next start starts.
    bot = await spawnCountersign(env());
    assert.equal((await terminate(bot)).code, 0);
    await chainVerifies();
  });

  describe('on PostgreSQL', () => {
    let db: TestDatabase;
    before(async () => {
      db = await createTestDatabase();
    });
    after(async () => {
      await db.drop();
    });

    it('ends a start waiting for the migration lock at once, lets go of the database, and the next start migrates', async () => {
      const pgEnv = { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: db.url };
      await startAndStop(pgEnv);
      // As an instance migrating to the last version: it holds the migration lock, the schema one version short.
      const last = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1];
      const c = await db.superuser();
      try {
        await c.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
        await c.query('DELETE FROM schema_migrations WHERE version = $1', [last.version]);
        bot = launchCountersign(env(pgEnv));
        await sleep(4_000);
        assert.equal(bot.child.exitCode, null, `still starting: ${bot.stderr.join('')}`);
        const stopped = await terminate(bot);
        assert.deepEqual({ code: stopped.code, signal: stopped.signal }, { code: 0, signal: null }, bot.stderr.join(''));
        assert.ok(stopped.ms < 3_000, `exited ${Math.round(stopped.ms)} ms after the signal`);
        assert.match(bot.stderr.join(''), /Countersign stopped while starting \(SIGTERM\)/);
        const others = await c.query("SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
        assert.equal(others.rows[0].n, 0, 'no connection of the stopped start left');
        await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [last.version, last.name]);
        await c.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`);
      } finally {
        await c.end();
      }
      bot = await spawnCountersign(env(pgEnv));
      assert.equal((await terminate(bot)).code, 0);
    });
  });
});
