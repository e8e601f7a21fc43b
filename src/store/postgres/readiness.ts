/**
 * Readiness that tells the truth about PostgreSQL: can a write go through now? A read-write session
 * answering is not enough: while another session holds a lock writes need (an operator's `LOCK
 * TABLE`, a stuck transaction), every write waits out COUNTERSIGN_STORE_LOCK_WAIT and fails. So the
 * probe also asks for the writers' table locks without waiting (`LOCK TABLE ... NOWAIT`, rolled
 * back), looks for another session holding the audit chain's advisory lock (pg_locks), and looks at
 * how the last writes ended, as SQLite's readiness does.
 */
import type pg from 'pg';
import { explainConnectionError, type PostgresConnectionOptions } from './connection';
import { CHAIN_LOCK_NAME, describeHolder, isLockTimeout, isPoolTimeout, lockHolders, type LockHolder } from './lock-wait';
import type { PgWriter } from './transactions';
import { POSTGRES_MIGRATIONS } from './schema-versions';
import { missingPrivileges, privilegeRemedy } from './privileges';
import { CHAIN_LOCK, READ_HEAD } from './chain-append';
import { missingFromSchema } from './writer-stops';
import { isConnectionError } from './tx';
import { RequestWitness } from '../request-witness';
import { lostRequest } from './requests';

/**
 * How far this host's clock may be from the database's. Each instance decides expiry, approvals' and
 * scheduled runs' times and break-glass windows by its own clock: one 10 minutes behind approved
 * expired requests, one 2 hours ahead expired pending ones early and counted past maxUses.
 */
export const MAX_CLOCK_SKEW_MS = 5000;

/** One reading of the clocks: how far `clock` is from the database's (ms, positive when this host is ahead, at the round trip's middle), and the round trip. */
export interface ClockReading {
  skewMs: number;
  roundTripMs: number;
}

export async function readClocks(client: Pick<pg.PoolClient, 'query'>, clock: () => number = Date.now): Promise<ClockReading> {
  const before = clock();
  const db = Number((await client.query<{ ms: number }>('SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS ms')).rows[0]?.ms);
  const after = clock();
  return { skewMs: (before + after) / 2 - db, roundTripMs: after - before };
}

/**
 * The skew in words when it is past MAX_CLOCK_SKEW_MS for certain, else undefined: the database read
 * its clock somewhere in the round trip, so half of it is doubt (a slow answer is not a wrong clock).
 */
export function skewProblem(reading: ClockReading): string | undefined {
  const { skewMs, roundTripMs } = reading;
  if (!(Math.abs(skewMs) - roundTripMs / 2 > MAX_CLOCK_SKEW_MS)) return undefined;
  return `this host's clock is ${(Math.abs(skewMs) / 1000).toFixed(1)} s ${skewMs > 0 ? 'ahead of' : 'behind'} the database's (at most ${MAX_CLOCK_SKEW_MS / 1000} s): every instance decides expiry, approvals and break-glass limits by its own clock, so several instances must agree on the time; synchronise this host's clock (NTP)`;
}

export interface PostgresReadinessOptions {
  /** This host's clock (tests move it). */
  clock?: () => number;
  /** After a write gave up waiting for a lock, not ready for this long unless a write commits (ms, default 2000). */
  failureHoldMs?: number;
  /**
   * After a write the server cancelled under a statement_timeout shorter than the lock wait, or
   * refused for a fault of its own (SQLSTATE class 53, 58 or XX), not ready for this long unless a
   * write commits (or, for the statement_timeout, the setting goes) (ms, default 60000): each write
   * refused so again starts it again (cancelledProblem, serverFaultProblem).
   */
  cancelledHoldMs?: number;
  /** How long the probe waits for a free connection of the pool before it answers not ready (ms, default 1000). */
  connectionWaitMs?: number;
  /** The store's connection: a new connection the server refused is told as the start tells it (explainConnectionError). */
  connection?: PostgresConnectionOptions;
  /**
   * How long the probe waits for the database's answers, its connection included, before it answers
   * not ready (ms, default 5000): a network that drops packets leaves a query unanswered for many minutes.
   */
  answerWaitMs?: number;
}

