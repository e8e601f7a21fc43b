/**
 * Read-only access to a PostgreSQL store for the CLI (verification, evidence): the chain, the
 * checkpoint table and request versions, while the bots keep writing.
 */
import type pg from 'pg';
import type { AuditFilter, ChainHead } from '../../domain/audit';
import type { AuditCheckpoint } from '../../audit/ports';
import type { AuditRecord } from '../../domain/audit';
import type { ApprovalRequest } from '../../domain/request';
import { readHead, readRecords } from './audit-log';
import { createPool, describeTarget, explainConnectionError, PostgresStartupError } from './connection';
import type { PostgresConnectionOptions } from './connection';
import { missingSchemaError, unusableSchemaError } from './schema-access';
import { CHECKPOINT_TRIGGERS } from './schema-protection';
import { EXPECTED_SCHEMA_VERSION } from './schema-versions';
import { missingTriggers } from './verify-database';

export class PostgresAuditReader {
  constructor(readonly pool: pg.Pool) {}

  read(filter: AuditFilter = {}): AsyncIterable<AuditRecord> {
    return readRecords(this.pool, filter);
  }

  head(): Promise<ChainHead | undefined> {
    return readHead(this.pool);
  }

  /** Every checkpoint in the table, in the order they were written. */
  async checkpoints(): Promise<(AuditCheckpoint & { recordSeq: number | null })[]> {
    const r = await this.pool.query<AuditCheckpoint & { recordSeq: number | null }>(
      'SELECT seq, hash, time, key_id AS "keyId", signature, record_seq AS "recordSeq" FROM audit_checkpoints ORDER BY id',
    );
    return r.rows.map((row) => ({ ...row }));
  }

  missingCheckpointTriggers(): Promise<string[]> {
    return missingTriggers(this.pool, 'audit_checkpoints', CHECKPOINT_TRIGGERS);
  }

  /** The hash column of every record at the given seqs (trustworthy once the chain up to them verified). */
  async hashesAt(seqs: readonly number[]): Promise<Map<number, string>> {
    const r = await this.pool.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_log WHERE seq = ANY($1::bigint[])', [seqs]);
    return new Map(r.rows.map((row) => [row.seq, row.hash]));
  }

  async requestVersions(requestId: string): Promise<ApprovalRequest[]> {
    const r = await this.pool.query<{ body: string }>('SELECT body FROM request_versions WHERE request_id = $1 ORDER BY version', [requestId]);
    return r.rows.map((row) => JSON.parse(row.body) as ApprovalRequest);
  }

  async request(requestId: string): Promise<ApprovalRequest | undefined> {
    const r = await this.pool.query<{ body: string }>('SELECT body FROM requests WHERE id = $1', [requestId]);
    return r.rows[0] ? (JSON.parse(r.rows[0].body) as ApprovalRequest) : undefined;
  }
}

/**
 * A read-only look at a PostgreSQL store (verification while the bots write): connects, checks the
 * schema is Countersign's at the expected version, changes nothing; SELECT is all it needs.
 */
export async function openPostgresAuditReader(connection: PostgresConnectionOptions): Promise<PostgresAuditReader & { close(): Promise<void> }> {
  const pool = createPool({ ...connection, max: Math.min(connection.max ?? 4, 4) });
  try {
    const target = describeTarget(connection);
    let version: number | undefined;
    let schemaProblem: PostgresStartupError | undefined;
    try {
      // A schema that is not there, or that this role may not use, shows no tables: named as such, not as "not Countersign's".
      schemaProblem = (await missingSchemaError(pool, target, connection.schema)) ?? (await unusableSchemaError(pool, target, connection.schema, true));
      const exists = await pool.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
      if (exists.rows[0].t) version = (await pool.query<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_migrations')).rows[0].v;
    } catch (err) {
      throw explainConnectionError(err, connection, true);
    }
    if (schemaProblem) throw schemaProblem;
    if (version === undefined || version === 0) throw new PostgresStartupError(`${target} is not a Countersign database: it has no schema_migrations table`);
    if (version !== EXPECTED_SCHEMA_VERSION) {
      throw new PostgresStartupError(
        `${target}: the database schema is at version ${version}, this Countersign reads version ${EXPECTED_SCHEMA_VERSION}: use the Countersign of the database's version`,
      );
    }
  } catch (err) {
    await pool.end();
    throw err;
  }
  const reader = new PostgresAuditReader(pool);
  return Object.assign(reader, { close: () => pool.end() });
}
