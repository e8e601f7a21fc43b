/**
 * The shared store: one PostgreSQL database holding requests, the audit log, conversation data and
 * the audit-access tables for any number of Countersign instances.
 */
import type pg from 'pg';
import { CommitOutcomeUnknownError, type StorageFault } from '../../app/ports';
import type { CountersignStore } from '../countersign-store';
import { uuidv7 } from '../ids';
import type { ChainHead } from '../../domain/audit';
import { PostgresAuditLog } from './audit-log';
import { PostgresAuditAccessStore } from './audit-access';
import { createPool, describeTarget, explainConnectionError, PostgresStartupError } from './connection';
import type { PostgresConnectionOptions } from './connection';
import { PostgresConversationStore } from './conversations';
import { PostgresDialogStateStore } from './dialog-state';
import { PostgresDelegationStore } from './delegations';
import { migratePostgres, SchemaVersionError } from './migrations';
import { missingPrivileges, privilegeRemedy } from './privileges';
import { missingSchemaError, stillInCatalog, StoreSchemaHiddenError, unusableSchemaError } from './schema-access';
import type { MigrateMode } from './migrations';
import { DEFAULT_LOCK_WAIT_MS, isLockTimeout, isPoolTimeout, lockHolders, StoreLockWaitError, StorePoolBusyError, type LockHolder } from './lock-wait';
import { PostgresReadiness, readClocks, skewProblem, type PostgresReadinessOptions, type Readiness } from './readiness';
import { boundReads } from './reads';
import { answerWait, boundAnswers } from './answer-wait';
import { PostgresRequestStore } from './requests';
import { CHAIN_LOCK, READ_HEAD } from './chain-append';
import { PgWriter } from './transactions';
import { AuditLogRewoundError, missingFromSchema, StoreSchemaGoneError } from './writer-stops';
import { isConnectionError } from './tx';

export interface PostgresStoreOptions {
  connection: PostgresConnectionOptions;
  /** Audit record ids (default: UUID version 7). */
  newId?: () => string;
  /** Records per page when reading the audit log. */
  pageSize?: number;
  /** Whether opening may create or upgrade the schema (default: when this role may create tables). */
  migrate?: MigrateMode;
  /** Given: each migration this open applied is added to it (`store migrate-schema` says which). */
  applied?: { version: number; name: string }[];
  /** Told when an idle connection broke (the pool replaces it). */
  onConnectionError?: (err: Error) => void;
  /**
   * How long a write waits, in all, for locks other sessions hold before it fails with
   * StoreLockWaitError, nothing written (COUNTERSIGN_STORE_LOCK_WAIT, default 5 s); also the pool's
   * lock_timeout, so a read waits no longer either.
   */
  lockWaitMs?: number;
  /**
   * How long a statement's answer may be awaited before its connection counts as stalled and is
   * dropped (answer-wait.ts); default the lock wait plus 10 s; 0: no limit (the CLI's commands, which
   * an operator watches and whose long statements, a copy's COMMIT or a count, must not be cut).
   */
  answerWaitMs?: number;
  readiness?: PostgresReadinessOptions;
  /** Aborted (a stop signal while the bot starts): a wait for the migration lock ends, with its reason. */
  stop?: AbortSignal;
  /**
   * Called when the schema holds none of Countersign's tables (no `schema_migrations`: a new
   * database, or one emptied), before anything is made there; `what` says so, naming the schema and
   * the database (`where`). Throws to refuse the open with nothing created (the bot's start holds
   * such a database against the data directory's checkpoint file, as SQLite does an emptied file).
   */
  beforeEmptySchema?: (found: { what: string; where: string }) => Promise<void>;
  /**
   * Told once when the audit log went back below a record this instance saw (its tables emptied or
   * replaced while it ran): every later write is refused, Countersign must be restarted.
   */
  onStopped?: (err: Error) => void;
}