export interface Readiness {
  ok: boolean;
  /** Why not, in words. */
  problem?: string;
}

/**
 * The tables the writes take ROW EXCLUSIVE on: every request write (an approval updates one and
 * appends to the others), card_messages, where every click's card is bound and claimed, and
 * dialog_state, which every message's turn reads and writes (help included).
 */
const WRITER_TABLES = 'requests, request_versions, audit_log, card_messages, dialog_state';
const WRITER_TABLE_LOCKS = new Set(WRITER_TABLES.split(', ').map((t) => `the table ${t}`));

/** What an operator looks at for a server fault of SQLSTATE `code`, in words. */
function serverFaultRemedy(code: string): string {
  if (code === '53100') return 'the database server\'s disk is full: free space on it (or grow its storage)';
  if (code === '53200') return 'the database server is out of memory: look at its memory settings and its other load';
  if (code === '53300') return 'the database server has no connection slot left: raise max_connections or the role\'s CONNECTION LIMIT, or lower the pools (COUNTERSIGN_DATABASE_POOL_SIZE)';
  if (code === '53400') return 'a limit of the database server\'s configuration was exceeded (temp_file_limit, say): raise it for this role or database';
  if (code.startsWith('53')) return 'the database server is short of a resource: look at its log';
  if (code.startsWith('58')) return 'the database server\'s storage is failing (an I/O error): look at its log and its disks';
  return 'the database server reports an internal error or corrupted data: look at its log, and run countersign audit verify';
}

/**
 * The statement_timeout a session of this role opened now in this database starts with (ms), not
 * the probe's own connection's: `ALTER ROLE|DATABASE … SET` reaches only sessions that begin after
 * it, and the probe's pooled connection, used every few seconds, is never idle long enough to be
 * closed, so after `ALTER ROLE … RESET statement_timeout` it went on reading the old value and
 * /readyz stayed 503 until the hold ran out (60 s). Read from pg_db_role_setting (readable by every
 * role) as the server applies it: the database-and-role setting, else the role's, else the
 * database's, else `ALTER ROLE ALL`'s; with none, the session's value unless it came from one of
 * those (gone since), then the server's built-in default (a postgresql.conf value hidden under a role
 * setting since reset is not visible to this role). A bare number is milliseconds, as for the server.
 */
const NEW_SESSIONS_STATEMENT_TIMEOUT = `
  SELECT CASE WHEN v ~ '^\\s*[0-9.]+\\s*$' THEN v::float8 ELSE extract(epoch FROM v::interval) * 1000 END AS ms
  FROM (
    SELECT COALESCE(
      (SELECT substr(c, length('statement_timeout=') + 1)
         FROM pg_db_role_setting r, unnest(r.setconfig) c
        WHERE r.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
          AND r.setrole IN (0, (SELECT oid FROM pg_roles WHERE rolname = session_user))
          AND c LIKE 'statement\\_timeout=%'
        ORDER BY (r.setdatabase <> 0)::int + 2 * (r.setrole <> 0)::int DESC
        LIMIT 1),
      (SELECT CASE WHEN source IN ('database', 'user', 'database user', 'global', 'session') THEN boot_val ELSE setting END FROM pg_settings WHERE name = 'statement_timeout')
    ) AS v
  ) t`;

export class PostgresReadiness {
  /** Since when the probe has found the writers' tables locked. */
  private tablesBusy: { since: number } | undefined;
  /** Since when the probe has found the chain lock held by the same holders (`key`). */
  private chainBusy: { key: string; since: number } | undefined;
  private readonly failureHoldMs: number;
  private readonly cancelledHoldMs: number;
  private readonly connectionWaitMs: number;
  private readonly answerWaitMs: number;
  private readonly clock: () => number;
  private readonly connection: PostgresConnectionOptions;

