/**
 * Read-only queries on the audit-access tables (what AuditAccessStore keeps: checkpoints, request
 * versions), for the CLI (verification, evidence bundles). A database from before those tables
 * existed reads as having none.
 */
import type Database from 'better-sqlite3';
import type { AuditCheckpoint } from '../../audit/ports';
import type { ApprovalRequest } from '../../domain/request';
import { CHECKPOINT_TRIGGERS, triggerProblems } from './migrations';

function hasTable(db: Database.Database, name: string): boolean {
  return !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);
}

/** Every checkpoint in the audit_checkpoints table, in the order they were written. */
export function readCheckpointTable(db: Database.Database): (AuditCheckpoint & { recordSeq: number | null })[] {
  if (!hasTable(db, 'audit_checkpoints')) return [];
  return db
    .prepare('SELECT seq, hash, time, key_id AS keyId, signature, record_seq AS recordSeq FROM audit_checkpoints ORDER BY id')
    .all() as (AuditCheckpoint & { recordSeq: number | null })[];
}

/** Whether the checkpoint table lost its append-only triggers, or has others in their place (only meaningful when it exists). */
export function missingCheckpointTriggers(db: Database.Database): string[] {
  if (!hasTable(db, 'audit_checkpoints')) return [];
  return triggerProblems(db, CHECKPOINT_TRIGGERS);
}

/** The hash column of the record at `seq` (trustworthy once the chain up to it has verified). */
export function recordHashAt(db: Database.Database, seq: number): string | undefined {
  return db.prepare('SELECT hash FROM audit_log WHERE seq = ?').pluck().get(seq) as string | undefined;
}

export function readRequestVersions(db: Database.Database, requestId: string): ApprovalRequest[] {
  if (!hasTable(db, 'request_versions')) return [];
  const bodies = db.prepare('SELECT body FROM request_versions WHERE request_id = ? ORDER BY version').pluck().all(requestId) as string[];
  return bodies.map((b) => JSON.parse(b) as ApprovalRequest);
}