export class PostgresStore implements CountersignStore {
  readonly kind = 'postgres';
  readonly requests: PostgresRequestStore;
  readonly audit: PostgresAuditLog;
  /** Conversation references (the Teams layer's) and card bindings (the use cases') share one table set. */
  readonly conversations: PostgresConversationStore;
  readonly cards: PostgresConversationStore;
  readonly delegations: PostgresDelegationStore;
  readonly auditAccess: PostgresAuditAccessStore;
  /** Forms in progress, shared by the instances (botbuilder's Storage shape). */
  readonly dialogState: PostgresDialogStateStore;
  private closed = false;
  private readonly readiness: PostgresReadiness;
  /** The last readiness answer (ping() refreshes it). */
  private lastReadiness: Readiness = { ok: true };

  constructor(
    readonly pool: pg.Pool,
    /** Where it is, without secrets (postgres://user@host:port/db). */
    readonly target: string,
    private readonly writer: PgWriter,
    pageSize?: number,
    readiness?: PostgresReadinessOptions,
  ) {
    this.requests = new PostgresRequestStore(writer);
    this.readiness = new PostgresReadiness(pool, writer, readiness, this.requests.witness);
    this.audit = new PostgresAuditLog(writer, pageSize);
    this.conversations = new PostgresConversationStore(writer);
    this.cards = this.conversations;
    this.delegations = new PostgresDelegationStore(writer);
    this.auditAccess = new PostgresAuditAccessStore(writer);
    this.dialogState = new PostgresDialogStateStore(pool);
  }

  /**
   * True when the database can take a write right now: a read-write session answers, no other
   * session has kept the writers' locks longer than writes wait, no write just gave up on a lock.
   */
  async ping(): Promise<boolean> {
    this.lastReadiness = this.closed ? { ok: false, problem: 'the store is closed' } : await this.readiness.check();
    return this.lastReadiness.ok;
  }

