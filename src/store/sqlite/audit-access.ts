/**
 * The audit access tables in SQLite (AuditAccessStore, src/audit/ports.ts): checkpoints, download
 * links, export manifests and request versions. Writes go through the group committer, together with their audit events.
 */
import type Database from 'better-sqlite3';
import type { AuditCheckpoint, AuditAccessStore, DownloadClaim, DownloadLink } from '../../audit/ports';
import type { AuditIndexSchema } from '../../audit/verify/schema-findings';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import type { ApprovalRequest } from '../../domain/request';
import type { StoreWriter } from './writer';
import { REQUESTS_WITHOUT_ROW, type RequestWithoutRow } from '../request-rows';
import { AUDIT_TRIGGERS, CHECKPOINT_TRIGGERS, triggerProblems } from './migrations';
import { sqliteSchema } from './verify-database';
import { requestIndexEntries } from './index-entries';
import { linkOf, type LinkRow } from '../download-link-rows';

interface CheckpointRow {
  seq: number;
  hash: string;
  time: string;
  keyId: string;
  signature: string;
  recordSeq: number | null;
}

export class SqliteAuditAccessStore implements AuditAccessStore {
  private readonly lastCheckpointStmt: Database.Statement;
  private readonly getLink: Database.Statement;
  private readonly getLinkById: Database.Statement;
  private readonly getManifest: Database.Statement;
  private readonly versions: Database.Statement;
  private readonly hashAt: Database.Statement;
  private readonly withoutRow: Database.Statement;
  private readonly naming: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly writer: StoreWriter,
  ) {
    this.lastCheckpointStmt = db.prepare(
      'SELECT seq, hash, time, key_id AS keyId, signature, record_seq AS recordSeq FROM audit_checkpoints ORDER BY seq DESC, id DESC LIMIT 1',
    );
    this.getLink = db.prepare('SELECT link, used_at AS usedAt, export_id AS exportId FROM audit_downloads WHERE token_hash = ?');
    this.getLinkById = db.prepare('SELECT link, used_at AS usedAt, export_id AS exportId FROM audit_downloads WHERE link_id = ?');
    this.getManifest = db.prepare('SELECT manifest FROM audit_exports WHERE export_id = ?').pluck();
    this.versions = db.prepare('SELECT body FROM request_versions WHERE request_id = ? ORDER BY version').pluck();
    this.hashAt = db.prepare('SELECT hash FROM audit_log WHERE seq = ?').pluck();
    this.withoutRow = db.prepare(REQUESTS_WITHOUT_ROW);
    // The table's rows by seq (the rowid), not an index that could leave some out.
    this.naming = db.prepare('SELECT count(*) AS records, count(request_id) AS requests, count(actor_id) AS actors FROM audit_log NOT INDEXED WHERE seq > ? AND seq <= ?');
  }

  async recordHashes(seqs: readonly number[]): Promise<Map<number, string>> {
    // A point read by the primary key each, on the reader connection (microseconds apiece).
    const out = new Map<number, string>();
    for (const seq of new Set(seqs)) {
      const hash = this.hashAt.get(seq) as string | undefined;
      if (hash !== undefined) out.set(seq, hash);
    }
    return out;
  }

  async saveCheckpoint(checkpoint: AuditCheckpoint, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    return (await this.writer.submit('saveCheckpoint', [checkpoint], events)).records;
  }

  async lastCheckpoint(): Promise<(AuditCheckpoint & { recordSeq: number | null }) | undefined> {
    return this.lastCheckpointStmt.get() as CheckpointRow | undefined;
  }

  async saveDownloadLink(link: DownloadLink, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    return (await this.writer.submit('saveDownloadLink', [link], events)).records;
  }

  async claimDownloadLink(tokenHash: string, at: string): Promise<DownloadClaim> {
    return (await this.writer.submit('claimDownloadLink', [tokenHash, at], [], { singleStatement: true })).value;
  }

  async getDownloadLink(tokenHash: string): Promise<(DownloadLink & { usedAt?: string; exportId?: string }) | undefined> {
    return linkOf(this.getLink.get(tokenHash) as LinkRow | undefined);
  }

  async getDownloadLinkById(linkId: string): Promise<(DownloadLink & { usedAt?: string; exportId?: string }) | undefined> {
    return linkOf(this.getLinkById.get(linkId) as LinkRow | undefined);
  }

  async saveExportManifest(exportId: string, createdAt: string, manifest: object, events: AuditEventDraft[], tokenHash?: string): Promise<AuditRecord[]> {
    const text = JSON.stringify(manifest);
    return (await this.writer.submit('saveExportManifest', [exportId, createdAt, text, tokenHash ?? null], events)).records;
  }

  async getExportManifest(exportId: string): Promise<object | undefined> {
    const text = this.getManifest.get(exportId) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as object);
  }

  async requestVersions(requestId: string): Promise<ApprovalRequest[]> {
    return (this.versions.all(requestId) as string[]).map((b) => JSON.parse(b) as ApprovalRequest);
  }

  async requestsWithoutRow(): Promise<RequestWithoutRow[]> {
    return this.withoutRow.all() as RequestWithoutRow[];
  }

  async missingProtection(): Promise<string[]> {
    return triggerProblems(this.db, [...AUDIT_TRIGGERS, ...CHECKPOINT_TRIGGERS]);
  }

  auditIndexSchema(): AuditIndexSchema {
    const schema = sqliteSchema(this.db);
    return {
      auditIndexes: schema.auditIndexes,
      // The index by request a window of entries at a time (the running bot's thread is not held); any other as verify counts it.
      auditIndexEntries: async (index, lastSeq) =>
        index.name === 'audit_log_request' && index.state === 'as-made' ? { entries: await requestIndexEntries(this.db, lastSeq), past: 0 } : schema.auditIndexEntries(index, lastSeq),
    };
  }

  async damage(): Promise<string | undefined> {
    let found: string[];
    try {
      found = (this.db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check);
    } catch (err) {
      found = [(err as Error).message];
    }
    if (found.length === 1 && found[0] === 'ok') return undefined;
    return `the SQLite database ${this.db.name} is damaged (PRAGMA quick_check: ${found.join('; ')})`;
  }

  async recordsNaming(after: number, upTo: number): Promise<{ records: number; requests: number; actors: number }> {
    return this.naming.get(after, upTo) as { records: number; requests: number; actors: number };
  }
}