  constructor(
    private readonly pool: pg.Pool,
    private readonly writer: PgWriter,
    options: PostgresReadinessOptions = {},
    /** The request it last wrote, looked up at each probe (src/store/request-witness.ts). */
    private readonly witness: RequestWitness = new RequestWitness(),
  ) {
    this.failureHoldMs = options.failureHoldMs ?? 2000;
    this.cancelledHoldMs = options.cancelledHoldMs ?? 60_000;
    this.connectionWaitMs = options.connectionWaitMs ?? 1000;
    this.answerWaitMs = options.answerWaitMs ?? 5000;
    this.clock = options.clock ?? Date.now;
    this.connection = options.connection ?? {};
  }

  /**
   * The probe, answered within answerWaitMs: past it, not ready, and the connection the probe was
   * waiting on is dropped from the pool (its query may never be answered: a stalled network, a
   * frozen server), so that probes made every few seconds do not take the pool's connections one
   * by one while the network is down.
   */
  async check(now = performance.now()): Promise<Readiness> {
    let timer: NodeJS.Timeout | undefined;
    const lent: { drop?: (err: Error) => void } = {};
    const probe = this.probe(now, lent);
    const late = new Promise<Readiness>((resolve) => {
      timer = setTimeout(() => {
        const problem = `the database did not answer the readiness probe within ${this.answerWaitMs} ms: the network to it, or the server, is stalled (writes wait for it too)`;
        lent.drop?.(new Error(problem));
        resolve({ ok: false, problem });
      }, this.answerWaitMs);
    });
    try {
      return await Promise.race([probe, late]);
    } finally {
      clearTimeout(timer);
      probe.catch(() => undefined);
    }
  }

