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
 * each page resumes where the last one stopped. `scan`: no index at all (NOT INDEXED: the rowid only),
 * every record of the range read and matched, a window of seqs a page (`@windowEnd`, see nextRows).
 */
export function auditPageQuery(filter: SeqFilter, scan = false): PageQuery {
  // One lower bound on seq: given two (seq > @after AND seq >= @fromSeq), SQLite ranges the rowid
  // scan on the first and filters by the second, so a read from the log's end scanned all of it
  // (the start's continuity check, 80 ms at 10,000 records, linear in the log).
  const where = ['seq > max(@after, @fromSeq - 1)'];
  const params: Record<string, unknown> = { fromSeq: filter.fromSeq ?? 0 };
  if (scan) where.push('seq <= @windowEnd');
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
    // NULL is what lets SQLite use that partial index). The id asked for is folded by the same
    // lower(), which folds ASCII only: folded by JavaScript's, an id holding Ä was never found.
    where.push('actor_id IS NOT NULL AND lower(actor_id) = lower(@actorId)');
    params.actorId = filter.actorId;
  }
  if (filter.types !== undefined) {
    where.push('type IN (SELECT value FROM json_each(@types))');
    params.types = JSON.stringify(filter.types);
  }
  return { sql: `SELECT seq, hash, record FROM audit_log${scan ? ' NOT INDEXED' : ''} WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`, params };
}

/**
 * Seqs a scan reads a page at most, in pages: a filter that takes few records (one request's, in a
 * long log) would otherwise read the whole log in one statement while the thread waits (about 1 s of
 * CPU a million records, every page of the table read); a window of 10 pages of 500 (5,000 seqs)
 * takes about 5 ms.
 */
const SCAN_WINDOW_PAGES = 10;

/** Where a read stands between pages: the seq the next page starts after, and whether there is one. */
interface Walk {
  after: number;
  more: boolean;
}

const HEAD_SEQ = 'SELECT MAX(seq) FROM audit_log';

/** A read's start: a scan's first window begins at the run's first seq, not at the log's. */
function startOf(run: SeqFilter, scan: boolean): Walk {
  return { after: scan ? Math.max(0, (run.fromSeq ?? 0) - 1) : 0, more: true };
}

/**
 * The next page's rows. Through the indexes, the next `limit` records the filter takes, and the read
 * ends at a page that is not full. A scan reads a window of SCAN_WINDOW_PAGES pages of seqs at most:
 * a page not full ends its window, and the read ends at the window that reached the run's end, or
 * the head as it was when the window was read (records appended before it are read, as they are
 * through the indexes).
 */
function nextRows<R>(statements: StatementCache, stmt: Database.Statement, params: Record<string, unknown>, walk: Walk, limit: number, scan: SeqFilter | undefined, seqOf: (row: R) => number): R[] {
  if (!scan) {
    const rows = stmt.all({ ...params, after: walk.after, limit }) as R[];
    walk.more = rows.length === limit;
    if (rows.length) walk.after = seqOf(rows[rows.length - 1]);
    return rows;
  }
  // The end as it is before the window is read: every record up to it is there to be read, so a
  // window that ends before it was read whole.
  const end = scan.toSeq ?? ((statements.get(HEAD_SEQ).pluck().get() as number | null) ?? 0);
  const windowEnd = walk.after + limit * SCAN_WINDOW_PAGES;
  const rows = stmt.all({ ...params, after: walk.after, windowEnd, limit }) as R[];
  if (rows.length === limit) {
    walk.after = seqOf(rows[rows.length - 1]);
    return rows;
  }
  walk.after = windowEnd;
  walk.more = windowEnd < end;
  return rows;
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
  scan = false,
): AsyncGenerator<AuditRecord> {
  const run = runOf(statements, filter);
  if (!run) return;
  const { sql, params } = auditPageQuery(run, scan);
  const stmt = statements.get(sql);
  const walk = startOf(run, scan);
  for (;;) {
    const rows = nextRows<{ seq: number; record: string }>(statements, stmt, params, walk, pageSize, scan ? run : undefined, (row) => row.seq);
    for (const row of rows) yield JSON.parse(row.record) as AuditRecord;
    if (!walk.more) return;
    // Let other work (writers, timers) run between pages.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * The same pages, each record as its stored canonical text (not parsed), for exports: record by
 * record, or page by page (`pages()`, which spares the large exports one await per record). A scan
 * always (AuditReadOptions.scan): what is exported is every record of the range the filter takes,
 * whatever the indexes hold.
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
      // Undefined: the time window selects nothing.
      const selected = runOf(statements, filter);
      const run = selected ?? {};
      const { sql, params } = auditPageQuery(run, true);
      const stmt = statements.getRaw(sql);
      const walk = startOf(run, true);
      walk.more = selected !== undefined;
      let started = false;
      return {
        async next(): Promise<IteratorResult<StoredRecordText[]>> {
          while (walk.more) {
            // Let other work (writers, timers) run between pages.
            if (started) await new Promise<void>((resolve) => setImmediate(resolve));
            started = true;
            const page = nextStoredPage(statements, stmt, params, pageSize, walk, run);
            if (page.length) return { done: false, value: page };
          }
          return { done: true, value: undefined };
        },
        async return(): Promise<IteratorResult<StoredRecordText[]>> {
          walk.more = false;
          return { done: true, value: undefined };
        },
      };
    },
  };
}

type RawRow = [seq: number, hash: string, record: string];

function nextStoredPage(statements: StatementCache, stmt: Database.Statement, params: Record<string, unknown>, pageSize: number, walk: Walk, run: SeqFilter): StoredRecordText[] {
  const rows = nextRows<RawRow>(statements, stmt, params, walk, pageSize, run, (row) => row[0]);
  const page = new Array<StoredRecordText>(rows.length);
  for (let i = 0; i < rows.length; i++) page[i] = { seq: rows[i][0], hash: rows[i][1], text: rows[i][2] };
  return page;
}
