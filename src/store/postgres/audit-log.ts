/**
 * The audit log port over PostgreSQL: appends go through the writer (chain lock, durable commit),
 * reads page by seq (keyset pagination, no transaction held between pages). Reading by seq is
 * sound here because seq is assigned under the chain lock: a reader that sees seq n sees all before.
 */
import type pg from 'pg';
import type { AuditLog, AuditReadOptions } from '../../app/ports';
import type { AuditFilter, ChainHead } from '../../domain/audit';
import type { StoredRecordPages, StoredRecordText } from '../../audit/formats/encoder';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import { READ_HEAD } from './chain-append';
import type { PgWriter } from './transactions';

const DEFAULT_PAGE_SIZE = 500;

interface PageQuery {
  sql: string;
  params: unknown[];
}

/** A filter as the page query reads it: a time window already turned into seq bounds (`runOf`). */
type SeqFilter = Omit<AuditFilter, 'from' | 'to'> & { toSeq?: number };

/**
 * One page under a filter: $1 is the seq to continue after, $2 the page size. `scan`: one request's
 * or one person's records are matched on expressions no index holds (`request_id || ''`), so they
 * are found by reading the records in seq order (AuditReadOptions.scan), not through the indexes
 * by request and by actor, which a superuser can make leave records out (pg_index edited).
 */
function auditPageQuery(filter: SeqFilter, scan: boolean, columns = 'seq, hash, record'): PageQuery {
  const where = ['seq > $1'];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length + 2}`));
  };
  if (filter.fromSeq !== undefined) add('seq >= ?', filter.fromSeq);
  if (filter.toSeq !== undefined) add('seq <= ?', filter.toSeq);
  if (filter.requestId !== undefined) add(scan ? "request_id || '' = ?" : 'request_id = ?', filter.requestId);
  // An object id whatever the case of its letters, by the index on lower(actor_id); the id asked
  // for folded by the same lower() (JavaScript's folds İ otherwise, and an id holding it was never found).
  if (filter.actorId !== undefined) add(scan ? "lower(actor_id) || '' = lower(?)" : 'actor_id IS NOT NULL AND lower(actor_id) = lower(?)', filter.actorId);
  if (filter.types !== undefined) add('type = ANY(?::text[])', filter.types);
  return { sql: `SELECT ${columns} FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $2`, params };
}

/** The first record at or after `from`, and the last before `to`: each a walk along the seq index from one end, stopping at the first found. */
const RUN_START = 'SELECT seq FROM audit_log WHERE time >= $1 ORDER BY seq LIMIT 1';
const RUN_END = 'SELECT seq FROM audit_log WHERE seq >= $1 AND time < $2 ORDER BY seq DESC LIMIT 1';

/**
 * A time window selects a run of the chain: every record from the first whose time is at or after
 * `from` to the last whose time is before `to`, in seq order. Here the times of records that several
 * instances committed close together may cross (each is its instance's clock, within the allowed
 * difference, docs/faults.md): such a record inside the run is part of it, and a record deleted
 * inside the run shows as a gap in its seqs (missingFromLog), as in the whole log. The bounds are
 * read once, at the start of the read. Undefined: the window selects nothing.
 */
async function runOf(pool: pg.Pool, filter: AuditFilter): Promise<SeqFilter | undefined> {
  const { from, to, ...rest } = filter;
  if (from === undefined && to === undefined) return rest;
  let start = 1;
  if (from !== undefined) {
    const first = (await pool.query<{ seq: number }>(RUN_START, [from])).rows[0];
    if (!first) return undefined;
    start = Number(first.seq);
  }
  let end: number | undefined;
  if (to !== undefined) {
    const last = (await pool.query<{ seq: number }>(RUN_END, [start, to])).rows[0];
    if (!last) return undefined;
    end = Number(last.seq);
  }
  return { ...rest, fromSeq: Math.max(start, rest.fromSeq ?? 0), ...(end !== undefined ? { toSeq: end } : {}) };
}

/** The stored text of each record in seq order, a page at a time. */
async function* storedPages(pool: pg.Pool, filter: AuditFilter, pageSize = DEFAULT_PAGE_SIZE, scan = false): AsyncGenerator<StoredRecordText[]> {
  const run = await runOf(pool, filter);
  if (!run) return;
  const { sql, params } = auditPageQuery(run, scan);
  let after = 0;
  for (;;) {
    const r = await pool.query<[number, string, string]>({ text: sql, values: [after, pageSize, ...params], rowMode: 'array' });
    const page = r.rows.map((row) => ({ seq: row[0], hash: row[1], text: row[2] }));
    if (page.length) yield page;
    if (page.length < pageSize) return;
    after = page[page.length - 1].seq;
  }
}

function readStoredPages(pool: pg.Pool, filter: AuditFilter, pageSize?: number): StoredRecordPages {
  const pages = () => storedPages(pool, filter, pageSize, true);
  return {
    pages,
    async *[Symbol.asyncIterator]() {
      for await (const page of pages()) yield* page;
    },
  };
}

export async function* readRecords(pool: pg.Pool, filter: AuditFilter, pageSize?: number, scan = false): AsyncGenerator<AuditRecord> {
  for await (const page of storedPages(pool, filter, pageSize, scan)) {
    for (const row of page) yield JSON.parse(row.text) as AuditRecord;
  }
}

export async function readHead(pool: pg.Pool): Promise<ChainHead | undefined> {
  const row = (await pool.query<ChainHead>(READ_HEAD)).rows[0];
  return row ? { seq: row.seq, hash: row.hash } : undefined;
}

export class PostgresAuditLog implements AuditLog {
  constructor(
    private readonly writer: PgWriter,
    private readonly pageSize?: number,
  ) {}

  append(events: AuditEventDraft[]): Promise<AuditRecord[]> {
    return this.writer.append(events);
  }

  read(filter: AuditFilter = {}, options: AuditReadOptions = {}): AsyncIterable<AuditRecord> {
    return readRecords(this.writer.pool, filter, this.pageSize, options.scan === true);
  }

  /** The records' stored canonical text, unparsed (exports write it as it is), every record of the range read (a scan). */
  readStored(filter: AuditFilter = {}): StoredRecordPages {
    return readStoredPages(this.writer.pool, filter, this.pageSize);
  }

  head(): Promise<ChainHead | undefined> {
    return readHead(this.writer.pool);
  }
}
