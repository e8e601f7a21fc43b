/**
 * Moving an installation from SQLite to PostgreSQL: every table copied verbatim (requests with their
 * versions, the audit chain with its seq, hashes and stored bytes, checkpoints, links, exports,
 * conversation references, card bindings and delegations) into an empty database, in one transaction, so a copy
 * that fails leaves the target as empty as it found it. The chain trigger checks every record's
 * link on the way in; the caller verifies the copied chain afterwards.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { openReadOnly } from '../sqlite/connection';
import { CHAIN_LOCK } from './chain-append';

export class TargetNotEmptyError extends Error {
  constructor(readonly target: string, readonly tables: string[]) {
    super(`${target} is not empty (rows in ${tables.join(', ')}): a store is moved into an empty database only, so nothing is mixed or overwritten`);
    this.name = 'TargetNotEmptyError';
  }
}

interface TableCopy {
  table: string;
  /** SELECT on SQLite, in the order rows were written. */
  select: string;
  /** The SELECT for a source whose table does not have this column yet (an older schema). */
  selectWithout?: { column: string; select: string };
  columns: string[];
  /** PostgreSQL array types of the columns, for the unnest insert. */
  types: string[];
}

const TABLES: readonly TableCopy[] = [
  {
    table: 'requests',
    select: 'SELECT id, version, state, expires_at, created_at, updated_at, body, review_due_at FROM requests ORDER BY rowid',
    // A store from before SQLite migration 7: the column as that migration fills it in.
    selectWithout: {
      column: 'review_due_at',
      select: `SELECT id, version, state, expires_at, created_at, updated_at, body,
        CASE WHEN json_extract(body, '$.breakGlass') IS NOT NULL AND json_extract(body, '$.breakGlass.review') IS NULL
          AND json_extract(body, '$.breakGlass.overdueAt') IS NULL AND state NOT IN ('approved', 'executing')
        THEN json_extract(body, '$.breakGlass.reviewDueAt') END
        FROM requests ORDER BY rowid`,
    },
    columns: ['id', 'version', 'state', 'expires_at', 'created_at', 'updated_at', 'body', 'review_due_at'],
    types: ['text', 'int', 'text', 'text', 'text', 'text', 'text', 'text'],
  },
  {
    table: 'request_versions',
    select: 'SELECT request_id, version, state, updated_at, body FROM request_versions ORDER BY rowid',
    columns: ['request_id', 'version', 'state', 'updated_at', 'body'],
    types: ['text', 'int', 'text', 'text', 'text'],
  },
  {
    table: 'audit_log',
    select: 'SELECT seq, id, time, type, request_id, actor_id, prev_hash, hash, record FROM audit_log ORDER BY seq',
    columns: ['seq', 'id', 'time', 'type', 'request_id', 'actor_id', 'prev_hash', 'hash', 'record'],
    types: ['bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text'],
  },
  {
    table: 'audit_checkpoints',
    select: 'SELECT seq, hash, time, key_id, signature, record_seq FROM audit_checkpoints ORDER BY id',
    columns: ['seq', 'hash', 'time', 'key_id', 'signature', 'record_seq'],
    types: ['bigint', 'text', 'text', 'text', 'text', 'bigint'],
  },
  {
    table: 'audit_downloads',
    select: 'SELECT token_hash, link_id, link, created_at, expires_at, used_at, export_id FROM audit_downloads ORDER BY rowid',
    columns: ['token_hash', 'link_id', 'link', 'created_at', 'expires_at', 'used_at', 'export_id'],
    types: ['text', 'text', 'text', 'text', 'text', 'text', 'text'],
  },
  {
    table: 'audit_exports',
    select: 'SELECT export_id, created_at, manifest FROM audit_exports ORDER BY rowid',
    columns: ['export_id', 'created_at', 'manifest'],
    types: ['text', 'text', 'text'],
  },
  {
    table: 'conversation_refs',
    select: 'SELECT conversation_id, reference FROM conversation_refs ORDER BY rowid',
    columns: ['conversation_id', 'reference'],
    types: ['text', 'text'],
  },
  {
    table: 'card_messages',
    select: 'SELECT request_id, conversation_id, activity_id, sent_version FROM card_messages ORDER BY rowid',
    // A store from before SQLite migration 3 has sent no version it recorded.
    selectWithout: { column: 'sent_version', select: 'SELECT request_id, conversation_id, activity_id, 0 FROM card_messages ORDER BY rowid' },
    columns: ['request_id', 'conversation_id', 'activity_id', 'sent_version'],
    types: ['text', 'text', 'text', 'int'],
  },
  {
    // A store from before SQLite migration 4 has none (the table is skipped).
    table: 'delegations',
    select: 'SELECT id, delegator_id, delegate_id, created_at, until, ended_at, body FROM delegations ORDER BY rowid',
    columns: ['id', 'delegator_id', 'delegate_id', 'created_at', 'until', 'ended_at', 'body'],
    types: ['text', 'text', 'text', 'text', 'text', 'text', 'text'],
  },
  {
    // Absent from a store before SQLite migration 5: skipped.
    table: 'personal_conversations',
    select: 'SELECT tenant_id, aad_object_id, reference FROM personal_conversations ORDER BY rowid',
    columns: ['tenant_id', 'aad_object_id', 'reference'],
    types: ['text', 'text', 'text'],
  },
];

