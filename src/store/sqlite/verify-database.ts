/**
 * Verification of a SQLite file's audit log: the stored rows read read-only (the bot may be
 * writing), the append-only triggers checked, and the checks of src/audit/verify run over them.
 */
import type Database from 'better-sqlite3';
import type { StoredAuditRows, StoredRow } from '../../audit/verify/stored-rows';
import type { StoredRequests, StoredRequestText } from '../../audit/verify/request-rows';
import { verifyStoredLog, type StoredLogVerification, type VerifyTuning } from '../../audit/verify/verify-database';
import type { VerifyOptions } from '../../audit/verify/verify';
import { openSqliteAuditReader } from './audit-reader';
import { openReadOnly } from './connection';
import { AUDIT_TRIGGERS, MIGRATIONS, triggerProblems } from './migrations';
import { REQUESTS_WITHOUT_ROW, tablesCreatedBy, type RequestWithoutRow } from '../request-rows';
import { schemaFindings, type AuditIndex, type SchemaFindings, type StoredSchema } from '../../audit/verify/schema-findings';
import { auditIndexesMadeBy, judgeAuditIndexes } from '../audit-indexes';

export type { VerifyTuning };

export interface DatabaseVerification extends StoredLogVerification, SchemaFindings {
  file: string;
}



const COLUMNS = 'seq, id, time, type, request_id, actor_id, prev_hash, hash, record';

/**
 * Verification reads the whole file once, in order: through a memory map SQLite reads its pages
 * without a read() call and a copy into its own page cache for each (measured over 1,000,000 records:
 * 1.12 s of CPU to read every row instead of 1.62 s). Only this read-only connection maps the file,
 * up to SQLite's usual limit (2 GB; pages past it are read as before). The mapped pages are the
 * operating system's file cache, shared and reclaimable, but a process's resident set counts those it
 * touched.
 */
const MMAP_BYTES = 0x7fff0000;

function mapForScanning(db: Database.Database): Database.Database {
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  return db;
}

/** The stored rows of an open SQLite database, as verification reads them. */
export function sqliteStoredRows(db: Database.Database): StoredAuditRows {
  const open = db.prepare(`SELECT ${COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`).raw(true);
  const bounded = db.prepare(`SELECT ${COLUMNS} FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`).raw(true);
  // Both are read off the ends of the rowid tree: no scan.
  const bounds = db.prepare('SELECT MIN(seq) AS low, MAX(seq) AS high FROM audit_log');
  return {
    page: (after, until, limit) => (until === undefined ? open.all(after, limit) : bounded.all(after, until, limit)) as StoredRow[],
    bounds: () => bounds.get() as { low: number | null; high: number | null },
  };
}

/**
 * The request rows and saved versions of an open SQLite database, with their records, as the request
 * check of `audit verify` reads them (src/audit/verify/request-rows.ts): by primary key, and the
 * records through the index by request (a list of ids at a time, in bound parameters).
 */
export function sqliteStoredRequests(db: Database.Database): StoredRequests {
  const first = db.prepare('SELECT id, version, body FROM requests ORDER BY id LIMIT ?');
  const next = db.prepare('SELECT id, version, body FROM requests WHERE id > ? ORDER BY id LIMIT ?');
  const orphans = 'SELECT DISTINCT request_id FROM request_versions v WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.id = v.request_id)';
  const firstOrphans = db.prepare(`${orphans} ORDER BY request_id LIMIT ?`).pluck();
  const nextOrphans = db.prepare(`${orphans} AND request_id > ? ORDER BY request_id LIMIT ?`).pluck();
  const list = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  return {
    rows: async (after, limit) => (after === undefined ? first.all(limit) : next.all(after, limit)) as StoredRequestText[],
    withoutRow: async (after, limit) => (after === undefined ? firstOrphans.all(limit) : nextOrphans.all(after, limit)) as string[],
    versions: async (ids) =>
      ids.length === 0 ? [] : (db.prepare(`SELECT request_id AS id, version, body FROM request_versions WHERE request_id IN (${list(ids.length)})`).all(...ids) as StoredRequestText[]),
    records: async (ids, types) =>
      ids.length === 0
        ? []
        : (db
            .prepare(`SELECT record FROM audit_log WHERE request_id IS NOT NULL AND request_id IN (${list(ids.length)}) AND type IN (${list(types.length)}) ORDER BY seq`)
            .pluck()
            .all(...ids, ...types) as string[]),
  };
}

/** A read-only reader of the file's stored rows, for a worker thread (see StoredRowsOpener). */
export function openStoredRows(file: string): StoredAuditRows & { close(): void } {
  const db = mapForScanning(openReadOnly(file));
  return { ...sqliteStoredRows(db), close: () => db.close() };
}

export async function verifySqliteAuditLog(file: string, options: VerifyOptions = {}, tuning: VerifyTuning = {}): Promise<DatabaseVerification> {
  const reader = openSqliteAuditReader(file);
  try {
    const opener = { module: __filename, open: 'openStoredRows', args: [file] };
    const result = await verifyStoredLog(sqliteStoredRows(mapForScanning(reader.db)), options, tuning, opener);
    return { ...result, file, ...(await schemaFindings(sqliteSchema(reader.db), result)) };
  } finally {
    reader.close();
  }
}