  private async probe(now: number, lent: { drop?: (err: Error) => void }): Promise<Readiness> {
    const connected = await this.connect();
    // The server refused or could not be reached for a new connection (53300 too many connections, a
    // login refused, the server down): said as such, not as a busy pool.
    if ('failed' in connected) return { ok: false, problem: `a new connection to the database failed: ${explainConnectionError(connected.failed, this.connection, false, true).message}` };
    const client = connected.client;
    if (!client) {
      return { ok: false, problem: `no connection of the pool came free within ${this.connectionWaitMs} ms (${this.pool.totalCount} open, ${this.pool.waitingCount} waiting)` };
    }
    let broken: Error | undefined;
    let released = false;
    // Past the probe's wait the connection is given back broken, so the pool closes it and opens another.
    lent.drop = (err) => {
      if (released) return;
      released = true;
      client.release(err);
    };
    try {
      const ro = await client.query<{ ro: string }>("SELECT current_setting('transaction_read_only') AS ro");
      if (ro.rows[0]?.ro !== 'off') return { ok: false, problem: 'the database is read-only (a standby, or default_transaction_read_only)' };
      if (this.writer.stopped) return { ok: false, problem: this.writer.stopped.message };
      // A grant revoked while the instance runs: every write that needs it would be refused (42501).
      // Asked before the schema's version is read, which needs one of them (SELECT on schema_migrations).
      const missing = await missingPrivileges(client);
      if (missing.length) {
        const user = (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
        const lacks = missing.map((m) => `${m.privilege} on ${m.table}`).join(', ');
        return { ok: false, problem: `the role ${user} lacks ${lacks}, which writes need: ${await privilegeRemedy(client, user, missing, this.connection.schema)}` };
      }
      const schema = await this.newerSchema(client);
      if (schema) return { ok: false, problem: schema };
      const skew = skewProblem(await readClocks(client, this.clock));
      if (skew) return { ok: false, problem: this.writer.clockWrong(skew).message };
      return (await this.lockProblem(client, now)) ?? (await this.rewindProblem(client)) ?? (await this.lostRequestProblem(client)) ?? this.serverFaultProblem() ?? this.refusalProblem() ?? (await this.cancelledProblem(client)) ?? { ok: true };
    } catch (err) {
      if (isConnectionError(err)) broken = err as Error;
      const missing = missingFromSchema(err);
      if (missing) return { ok: false, problem: (await this.writer.schemaMissing(missing, err)).message };
      return { ok: false, problem: `the database cannot be probed: ${String(err)}` };
    } finally {
      if (!released) {
        released = true;
        client.release(broken);
      }
    }
  }

  /**
   * The schema migrated past what this Countersign knows while it runs (a newer Countersign started,
   * or `store migrate-schema` of a newer one ran): its start would be refused now, and it writes
   * without knowing what the newer migrations changed, so it takes no more traffic.
   */
  private async newerSchema(client: pg.PoolClient): Promise<string | undefined> {
    // Skipped this once when a lock (a LOCK TABLE left open, a migration's DDL) keeps it from being read at once.
    await client.query('BEGIN');
    let found: number;
    try {
      await client.query("SET LOCAL lock_timeout = '50ms'");
      found = (await client.query<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_migrations')).rows[0].v;
    } catch (err) {
      if (!isLockTimeout(err)) throw err;
      return undefined;
    } finally {
      await client.query('ROLLBACK');
    }
    const expected = POSTGRES_MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
    if (found <= expected) return undefined;
    return `the database schema was migrated to version ${found} while this instance runs, newer than this Countersign knows (${expected}): another instance of a newer Countersign migrated it; upgrade this instance (started again as it is, it would be refused)`;
  }

  /**
   * A connection within connectionWaitMs, or none (one that comes later goes back to the pool), or
   * why a new one failed (the server's refusal or the network's; the pool's own timeout is none).
   */
  private async connect(): Promise<{ client?: pg.PoolClient } | { failed: unknown }> {
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    const connecting = this.pool.connect().then((c) => {
      if (late) c.release();
      return c;
    });
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.connectionWaitMs)));
    try {
      const client = await Promise.race([connecting, timeout]);
      if (!client) late = true;
      return client ? { client } : {};
    } catch (err) {
      return isPoolTimeout(err) ? {} : { failed: err };
    } finally {
      clearTimeout(timer);
      connecting.catch(() => undefined);
    }
  }

  /**
   * Not ready once another session has held a lock the writers need longer than writes wait for it,
   * or a write gave up since the probe first saw it held: the writers' table locks (asked for
   * without waiting) and the chain's advisory lock (which every audited write takes: seen in
   * pg_locks, never taken by the probe, so the probe neither waits for it nor holds writers up).
   */
  private async lockProblem(client: pg.PoolClient, now: number): Promise<Readiness | undefined> {
    const tablesBusy = await this.tablesLocked(client);
    const holders = await lockHolders(client, CHAIN_LOCK).catch((): LockHolder[] => []);
    const chain = holders.filter((h) => h.lock === CHAIN_LOCK_NAME);
    const tables = holders.filter((h) => WRITER_TABLE_LOCKS.has(h.lock));
    if (!tablesBusy) this.tablesBusy = undefined;
    else if (!this.tablesBusy) this.tablesBusy = { since: now };
    // The chain lock is taken and released by every instance's commits: held since the probe first
    // saw it only while the same transaction (or idle session) holds it.
    const chainKey = chain.map((h) => `${h.pid}@${h.transaction ?? ''}`).join(',');
    if (!chain.length) this.chainBusy = undefined;
    else if (this.chainBusy?.key !== chainKey) this.chainBusy = { key: chainKey, since: now };
    const problems: { held: number; who: string }[] = [];
    for (const [busy, by] of [
      [this.tablesBusy, tables],
      [this.chainBusy, chain],
    ] as const) {
      if (!busy) continue;
      // A session sitting idle on a lock took it no later than it went idle: held at least that long.
      const held = Math.max(now - busy.since, ...by.map((h) => h.idleMs ?? 0));
      const refusal = this.writer.lastLockRefusal;
      const refused = refusal !== undefined && refusal.at >= busy.since;
      if (held < this.writer.lockWaitMs && !refused) continue;
      problems.push({ held, who: by.length ? by.map(describeHolder).join('; ') : `a lock on ${WRITER_TABLES} held by another session` });
    }
    if (!problems.length) return undefined;
    const held = Math.max(...problems.map((p) => p.held));
    return { ok: false, problem: `writes cannot take their locks: ${problems.map((p) => p.who).join('; ')}; busy for ${Math.round(held)} ms here (writes wait ${this.writer.lockWaitMs} ms)` };
  }

  /** Whether another session holds a lock on the writers' tables that keeps their writes out. */
  private async tablesLocked(client: pg.PoolClient): Promise<boolean> {
    await client.query('BEGIN');
    try {
      await client.query(`LOCK TABLE ${WRITER_TABLES} IN ROW EXCLUSIVE MODE NOWAIT`);
      return false;
    } catch (err) {
      if (!isLockTimeout(err)) throw err;
      return true;
    } finally {
      await client.query('ROLLBACK');
    }
  }

  /**
   * The log's head below what this instance saw: emptied or replaced under it (the writer then
   * refuses every write). Skipped this once when a lock keeps the head from being read at once.
   */
  private async rewindProblem(client: pg.PoolClient): Promise<Readiness | undefined> {
    await client.query('BEGIN');
    try {
      await client.query("SET LOCAL lock_timeout = '50ms'");
      // Taken before the read: this instance's own commits landing meanwhile only raise what it has seen.
      const floor = this.writer.seen;
      const witness = this.writer.witnessed;
      const row = (await client.query<{ seq: string; hash: string }>(READ_HEAD)).rows[0];
      const head = row ? { seq: Number(row.seq), hash: row.hash } : undefined;
      const rewound =
        this.writer.noteHead(head?.seq ?? 0, floor, 'head') ??
        // The record this instance last committed or saw must still be there as it was.
        this.writer.noteWitness(witness, witness ? await this.hashAt(client, witness.seq, head) : undefined, head);
      return rewound ? { ok: false, problem: rewound.message } : undefined;
    } catch (err) {
      if (!isLockTimeout(err)) throw err;
      return undefined;
    } finally {
      await client.query('ROLLBACK');
    }
  }

  /**
   * The request this instance last wrote (or the newest row at its first probe) gone from `requests`,
   * back at an earlier version, or its saved version gone from `request_versions`: rows deleted or
   * the tables emptied under it, which the log's head does not show. Two reads by primary key;
   * skipped this once when a lock keeps them from being read at once.
   */
  private async lostRequestProblem(client: pg.PoolClient): Promise<Readiness | undefined> {
    if (this.witness.found) return { ok: false, problem: this.witness.found };
    await client.query('BEGIN');
    try {
      await client.query("SET LOCAL lock_timeout = '50ms'");
      const problem = await lostRequest(client, this.witness, this.writer.name);
      return problem ? { ok: false, problem } : undefined;
    } catch (err) {
      if (!isLockTimeout(err)) throw err;
      return undefined;
    } finally {
      await client.query('ROLLBACK');
    }
  }

  /** The hash of record `seq` as the log holds it now (the head's when it is that record). */
  private async hashAt(client: pg.PoolClient, seq: number, head: { seq: number; hash: string } | undefined): Promise<string | undefined> {
    if (!head || head.seq < seq) return undefined;
    if (head.seq === seq) return head.hash;
    return (await client.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = $1', [seq])).rows[0]?.hash;
  }

  /**
   * Writes being cancelled by a statement_timeout shorter than Countersign lets a write wait for a
   * lock (a role's or database's setting, `ALTER ROLE … SET statement_timeout = '100ms'`): past the 2 s
   * hold of refusalProblem, the last write the server cancelled (57014) is still the newest word on
   * writes while none committed since, and the setting that cancels them is still what a new session
   * starts with (NEW_SESSIONS_STATEMENT_TIMEOUT, read at each such probe); every write that meets a
   * lock for longer is cancelled again. So not ready until a write commits or the setting no longer
   * cuts a write's wait short (reset, or raised to the wait: seen at the next probe), or
   * until cancelledHoldMs passed without another: a load balancer sends an instance that is not
   * ready no clicks, so with none of its own to write it would never be ready again, however few of
   * its writes are cancelled (only those that meet a lock are). Each write cancelled again holds it again.
   */
  private async cancelledProblem(client: pg.PoolClient, now = performance.now()): Promise<Readiness | undefined> {
    const fault = this.writer.lastFault;
    if (!fault || (fault.error as { code?: unknown }).code !== '57014') return undefined;
    if (now - fault.at >= this.cancelledHoldMs) return undefined;
    if (this.writer.lastCommitAt !== undefined && this.writer.lastCommitAt > fault.at) return undefined;
    const ms = Number((await client.query<{ ms: number | null }>(NEW_SESSIONS_STATEMENT_TIMEOUT)).rows[0]?.ms ?? 0);
    if (!(ms > 0 && ms < this.writer.lockWaitMs)) return undefined;
    return {
      ok: false,
      problem: `writes are being cancelled by the database's statement_timeout: the last ${Math.max(0, Math.round(now - fault.at))} ms ago (57014: ${fault.error.message}), and none committed since; the statement_timeout in force for this role is ${ms} ms, shorter than the ${this.writer.lockWaitMs} ms a write may wait for a lock (COUNTERSIGN_STORE_LOCK_WAIT), so every write that meets a lock is cancelled: reset it (ALTER ROLE … RESET statement_timeout) or raise it to at least that wait`,
    };
  }

  /**
   * Writes refused by a fault of the server's own that no probe of ours sees and that a moment does
   * not end: short of a resource (class 53: its disk full, a temp_file_limit exceeded, out of
   * memory or connection slots), its storage failing (class 58, I/O errors), or an internal error or
   * corrupted data (class XX). Unlike the 2 s hold of refusalProblem, not ready until a write commits
   * or cancelledHoldMs passed without another such refusal (an instance taken out of rotation has
   * nothing of its own to write: it is ready again then, and held again by the next one): before,
   * /readyz turned ready 2 s after each refusal and flapped while every write that hit it failed.
   */
  private serverFaultProblem(now = performance.now()): Readiness | undefined {
    // The last of the server's own faults, not the last fault: a milder one after it (a statement
    // cancelled, 57014, held 2 s) does not cut its hold short.
    const fault = this.writer.lastServerFault;
    if (!fault) return undefined;
    const code = String((fault.error as { code?: unknown }).code);
    if (now - fault.at >= this.cancelledHoldMs) return undefined;
    if (this.writer.lastCommitAt !== undefined && this.writer.lastCommitAt > fault.at) return undefined;
    return {
      ok: false,
      problem: `the database refused a write ${Math.max(0, Math.round(now - fault.at))} ms ago (${code}: ${fault.error.message}), and none committed since: ${serverFaultRemedy(code)}; not ready until a write commits, or ${Math.round(this.cancelledHoldMs / 1000)} s pass without another such refusal`,
    };
  }

  /**
   * A write gave up waiting for a lock (a row's, which the probe cannot see), or the server refused
   * one for want of time or resources (a statement_timeout, a connection limit), a moment ago, and
   * none committed since. Timed now, after the probe's queries, not when the probe began: a refusal may
   * have landed while they ran (both on the monotonic clock, as the writer notes them).
   */
  private refusalProblem(now = performance.now()): Readiness | undefined {
    const recent = (failure: { at: number } | undefined) =>
      failure !== undefined && now - failure.at < this.failureHoldMs && !(this.writer.lastCommitAt !== undefined && this.writer.lastCommitAt > failure.at);
    const refusal = this.writer.lastLockRefusal;
    if (recent(refusal)) return { ok: false, problem: `a write gave up waiting for a lock ${Math.max(0, Math.round(now - refusal!.at))} ms ago: ${refusal!.error.message}` };
    // The server refused a write for want of time, a connection slot, memory or I/O: a statement_timeout
    // shorter than Countersign's statements, a role's connection limit reached, a full temp_file_limit.
    const fault = this.writer.lastFault;
    if (recent(fault)) {
      const code = (fault!.error as { code?: unknown }).code;
      return { ok: false, problem: `the database refused a write ${Math.max(0, Math.round(now - fault!.at))} ms ago (${String(code)}: ${fault!.error.message}), and none committed since` };
    }
    return undefined;
  }
}