export interface CopyProgress {
  table: string;
  copied: number;
  /** Rows of this table in the source. */
  total: number;
}

export interface CopyResult {
  /** Rows copied per table. */
  rows: Record<string, number>;
}

const BATCH = 2000;

function hasTable(db: Database.Database, name: string): boolean {
  return !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);
}

function selectFor(db: Database.Database, t: TableCopy): string {
  if (!t.selectWithout) return t.select;
  const has = !!db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(t.table, t.selectWithout.column);
  return has ? t.select : t.selectWithout.select;
}

/** Tables of the target that hold rows. */
async function nonEmptyTables(pool: pg.Pool): Promise<string[]> {
  const out: string[] = [];
  for (const t of TABLES) {
    const r = await pool.query(`SELECT 1 FROM ${t.table} LIMIT 1`);
    if (r.rowCount) out.push(t.table);
  }
  return out;
}

/**
 * Copies the SQLite file into the (migrated, empty) PostgreSQL database behind `pool`. The source
 * is read in one read transaction (a consistent snapshot even if a bot still writes to it).
 */
export async function copySqliteToPostgres(file: string, pool: pg.Pool, target: string, onProgress?: (p: CopyProgress) => void): Promise<CopyResult> {
  const busy = await nonEmptyTables(pool);
  if (busy.length) throw new TargetNotEmptyError(target, busy);
  const source = openReadOnly(file);
  const client = await pool.connect();
  const rows: Record<string, number> = {};
  try {
    source.exec('BEGIN');
    await client.query('BEGIN; SET LOCAL synchronous_commit = on');
    // No instance appends while the chain is copied in.
    await client.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
    const again = await nonEmptyTables(pool);
    if (again.length) throw new TargetNotEmptyError(target, again);
    for (const t of TABLES) {
      if (!hasTable(source, t.table)) continue;
      const total = source.prepare(`SELECT COUNT(*) FROM ${t.table}`).pluck().get() as number;
      const insert = `INSERT INTO ${t.table} (${t.columns.join(', ')}) SELECT * FROM unnest(${t.types.map((type, i) => `$${i + 1}::${type}[]`).join(', ')})`;
      let copied = 0;
      let batch: unknown[][] = t.columns.map(() => []);
      const flush = async () => {
        if (batch[0].length === 0) return;
        await client.query(insert, batch);
        copied += batch[0].length;
        batch = t.columns.map(() => []);
        onProgress?.({ table: t.table, copied, total });
      };
      for (const row of source.prepare(selectFor(source, t)).raw(true).iterate() as IterableIterator<unknown[]>) {
        row.forEach((v, i) => batch[i].push(v));
        if (batch[0].length >= BATCH) await flush();
      }
      await flush();
      onProgress?.({ table: t.table, copied, total });
      rows[t.table] = copied;
    }
    await client.query('COMMIT');
    return { rows };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
    if (source.inTransaction) source.exec('COMMIT');
    source.close();
  }
}
