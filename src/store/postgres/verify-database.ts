/**
 * Verifying the audit log as it lies in PostgreSQL, trusting nothing but the stored record text:
 * the rows are read in seq order and handed to the same verification the SQLite file and the
 * exports go through (src/audit/verify.ts), after checking that the indexed columns agree with the
 * record. This catches what a superuser can do with the triggers disabled: edited, deleted,
 * renumbered or duplicated rows, and columns changed to mislead filtered reads.
 */
import type pg from 'pg';
import { ChainDefect, verifyChain } from '../../audit/verify/verify';
import type { ChainVerification, VerifyOptions } from '../../audit/verify/verify';
import type { AuditRecord } from '../../domain/audit';
import { AUDIT_TRIGGERS } from './migrations';

export interface PostgresVerification extends ChainVerification {
  /** The database, without secrets. */
  target: string;
  /** Signs of interference that do not break the chain itself (append-only triggers missing or disabled). */
  warnings: string[];
}

type Row = [seq: number, id: string, time: string, type: string, requestId: string | null, actorId: string | null, prevHash: string, hash: string, record: string];

const COLUMNS = ['seq', 'id', 'time', 'type', 'request_id', 'actor_id', 'prev_hash', 'hash'] as const;
const PAGE = 1000;

function columnsDisagree(row: Row, r: AuditRecord): string | undefined {
  const expected: unknown[] = [undefined, r.id, r.time, r.type, r.request?.id ?? null, r.actor?.aadObjectId ?? null, r.prevHash, r.hash];
  for (let i = 1; i < expected.length; i++) {
    if (row[i] !== expected[i]) {
      return `its ${COLUMNS[i]} column says ${JSON.stringify(row[i])} but the record itself says ${JSON.stringify(expected[i])}`;
    }
  }
  return undefined;
}

async function* rawRecords(pool: pg.Pool): AsyncGenerator<AuditRecord> {
  let after = Number.MIN_SAFE_INTEGER;
  let prevRecordSeq = 0;
  for (;;) {
    const { rows } = await pool.query<Row>({
      text: 'SELECT seq, id, time, type, request_id, actor_id, prev_hash, hash, record FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2',
      values: [after, PAGE],
      rowMode: 'array',
    });
    for (const row of rows) {
      const [seq, id] = row;
      let r: AuditRecord;
      try {
        r = JSON.parse(row[8]) as AuditRecord;
      } catch {
        throw new ChainDefect('edited', `record ${seq} (id ${id}) was edited in the database: its stored text is not valid JSON.`, seq, id);
      }
      if (r && typeof r === 'object') {
        const disagreement = columnsDisagree(row, r);
        if (disagreement) throw new ChainDefect('edited', `record ${seq} (id ${id}) was edited in the database: ${disagreement}.`, seq, id);
        if (r.seq === prevRecordSeq + 1 && seq !== r.seq) {
          throw new ChainDefect('edited', `record ${r.seq} (id ${r.id}) was moved in the database: it is filed under seq ${seq}.`, r.seq, r.id);
        }
        prevRecordSeq = r.seq;
      }
      yield r;
    }
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1][0];
  }
}

/** Append-only triggers of a table that are missing or disabled. */
export async function missingTriggers(pool: pg.Pool, table: string, expected: readonly string[]): Promise<string[]> {
  const r = await pool.query<{ tgname: string }>(
    "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal AND tgenabled <> 'D'",
    [table],
  );
  const present = new Set(r.rows.map((x) => x.tgname));
  return expected.filter((t) => !present.has(t));
}

export async function verifyPostgresAuditLog(pool: pg.Pool, target: string, options: VerifyOptions = {}): Promise<PostgresVerification> {
  const missing = await missingTriggers(pool, 'audit_log', AUDIT_TRIGGERS);
  const warnings = missing.length
    ? [`the append-only protection of the audit log is missing or disabled (triggers: ${missing.join(', ')}): someone changed the database schema by hand`]
    : [];
  const result = await verifyChain(rawRecords(pool), options);
  return { ...result, target, warnings };
}