function appliedVersion(db: Database.Database, present: ReadonlySet<string>): number {
  return present.has('schema_migrations') ? ((db.prepare('SELECT COALESCE(MAX(version), 0) FROM schema_migrations').pluck().get() as number) ?? 0) : 0;
}

/**
 * The indexes SQLite holds on audit_log (PRAGMA index_list, from the schema as it parsed it), with
 * their stored definitions. `origin` 'c' is CREATE INDEX; the others the table's own constraints.
 */
function auditLogIndexes(db: Database.Database): { name: string; definition: string | null; byConstraint: boolean }[] {
  const rows = db
    .prepare("SELECT l.name, l.origin, m.sql FROM pragma_index_list('audit_log') l LEFT JOIN sqlite_master m ON m.type = 'index' AND m.name = l.name")
    .all() as { name: string; origin: string; sql: string | null }[];
  return rows.map((r) => ({ name: r.name, definition: r.sql, byConstraint: r.origin !== 'c' }));
}

/**
 * The entries an index holds, off its own pages: the cells of every page of its b-tree (an index
 * keeps each entry once, on a leaf or an interior page), as SQLite's dbstat table sums them without
 * decoding an entry (0.02 s for 1,000,000 entries once their pages are read; counting them through
 * the index with INDEXED BY took 0.07 s). Without dbstat (a SQLite built without it), that count.
 * Both indexes of 1,000,000 records: about 0.15 s of CPU after the verification's scan, most of it
 * reading their 45 MB of pages.
 */
function indexEntries(db: Database.Database, index: AuditIndex): number {
  let cells: number | undefined;
  try {
    cells = db.prepare("SELECT ncell FROM dbstat('main', 1) WHERE name = ?").pluck().get(index.name) as number | undefined;
  } catch {
    return db.prepare(`SELECT count(*) FROM audit_log INDEXED BY "${index.name}" WHERE ${index.where}`).pluck().get() as number;
  }
  return cells ?? 0;
}

/** The SQLite file's catalog, as verification reads it (and the running bot, its indexes). */
export function sqliteSchema(db: Database.Database): StoredSchema {
  const present = () => new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
  return {
    missingAuditTriggers: async () => triggerProblems(db, AUDIT_TRIGGERS),
    tables: async () => {
      const tables = present();
      return { present: tables, created: tablesCreatedBy(MIGRATIONS, appliedVersion(db, tables)) };
    },
    requestsWithoutRow: async () => db.prepare(REQUESTS_WITHOUT_ROW).all() as RequestWithoutRow[],
    auditIndexes: async () => judgeAuditIndexes(auditLogIndexes(db), auditIndexesMadeBy(MIGRATIONS, appliedVersion(db, present()))),
    // One read transaction: the records appended since the verification's scan (by the running bot)
    // are counted from the table as of the moment the index is.
    auditIndexEntries: async (index, lastSeq) =>
      db.transaction(() => ({
        entries: indexEntries(db, index),
        past: db.prepare(`SELECT count(*) FROM audit_log NOT INDEXED WHERE seq > ? AND ${index.where}`).pluck().get(lastSeq) as number,
      }))(),
  };
}

/** What can still be read of the audit log of a file SQLite calls damaged (SQLITE_CORRUPT). */
export interface DamagedLogSalvage {
  /** Records read in seq order from the first, each linking to the one before, until the damage. */
  readable: number;
  /** The last of them (undefined when none could be read). */
  lastSeq?: number;
  /** Why the reading stopped there, in SQLite's words or as a break in the chain; undefined when the whole table was read. */
  stoppedBy?: string;
}

/**
 * Reads the audit log of a damaged file as far as it goes: rows in seq order until SQLite meets a
 * page it cannot read, or a row does not follow the one before (seq and previous hash). The records'
 * own hashes are not recomputed: this says how much is left to salvage, verification of a restored
 * copy says whether it is intact.
 */
export function salvageDamagedAuditLog(file: string): DamagedLogSalvage {
  let readable = 0;
  let last: { seq: number; hash: string } | undefined;
  let db: Database.Database | undefined;
  try {
    db = openReadOnly(file);
    for (const row of db.prepare('SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq').iterate() as IterableIterator<{ seq: number; prev_hash: string; hash: string }>) {
      const expected = last ? last.seq + 1 : 1;
      if (row.seq !== expected || (last && row.prev_hash !== last.hash)) {
        return { readable, ...(last ? { lastSeq: last.seq } : {}), stoppedBy: `record ${row.seq} does not follow record ${last?.seq ?? 0}` };
      }
      last = { seq: row.seq, hash: row.hash };
      readable++;
    }
    return { readable, ...(last ? { lastSeq: last.seq } : {}) };
  } catch (err) {
    return { readable, ...(last ? { lastSeq: last.seq } : {}), stoppedBy: (err as Error).message };
  } finally {
    db?.close();
  }
}
