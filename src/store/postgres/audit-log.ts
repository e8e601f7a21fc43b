/**
 * The audit log port over PostgreSQL: appends go through the writer (chain lock, durable commit),
 * reads page by seq (keyset pagination, no transaction held between pages). Reading by seq is
 * sound here because seq is assigned under the chain lock: a reader that sees seq n sees all before.
 */
import type pg from 'pg';
import type { AuditLog } from '../../app/ports';
import type { AuditFilter, ChainHead } from '../../domain/audit';
import type { StoredRecordPages, StoredRecordText } from '../../audit/formats/encoder';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import { READ_HEAD } from './transactions';
import type { PgWriter } from './transactions';

const DEFAULT_PAGE_SIZE = 500;

interface PageQuery {
  sql: string;
  params: unknown[];
}

/** One page under a filter: $1 is the seq to continue after, $2 the page size. */
function auditPageQuery(filter: AuditFilter, columns = 'seq, hash, record'): PageQuery {
  const where = ['seq > $1'];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length + 2}`));
  };
  if (filter.fromSeq !== undefined) add('seq >= ?', filter.fromSeq);
  if (filter.from !== undefined) add('time >= ?', filter.from);
  if (filter.to !== undefined) add('time < ?', filter.to);
  if (filter.requestId !== undefined) add('request_id = ?', filter.requestId);
  if (filter.actorId !== undefined) add('actor_id = ?', filter.actorId);
  if (filter.types !== undefined) add('type = ANY(?::text[])', filter.types);
  return { sql: `SELECT ${columns} FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $2`, params };
}

/** The stored text of each record in seq order, a page at a time. */
async function* storedPages(pool: pg.Pool, filter: AuditFilter, pageSize = DEFAULT_PAGE_SIZE): AsyncGenerator<StoredRecordText[]> {
  const { sql, params } = auditPageQuery(filter);
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
  const pages = () => storedPages(pool, filter, pageSize);
  return {
    pages,
    async *[Symbol.asyncIterator]() {
      for await (const page of pages()) yield* page;
    },
  };
}

export async function* readRecords(pool: pg.Pool, filter: AuditFilter, pageSize?: number): AsyncGenerator<AuditRecord> {
  for await (const page of storedPages(pool, filter, pageSize)) {
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

  read(filter: AuditFilter = {}): AsyncIterable<AuditRecord> {
    return readRecords(this.writer.pool, filter, this.pageSize);
  }

  /** The records' stored canonical text, unparsed (exports write it as it is). */
  readStored(filter: AuditFilter = {}): StoredRecordPages {
    return readStoredPages(this.writer.pool, filter, this.pageSize);
  }

  head(): Promise<ChainHead | undefined> {
    return readHead(this.writer.pool);
  }
}
