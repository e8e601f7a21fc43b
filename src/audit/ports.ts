/**
 * What the audit trail's own use cases (src/audit/access) keep beside the audit log: signed
 * checkpoints of the chain head, single-use download links, the signed manifests of exports, and
 * every saved version of each request (AuditAccessStore). Like the other stores, every write that carries audit events commits them with it.
 */
import type { AuditLog } from '../app/ports';
import type { AuditEventDraft, AuditRecord } from '../domain/audit';
import type { Actor, ApprovalRequest } from '../domain/request';
import type { AuditFilter } from '../domain/audit';
import type { AuditIndexSchema } from './verify/schema-findings';
import type { StoredRecordText } from './formats/encoder';

/** A signed statement that record `seq` of the audit chain has hash `hash`. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  /** When it was signed (ISO-8601 UTC). */
  time: string;
  keyId: string;
  /** Ed25519 signature (base64) over the checkpoint's signed text (see checkpoints.ts). */
  signature: string;
}

export type ExportFormat = 'jsonl' | 'csv' | 'ocsf';

/** What a download link hands out: one export, asked for by one auditor. */
export interface DownloadLink {
  /** SHA-256 of the link's secret: the secret itself is never stored. */
  tokenHash: string;
  /** A public name for the link, recorded in the audit trail. */
  linkId: string;
  format: ExportFormat;
  filter: AuditFilter;
  requestedBy: Actor;
  createdAt: string;
  expiresAt: string;
}

/** A download link not saved: its linkId is taken (one derived from a message another sending of it used, links.ts). */
export class DuplicateDownloadLinkError extends Error {
  constructor(readonly linkId: string) {
    super(`a download link named ${linkId} already exists`);
    this.name = 'DuplicateDownloadLinkError';
  }
}

export type DownloadClaim =
  | { ok: true; link: DownloadLink }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'used'; link: DownloadLink; usedAt: string };

export interface AuditAccessStore {
  /** Saves a checkpoint with its audit events, in one transaction. */
  saveCheckpoint(checkpoint: AuditCheckpoint, events: AuditEventDraft[]): Promise<AuditRecord[]>;
  /**
   * The stored hash of each record named by seq (a seq with no record is left out): what the
   * checkpoints of a start are checked against, in one read however many there are.
   */
  recordHashes(seqs: readonly number[]): Promise<Map<number, string>>;
  /** The newest checkpoint, with the seq of the audit.checkpoint record saved with it. */
  lastCheckpoint(): Promise<(AuditCheckpoint & { recordSeq: number | null }) | undefined>;
  /**
   * Saves a new link with its audit events, in one transaction. Throws DuplicateDownloadLinkError,
   * saving nothing, when its linkId is taken: of links saved at once under one name (across
   * instances too), exactly one is saved.
   */
  saveDownloadLink(link: DownloadLink, events: AuditEventDraft[]): Promise<AuditRecord[]>;
  /**
   * Marks the link used, atomically: of any number of concurrent claims (across processes and
   * restarts) exactly one succeeds; the others learn it was used, and when.
   */
  claimDownloadLink(tokenHash: string, at: string): Promise<DownloadClaim>;
  /** The link, whether used or not (for its manifest). */
  getDownloadLink(tokenHash: string): Promise<(DownloadLink & { usedAt?: string; exportId?: string }) | undefined>;
  /** The link of that linkId, whether used or not (what a message sent again already got). */
  getDownloadLinkById(linkId: string): Promise<(DownloadLink & { usedAt?: string; exportId?: string }) | undefined>;
  /**
   * Keeps the signed manifest of a finished export with its audit events, in one transaction;
   * `tokenHash` ties it to the link that served it.
   */
  saveExportManifest(exportId: string, createdAt: string, manifest: object, events: AuditEventDraft[], tokenHash?: string): Promise<AuditRecord[]>;
  getExportManifest(exportId: string): Promise<object | undefined>;
  /** Every saved version of a request, oldest first (empty when there is no such request). */
  requestVersions(requestId: string): Promise<ApprovalRequest[]>;
  /**
   * Each request (at most 100) whose row is gone while its versions (append-only) remain, as last
   * saved: deleted outside Countersign, which never deletes a request.
   */
  requestsWithoutRow(): Promise<{ id: string; state: string; updatedAt: string }[]>;
  /**
   * The append-only triggers of the audit log and the checkpoint table that are missing or disabled
   * (empty while the protection is whole): someone changed the schema by hand.
   */
  missingProtection(): Promise<string[]>;
  /** The indexes of the audit log, as `audit verify` judges and counts them. */
  auditIndexSchema(): AuditIndexSchema;
  /**
   * How many records with seq in (after, upTo] there are, and how many name a request, and an actor:
   * counted off the table itself, not through its indexes.
   */
  recordsNaming(after: number, upTo: number): Promise<{ records: number; requests: number; actors: number }>;
  /**
   * What the database's own integrity check finds wrong with its file, in words, or undefined when
   * it is whole (SQLite: a damaged file can read as a shorter log; a store without one leaves it out).
   * Asked only when the start's continuity check found records missing: it reads the whole file.
   */
  damage?(): Promise<string | undefined>;
}

/**
 * The audit log with what src/audit/access keeps beside it: what checkpoints, exports and auditor
 * access use.
 */
export interface AuditStore {
  /**
   * With `readStored` (SQLite and PostgreSQL), exports read each record's stored text, a scan as
   * AuditReadOptions.scan reads: written as it is, and a text not in the canonical form it was sealed
   * in is found as it is encoded (export.ts, alteredInLog). Without it, parsed records.
   */
  audit: AuditLog & { readStored?(filter?: AuditFilter): AsyncIterable<StoredRecordText> };
  auditAccess: AuditAccessStore;
}

/**
 * Refusals of callers nobody authenticated (an export link or API call without a valid credential),
 * recorded one by one up to a budget a minute and counted past it: `admit` says whether to record
 * this one; `flush` records the count. The composition root gives the app's RefusalBudget
 * (src/app/refusal-budget.ts), which the bot's own refusals use too.
 */
export interface RefusalGate {
  admit(reason: string, remoteAddress: string | undefined): boolean;
  flush(): Promise<void>;
}
