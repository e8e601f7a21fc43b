/**
 * The compliance tables in SQLite: checkpoints, download links, export manifests and request
 * versions. Writes go through the group committer, together with their audit events.
 */
import type Database from 'better-sqlite3';
import type { AuditCheckpoint, ComplianceStore, DownloadClaim, DownloadLink } from '../../audit/ports';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import type { ApprovalRequest } from '../../domain/request';
import type { GroupCommitWriter } from './group-commit';

interface CheckpointRow {
  seq: number;
  hash: string;
  time: string;
  keyId: string;
  signature: string;
  recordSeq: number | null;
}

interface LinkRow {
  link: string;
  usedAt: string | null;
  exportId: string | null;
}

export class SqliteComplianceStore implements ComplianceStore {
  private readonly insertCheckpoint: Database.Statement;
  private readonly lastCheckpointStmt: Database.Statement;
  private readonly insertLink: Database.Statement;
  private readonly claimLink: Database.Statement;
  private readonly getLink: Database.Statement;
  private readonly linkExport: Database.Statement;
  private readonly insertManifest: Database.Statement;
  private readonly getManifest: Database.Statement;
  private readonly versions: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: GroupCommitWriter,
  ) {
    this.insertCheckpoint = db.prepare(
      'INSERT INTO audit_checkpoints (seq, hash, time, key_id, signature, record_seq) VALUES (@seq, @hash, @time, @keyId, @signature, @recordSeq)',
    );
    this.lastCheckpointStmt = db.prepare(
      'SELECT seq, hash, time, key_id AS keyId, signature, record_seq AS recordSeq FROM audit_checkpoints ORDER BY seq DESC, id DESC LIMIT 1',
    );
    this.insertLink = db.prepare(
      'INSERT INTO audit_downloads (token_hash, link_id, link, created_at, expires_at) VALUES (@tokenHash, @linkId, @link, @createdAt, @expiresAt)',
    );
    this.claimLink = db.prepare('UPDATE audit_downloads SET used_at = ? WHERE token_hash = ? AND used_at IS NULL');
    this.getLink = db.prepare('SELECT link, used_at AS usedAt, export_id AS exportId FROM audit_downloads WHERE token_hash = ?');
    this.linkExport = db.prepare('UPDATE audit_downloads SET export_id = ? WHERE token_hash = ? AND export_id IS NULL');
    this.insertManifest = db.prepare('INSERT INTO audit_exports (export_id, created_at, manifest) VALUES (?, ?, ?)');
    this.getManifest = db.prepare('SELECT manifest FROM audit_exports WHERE export_id = ?').pluck();
    this.versions = db.prepare('SELECT body FROM request_versions WHERE request_id = ? ORDER BY version').pluck();
  }

  saveCheckpoint(checkpoint: AuditCheckpoint, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    return this.writer.submit((tx) => {
      const records = tx.appendEvents(events);
      this.insertCheckpoint.run({ ...checkpointColumns(checkpoint), recordSeq: records[0]?.seq ?? null });
      return records;
    });
  }

  async lastCheckpoint(): Promise<(AuditCheckpoint & { recordSeq: number | null }) | undefined> {
    return this.lastCheckpointStmt.get() as CheckpointRow | undefined;
  }

  saveDownloadLink(link: DownloadLink, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    return this.writer.submit((tx) => {
      this.insertLink.run({ tokenHash: link.tokenHash, linkId: link.linkId, link: JSON.stringify(link), createdAt: link.createdAt, expiresAt: link.expiresAt });
      return tx.appendEvents(events);
    });
  }

  async claimDownloadLink(tokenHash: string, at: string): Promise<DownloadClaim> {
    return this.writer.submit(
      (): DownloadClaim => {
        const claimed = this.claimLink.run(at, tokenHash).changes === 1;
        const row = this.getLink.get(tokenHash) as LinkRow | undefined;
        if (!row) return { ok: false, reason: 'unknown' };
        const link = JSON.parse(row.link) as DownloadLink;
        return claimed ? { ok: true, link } : { ok: false, reason: 'used', link, usedAt: row.usedAt ?? '' };
      },
      { singleStatement: true },
    );
  }

  async getDownloadLink(tokenHash: string): Promise<(DownloadLink & { usedAt?: string; exportId?: string }) | undefined> {
    const row = this.getLink.get(tokenHash) as LinkRow | undefined;
    if (!row) return undefined;
    return {
      ...(JSON.parse(row.link) as DownloadLink),
      ...(row.usedAt ? { usedAt: row.usedAt } : {}),
      ...(row.exportId ? { exportId: row.exportId } : {}),
    };
  }

  saveExportManifest(exportId: string, createdAt: string, manifest: object, events: AuditEventDraft[], tokenHash?: string): Promise<AuditRecord[]> {
    const text = JSON.stringify(manifest);
    return this.writer.submit((tx) => {
      this.insertManifest.run(exportId, createdAt, text);
      if (tokenHash) this.linkExport.run(exportId, tokenHash);
      return tx.appendEvents(events);
    });
  }

  async getExportManifest(exportId: string): Promise<object | undefined> {
    const text = this.getManifest.get(exportId) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as object);
  }

  async requestVersions(requestId: string): Promise<ApprovalRequest[]> {
    return (this.versions.all(requestId) as string[]).map((b) => JSON.parse(b) as ApprovalRequest);
  }
}

function checkpointColumns(c: AuditCheckpoint) {
  return { seq: c.seq, hash: c.hash, time: c.time, keyId: c.keyId, signature: c.signature };
}
