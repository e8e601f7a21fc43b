/**
 * The audit access tables in PostgreSQL (AuditAccessStore, src/audit/ports.ts): checkpoints,
 * download links, export manifests and request versions. Writes that carry audit events commit them in the same transaction. A link is claimed
 * with one conditional UPDATE: of instances claiming it at once, the first to lock the row sets
 * used_at, the others re-check `used_at IS NULL` after it commits and find it used.
 */
import { REQUESTS_WITHOUT_ROW, type RequestWithoutRow } from '../request-rows';
import { AUDIT_TRIGGERS, CHECKPOINT_TRIGGERS } from './schema-protection';
import { changedFunctions, missingTriggers, postgresSchema } from './verify-database';
import type { AuditIndexSchema } from '../../audit/verify/schema-findings';
import { DuplicateDownloadLinkError, type AuditCheckpoint, type AuditAccessStore, type DownloadClaim, type DownloadLink } from '../../audit/ports';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import type { ApprovalRequest } from '../../domain/request';
import type { PgWriter } from './transactions';
import { isUniqueViolation } from './tx';
import { linkOf, type LinkRow } from '../download-link-rows';

type CheckpointRow = AuditCheckpoint & { recordSeq: number | null };


export class PostgresAuditAccessStore implements AuditAccessStore {
  constructor(private readonly writer: PgWriter) {}

  saveCheckpoint(checkpoint: AuditCheckpoint, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    return this.writer.transaction(async (tx) => {
      const records = await tx.appendEventsNow(events);
      await tx.query('INSERT INTO audit_checkpoints (seq, hash, time, key_id, signature, record_seq) VALUES ($1, $2, $3, $4, $5, $6)', [
        checkpoint.seq,
        checkpoint.hash,
        checkpoint.time,
        checkpoint.keyId,
        checkpoint.signature,
        records[0]?.seq ?? null,
      ]);
      return records;
    });
  }

  async recordHashes(seqs: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const all = [...new Set(seqs)];
    // In chunks, one round trip each.
    for (let at = 0; at < all.length; at += 5000) {
      const r = await this.writer.pool.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_log WHERE seq = ANY($1::bigint[])', [all.slice(at, at + 5000)]);
      for (const row of r.rows) out.set(Number(row.seq), row.hash);
    }
    return out;
  }

  async lastCheckpoint(): Promise<CheckpointRow | undefined> {
    const r = await this.writer.pool.query<CheckpointRow>(
      'SELECT seq, hash, time, key_id AS "keyId", signature, record_seq AS "recordSeq" FROM audit_checkpoints ORDER BY id DESC LIMIT 1',
    );
    return r.rows[0] ? { ...r.rows[0] } : undefined;
  }

  saveDownloadLink(link: DownloadLink, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    return this.writer.transaction(async (tx) => {
      try {
        await tx.query('INSERT INTO audit_downloads (token_hash, link_id, link, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
          link.tokenHash,
          link.linkId,
          JSON.stringify(link),
          link.createdAt,
          link.expiresAt,
        ]);
      } catch (err) {
        if (isUniqueViolation(err)) throw new DuplicateDownloadLinkError(link.linkId);
        throw err;
      }
      return tx.appendEvents(events);
    });
  }

  async claimDownloadLink(tokenHash: string, at: string): Promise<DownloadClaim> {
    return this.writer.transaction(async (tx): Promise<DownloadClaim> => {
      const claimed = await tx.query<{ link: string }>('UPDATE audit_downloads SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL RETURNING link', [
        at,
        tokenHash,
      ]);
      if (claimed.rows[0]) return { ok: true, link: JSON.parse(claimed.rows[0].link) as DownloadLink };
      const row = (await tx.query<LinkRow>('SELECT link, used_at AS "usedAt" FROM audit_downloads WHERE token_hash = $1', [tokenHash])).rows[0];
      if (!row) return { ok: false, reason: 'unknown' };
      return { ok: false, reason: 'used', link: JSON.parse(row.link) as DownloadLink, usedAt: row.usedAt ?? '' };
    });
  }

  async getDownloadLink(tokenHash: string): Promise<(DownloadLink & { usedAt?: string; exportId?: string }) | undefined> {
    return this.linkWhere('token_hash', tokenHash);
  }

  async getDownloadLinkById(linkId: string): Promise<(DownloadLink & { usedAt?: string; exportId?: string }) | undefined> {
    return this.linkWhere('link_id', linkId);
  }

  private async linkWhere(column: 'token_hash' | 'link_id', value: string): Promise<(DownloadLink & { usedAt?: string; exportId?: string }) | undefined> {
    const r = await this.writer.pool.query<LinkRow>(`SELECT link, used_at AS "usedAt", export_id AS "exportId" FROM audit_downloads WHERE ${column} = $1`, [value]);
    return linkOf(r.rows[0]);
  }

  saveExportManifest(exportId: string, createdAt: string, manifest: object, events: AuditEventDraft[], tokenHash?: string): Promise<AuditRecord[]> {
    const text = JSON.stringify(manifest);
    return this.writer.transaction(async (tx) => {
      await tx.query('INSERT INTO audit_exports (export_id, created_at, manifest) VALUES ($1, $2, $3)', [exportId, createdAt, text]);
      if (tokenHash) await tx.query('UPDATE audit_downloads SET export_id = $1 WHERE token_hash = $2 AND export_id IS NULL', [exportId, tokenHash]);
      return tx.appendEvents(events);
    });
  }

  async getExportManifest(exportId: string): Promise<object | undefined> {
    const r = await this.writer.pool.query<{ manifest: string }>('SELECT manifest FROM audit_exports WHERE export_id = $1', [exportId]);
    return r.rows[0] ? (JSON.parse(r.rows[0].manifest) as object) : undefined;
  }

  async requestVersions(requestId: string): Promise<ApprovalRequest[]> {
    const r = await this.writer.pool.query<{ body: string }>('SELECT body FROM request_versions WHERE request_id = $1 ORDER BY version', [requestId]);
    return r.rows.map((row) => JSON.parse(row.body) as ApprovalRequest);
  }

  async requestsWithoutRow(): Promise<RequestWithoutRow[]> {
    return (await this.writer.pool.query<RequestWithoutRow>(REQUESTS_WITHOUT_ROW)).rows;
  }

  async missingProtection(): Promise<string[]> {
    const pool = this.writer.pool;
    return [...(await missingTriggers(pool, 'audit_log', AUDIT_TRIGGERS)), ...(await missingTriggers(pool, 'audit_checkpoints', CHECKPOINT_TRIGGERS)), ...(await changedFunctions(pool))];
  }

  auditIndexSchema(): AuditIndexSchema {
    return postgresSchema(this.writer.pool);
  }

  async recordsNaming(after: number, upTo: number): Promise<{ records: number; requests: number; actors: number }> {
    const { rows } = await this.writer.pool.query<{ records: string; requests: string; actors: string }>(
      'SELECT count(*)::int8 AS records, count(request_id)::int8 AS requests, count(actor_id)::int8 AS actors FROM audit_log WHERE seq > $1 AND seq <= $2',
      [after, upTo],
    );
    return { records: Number(rows[0].records), requests: Number(rows[0].requests), actors: Number(rows[0].actors) };
  }
}