  /**
   * Holds the log against `c`, a checkpoint signed outside the database (the checkpoint file the
   * instances share; src/audit/access/checkpoint-watch.ts looks every few seconds): when the log ends
   * before it, or holds another record there, this instance stops writing (every write refused,
   * readiness not ready, the bot stopping), as when it sees the log go back itself. Returns that
   * problem; undefined when the log holds it, or the writer had already stopped.
   */
  async holdsCheckpoint(c: ChainHead): Promise<string | undefined> {
    if (this.writer.stopped || this.closed) return undefined;
    const row = (await this.pool.query<{ seq: string; hash: string }>(READ_HEAD)).rows[0];
    const headSeq = Number(row?.seq ?? 0);
    const found =
      headSeq === c.seq ? row?.hash : headSeq > c.seq ? (await this.pool.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = $1', [c.seq])).rows[0]?.hash : undefined;
    const stop = this.writer.noteCheckpoint(c, headSeq, found);
    if (stop) this.lastReadiness = { ok: false, problem: stop.message };
    return stop?.message;
  }

  /** What the last ping() answered, with the reason when not ready. */
  writeReadiness(): Readiness {
    return this.closed ? { ok: false, problem: 'the store is closed' } : this.lastReadiness;
  }

  /**
   * PostgreSQL's own failures, by SQLSTATE: the disk's (53100 disk_full; class 58, system error:
   * I/O), the server's being short of something other than disk (the rest of class 53, insufficient
   * resources: 53200 out_of_memory, 53300 too_many_connections, 53400 configuration_limit_exceeded
   * such as temp_file_limit) or cancelling a statement (57014 query_canceled: statement_timeout) as
   * its being overloaded, 25006 read_only_sql_transaction (a standby, default_transaction_read_only)
   * as its being read-only, 42501 insufficient_privilege (a grant revoked) as access denied; a
   * connection that broke or cannot be made, the server's being unreachable. Each is told to the person differently: only a full disk needs the disk freed.
   */
  storageFault(err: unknown): StorageFault | undefined {
    // A lock held past the wait, or no connection of the pool free in time (all held by waiting statements).
    if (err instanceof StoreLockWaitError || err instanceof StorePoolBusyError || isPoolTimeout(err)) return 'busy';
    if (err instanceof AuditLogRewoundError || err instanceof StoreSchemaGoneError || (err as { name?: unknown } | null)?.name === 'AuditLogRewrittenError') return 'damaged';
    // The connection broke during COMMIT: the change may be saved (the request made, the delegation
    // recorded), and one told "nothing was changed" asks again and makes a second one.
    if (err instanceof CommitOutcomeUnknownError && isConnectionError(err.cause)) return 'unconfirmed';
    const cause = err instanceof CommitOutcomeUnknownError ? err.cause : err;
    const code = (cause as { code?: unknown } | null)?.code;
    if (code === '53100' || (typeof code === 'string' && code.startsWith('58'))) return 'disk';
    if ((typeof code === 'string' && code.startsWith('53')) || code === '57014') return 'overloaded';
    if (code === '25006') return 'read-only';
    // A privilege of the role taken away while the instance runs (REVOKE): nothing was written.
    if (code === '42501') return 'denied';
    // A read that gave up on a lock (lock_timeout, SQLSTATE 55P03) waited as long as a write would.
    if (code === '55P03') return 'busy';
    return isConnectionError(cause) || cause instanceof PostgresStartupError || connectionRefused(cause) ? 'unreachable' : undefined;
  }

  /** Commits every write already submitted, then closes the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.close();
    await this.pool.end();
  }
}

/**
 * The server refused a new connection of the pool (a read's or write's): the database not accepting
 * connections (55000, ALLOW_CONNECTIONS false, as an administrator takes it out of service), the
 * login refused (28P01, 28000: a password changed, a token no longer valid) or the database gone
 * (3D000). The instance cannot reach its database as much as when the server is down.
 */
function connectionRefused(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e?.code === '28P01' || e?.code === '28000' || e?.code === '3D000') return true;
  return e?.code === '55000' && typeof e.message === 'string' && /is not currently accepting connections/.test(e.message);
}

/** A start that found a table or function of the schema gone (dropped or renamed), said with what to do. */
function schemaGoneAtStart(err: unknown, target: string): PostgresStartupError | undefined {
  const missing = missingFromSchema(err instanceof PostgresStartupError ? undefined : (err as { cause?: unknown } | null)?.cause ?? err);
  if (!missing) return undefined;
  return new PostgresStartupError(
    `${missing} is missing from ${target}: it was dropped or renamed. Restore the database from a backup (docs/faults.md); Countersign does not make it again, which would hide what was lost`,
  );
}

/** A statement of the start that gave up on a lock (55P03), with who holds it as far as this role may see. */
async function heldAtStart(pool: pg.Pool, target: string, waitedMs: number, lockWaitMs: number, err: unknown): Promise<StoreLockWaitError> {
  const holders = await pool
    .connect()
    .then(async (client) => {
      try {
        return await lockHolders(client, CHAIN_LOCK);
      } finally {
        client.release();
      }
    })
    .catch((): LockHolder[] => []);
  return new StoreLockWaitError(target, waitedMs, lockWaitMs, holders, err, 'read');
}

/**
 * Connects, brings the schema to the expected version (as `migrate` allows) and checks this role's
 * privileges; any failure stops here with a PostgresStartupError saying what to fix.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const target = describeTarget(options.connection);
  let pool: pg.Pool;
  const lockWaitMs = options.lockWaitMs ?? options.connection.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  try {
    pool = createPool({ ...options.connection, lockWaitMs }, options.onConnectionError);
  } catch (err) {
    throw explainConnectionError(err, options.connection);
  }
  try {
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      throw explainConnectionError(err, options.connection);
    }
    const schema = options.connection.schema;
    // A schema named that is not there reads as one at version 0, whose migration cannot create anything.
    const absent = await missingSchemaError(pool, target, schema);
    if (absent) throw absent;
    // A role that may not use the schema sees none of its tables: told as the grant it lacks, not as a
    // schema at version 0 to migrate (the owner, migrating, is not asked).
    const unusable = options.migrate === 'always' ? undefined : await unusableSchemaError(pool, target, schema);
    if (unusable) throw unusable;
    const migrating = performance.now();
    let refusedEmpty: unknown;
    const beforeEmptySchema = options.beforeEmptySchema;
    const emptySchema = beforeEmptySchema
      ? async (where: string) => {
          await beforeEmptySchema({ what: `the schema ${where} of ${target} holds none of Countersign's tables (there is no schema_migrations)`, where: target }).catch((err: unknown) => {
            refusedEmpty = err;
            throw err;
          });
        }
      : undefined;
    try {
      await migratePostgres(pool, options.migrate ?? 'auto', undefined, options.applied, emptySchema, options.stop);
    } catch (err) {
      if (options.stop?.aborted && err === options.stop.reason) throw err;
      if (refusedEmpty !== undefined && err === refusedEmpty) throw err;
      if (err instanceof SchemaVersionError) throw new PostgresStartupError(`${target}: ${err.message}`);
      // A lock held on schema_migrations past the wait: named with its holder, as a write's wait is.
      const held = isLockTimeout(err) ? await heldAtStart(pool, target, Math.round(performance.now() - migrating), lockWaitMs, err) : err;
      throw schemaGoneAtStart(err, target) ?? explainConnectionError(held, options.connection);
    }
    // Several instances decide by their own clocks: one that disagrees with the database's is not started.
    const skew = skewProblem(await readClocks(pool, options.readiness?.clock));
    if (skew) throw new PostgresStartupError(`${target}: ${skew}`);
    const missing = await missingPrivileges(pool).catch((err: unknown) => {
      throw schemaGoneAtStart(err, target) ?? explainConnectionError(err, options.connection);
    });
    if (missing.length) {
      const user = (await pool.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
      const remedy = await privilegeRemedy(pool, user, missing, schema);
      throw new PostgresStartupError(`${target}: the role ${user} lacks ${missing.map((m) => `${m.privilege} on ${m.table}`).join(', ')}: ${remedy}`);
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw schemaGoneAtStart(err, target) ?? err;
  }
  // A statement whose answer does not come (a stalled network) fails once the lock wait and a margin passed.
  const answerWaitMs = options.answerWaitMs ?? answerWait(lockWaitMs);
  if (answerWaitMs > 0) boundAnswers(pool, target, answerWaitMs);
  // Reads count their time in line for a connection against the lock wait, as writes do.
  const writer = new PgWriter(pool, target, options.newId ?? (() => uuidv7()), lockWaitMs);
  // A schema this role may no longer use hides its tables as if dropped: told as the privilege it is.
  writer.schemaHidden = async (err) => {
    if (!(await stillInCatalog(pool, options.connection.schema, err))) return undefined;
    const unusable = await unusableSchemaError(pool, target, options.connection.schema);
    return unusable ? new StoreSchemaHiddenError(unusable.message) : (err as Error);
  };
  boundReads(pool, target, lockWaitMs, (missing, err) => writer.schemaMissing(missing, err));
  // The head at open: from here on the log may only grow (readiness and every commit check it).
  const head = await pool.query<{ seq: string; hash: string }>(READ_HEAD).catch(async (err: unknown) => {
    await pool.end().catch(() => undefined);
    throw schemaGoneAtStart(err, target) ?? explainConnectionError(err, options.connection);
  });
  const row = head.rows[0];
  writer.noteHead(Number(row?.seq ?? 0), 0, 'head');
  writer.noteWitness(undefined, undefined, row ? { seq: Number(row.seq), hash: row.hash } : undefined);
  if (options.onStopped) writer.onRewound = options.onStopped;
  return new PostgresStore(pool, target, writer, options.pageSize, { ...options.readiness, connection: options.connection });
}
