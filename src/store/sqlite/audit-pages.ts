/**
 * Reading the audit log in seq order, one page at a time (keyset pagination on seq), so a reader
 * holds a page in memory, never the log, and never keeps a read transaction open between pages.
 */
import type Database from 'better-sqlite3';
import type { AuditFilter } from '../../domain/audit';
import type { StoredRecordPages, StoredRecordText } from '../../audit/formats/encoder';
import type { AuditRecord } from '../../domain/audit';

const DEFAULT_PAGE_SIZE = 500;

interface PageQuery {
  sql: string;
  params: Record<string, unknown>;
}

/**
 * A filter as the page query reads it: a time window already turned into seq bounds (`runOf`), the
 * other filters as given.
 */
export type SeqFilter = Omit<AuditFilter, 'from' | 'to'> & { toSeq?: number };

/**
 * The SQL for one page under a filter. Time has no index on purpose: a time window is read as the
 * run of seqs it selects (`runOf`), so the scan goes by seq (the rowid) between the run's ends, and
 * each page resumes where the last one stopped.
 */
export function auditPageQuery(filter: SeqFilter): PageQuery {
  // One lower bound on seq: given two (seq > @after AND seq >= @fromSeq), SQLite ranges the rowid
  // scan on the first and filters by the second, so a read from the log's end scanned all of it
  // (the start's continuity check, 80 ms at 10,000 records, linear in the log).
  const where = ['seq > max(@after, @fromSeq - 1)'];
  const params: Record<string, unknown> = { fromSeq: filter.fromSeq ?? 0 };
  if (filter.toSeq !== undefined) {
    where.push('seq <= @toSeq');
    params.toSeq = filter.toSeq;
  }
  if (filter.requestId !== undefined) {
    where.push('request_id = @requestId');
    params.requestId = filter.requestId;
  }
  if (filter.actorId !== undefined) {
    // An object id whatever the case of its letters, by the index on lower(actor_id) (the IS NOT
    // NULL is what lets SQLite use that partial index).
    where.push('actor_id IS NOT NULL AND lower(actor_id) = @actorId');
    params.actorId = filter.actorId.toLowerCase();
  }
  if (filter.types !== undefined) {
    where.push('type IN (SELECT value FROM json_each(@types))');
    params.types = JSON.stringify(filter.types);
  }
  return { sql: `SELECT seq, hash, record FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`, params };
}

/** The first record at or after `from`, and the last before `to`: each a walk along the rowid from one end, stopping at the first found. */
const RUN_START = 'SELECT seq FROM audit_log WHERE time >= @from ORDER BY seq LIMIT 1';
const RUN_END = 'SELECT seq FROM audit_log WHERE seq >= @start AND time < @to ORDER BY seq DESC LIMIT 1';

/**
 * A time window selects a run of the chain: every record from the first whose time is at or after
 * `from` to the last whose time is before `to`, in seq order. Times never go back along a SQLite
 * chain, so these are the records whose times fall in the window; but as a run, a record deleted
 * inside it shows as a gap in its seqs (missingFromLog), as it does in the whole log. The bounds are
 * read once, at the start of the read. Undefined: the window selects nothing.
 */
function runOf(statements: StatementCache, filter: AuditFilter): SeqFilter | undefined {
  const { from, to, ...rest } = filter;
  if (from === undefined && to === undefined) return rest;
  let start = 1;
  if (from !== undefined) {
    const first = statements.get(RUN_START).pluck().get({ from }) as number | undefined;
    if (first === undefined) return undefined;
    start = first;
  }
  let end: number | undefined;
  if (to !== undefined) {
    end = statements.get(RUN_END).pluck().get({ start, to }) as number | undefined;
    if (end === undefined) return undefined;
  }
  return { ...rest, fromSeq: Math.max(start, rest.fromSeq ?? 0), ...(end !== undefined ? { toSeq: end } : {}) };
}

/** Prepared statements per filter shape, so paging does not re-parse SQL. */
export class StatementCache {
  private readonly cache = new Map<string, Database.Statement>();
  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.cache.set(sql, stmt);
    }
    return stmt;
  }

  /** The same statement returning each row as an array of its columns (no object per row). */
  getRaw(sql: string): Database.Statement {
    const key = `raw:${sql}`;
    let stmt = this.cache.get(key);
    if (!stmt) {
      stmt = this.db.prepare(sql).raw(true);
      this.cache.set(key, stmt);
    }
    return stmt;
  }
}

export async function* readAuditPages(
  statements: StatementCache,
  filter: AuditFilter,
  pageSize = DEFAULT_PAGE_SIZE,
): AsyncGenerator<AuditRecord> {
  const run = runOf(statements, filter);
  if (!run) return;
  const { sql, params } = auditPageQuery(run);
  const stmt = statements.get(sql);
  let after = 0;
  for (;;) {
    const rows = stmt.all({ ...params, after, limit: pageSize }) as { seq: number; record: string }[];
    for (const row of rows) yield JSON.parse(row.record) as AuditRecord;
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1].seq;
    // Let other work (writers, timers) run between pages.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * The same pages, each record as its stored canonical text (not parsed), for exports: record by
 * record, or page by page (`pages()`, which spares the large exports one await per record).
 */
export function readStoredAuditPages(statements: StatementCache, filter: AuditFilter, pageSize = DEFAULT_PAGE_SIZE): StoredRecordPages {
  const pages = () => storedPages(statements, filter, pageSize);
  return {
    pages,
    async *[Symbol.asyncIterator]() {
      for await (const page of pages()) yield* page;
    },
  };
}

/**
 * The pages as an iterator written out, not an async generator: a generator keeps the page it
 * yielded referenced while suspended, that is for as long as the export waits for the disk, and
 * V8's young generation then grows with what survives its scavenges (to 128 MB on Node 24). Here
 * nothing is kept between pages but where to resume.
 */
function storedPages(statements: StatementCache, filter: AuditFilter, pageSize: number): AsyncIterable<StoredRecordText[]> {
  return {
    [Symbol.asyncIterator]() {
      const run = runOf(statements, filter);
      const { sql, params } = auditPageQuery(run ?? {});
      const stmt = statements.getRaw(sql);
      const state = { after: 0, full: run !== undefined };
      let started = false;
      return {
        async next(): Promise<IteratorResult<StoredRecordText[]>> {
          while (state.full) {
            // Let other work (writers, timers) run between pages.
            if (started) await new Promise<void>((resolve) => setImmediate(resolve));
            started = true;
            const page = nextStoredPage(stmt, params, pageSize, state);
            if (page.length) return { done: false, value: page };
          }
          return { done: true, value: undefined };
        },
        async return(): Promise<IteratorResult<StoredRecordText[]>> {
          state.full = false;
          return { done: true, value: undefined };
        },
      };
    },
  };
}

function nextStoredPage(stmt: Database.Statement, params: Record<string, unknown>, pageSize: number, state: { after: number; full: boolean }): StoredRecordText[] {
  const rows = stmt.all({ ...params, after: state.after, limit: pageSize }) as [seq: number, hash: string, record: string][];
  const page = new Array<StoredRecordText>(rows.length);
  for (let i = 0; i < rows.length; i++) page[i] = { seq: rows[i][0], hash: rows[i][1], text: rows[i][2] };
  state.full = rows.length === pageSize;
  if (rows.length) state.after = rows[rows.length - 1][0];
  return page;
}
