/**
 * Verifying the audit log as it lies in the file, trusting nothing but the stored record text:
 * each hash is recomputed from the record JSON, and the indexed columns must agree with it. This
 * catches tampering done straight in the file (after dropping the append-only triggers): edited,
 * deleted, reordered or duplicated rows, and columns changed to mislead filtered exports.
 */
import type Database from 'better-sqlite3';
import type { AuditRecord } from '../../domain/audit';
import { ChainDefect, verifyChain } from '../../audit/verify';
import type { ChainVerification, VerifyOptions } from '../../audit/verify';
import { openSqliteAuditReader } from './audit-reader';
import { AUDIT_TRIGGERS } from './migrations';

export interface DatabaseVerification extends ChainVerification {
  file: string;
  /** Signs of interference that do not break the chain itself (missing append-only triggers). */
  warnings: string[];
}

interface RawRow {
  seq: number;
  id: string;
  time: string;
  type: string;
  request_id: string | null;
  actor_id: string | null;
  prev_hash: string;
  hash: string;
  record: string;
}

const PAGE = 1000;

function columnsDisagree(row: RawRow, r: AuditRecord): string | undefined {
  const expected: [keyof RawRow, unknown][] = [
    ['id', r.id],
    ['time', r.time],
    ['type', r.type],
    ['request_id', r.request?.id ?? null],
    ['actor_id', r.actor?.aadObjectId ?? null],
    ['prev_hash', r.prevHash],
    ['hash', r.hash],
  ];
  for (const [column, value] of expected) {
    if (row[column] !== value) {
      return `its ${column} column says ${JSON.stringify(row[column])} but the record itself says ${JSON.stringify(value)}`;
    }
  }
  return undefined;
}

async function* rawRecords(db: Database.Database): AsyncGenerator<AuditRecord> {
  const page = db.prepare(
    'SELECT seq, id, time, type, request_id, actor_id, prev_hash, hash, record FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  let after = Number.MIN_SAFE_INTEGER;
  let prevRecordSeq = 0;
  for (;;) {
    const rows = page.all(after, PAGE) as RawRow[];
    for (const row of rows) {
      let r: AuditRecord;
      try {
        r = JSON.parse(row.record) as AuditRecord;
      } catch {
        throw new ChainDefect('edited', `record ${row.seq} (id ${row.id}) was edited in the database: its stored text is not valid JSON.`, row.seq, row.id);
      }
      if (r && typeof r === 'object') {
        const disagreement = columnsDisagree(row, r);
        if (disagreement) {
          throw new ChainDefect('edited', `record ${row.seq} (id ${row.id}) was edited in the database: ${disagreement}.`, row.seq, row.id);
        }
        if (r.seq === prevRecordSeq + 1 && row.seq !== r.seq) {
          // In chain order but filed under another seq: the rows were renumbered.
          throw new ChainDefect('edited', `record ${r.seq} (id ${r.id}) was moved in the database: it is filed under seq ${row.seq}.`, r.seq, r.id);
        }
        prevRecordSeq = r.seq;
      }
      yield r;
    }
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1].seq;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export async function verifySqliteAuditLog(file: string, options: VerifyOptions = {}): Promise<DatabaseVerification> {
  const reader = openSqliteAuditReader(file);
  try {
    const present = new Set(
      reader.db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'").pluck().all() as string[],
    );
    const missing = AUDIT_TRIGGERS.filter((t) => !present.has(t));
    const warnings = missing.length
      ? [`the append-only protection of the audit log was removed (missing triggers: ${missing.join(', ')}): someone changed the database schema by hand`]
      : [];
    const result = await verifyChain(rawRecords(reader.db), options);
    return { ...result, file, warnings };
  } finally {
    reader.close();
  }
}
