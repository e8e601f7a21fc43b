/**
 * Sealing an audit event into the hash chain. Every backend calls this, so a record written by
 * SQLite and one written by PostgreSQL are byte-for-byte the same for the same draft and position.
 */
import type { ChainHead } from '../app/ports';
import { AUDIT_SCHEMA_VERSION, GENESIS_HASH } from '../domain/audit';
import type { AuditEventDraft, AuditRecord } from '../domain/audit';
import { hash as digest } from 'node:crypto';
import { canonicalJson } from '../domain/canonical';
import { neutralCopy } from './seal-json';

export interface SealedRecord {
  record: AuditRecord;
  /** RFC 8785 canonical JSON of the whole record (hash included): what the store keeps and exports. */
  text: string;
}

/** sha256Hex, one-shot (no Hash object per record). */
function sha256(text: string): string {
  return digest('sha256', text, 'hex');
}

/** Fields the chain owns: a draft cannot set them. */
const CHAIN_FIELDS = new Set(['schemaVersion', 'id', 'seq', 'prevHash', 'hash']);

/**
 * The record that follows `prev` (or starts the chain): neutralise(draft) plus the chain fields, and
 * hash = auditRecordHash(record). The hashed bytes and the stored bytes (the same plus "hash") are
 * joined from the same serialised pieces.
 */
export function sealRecord(draft: AuditEventDraft, prev: ChainHead | undefined, id: string): SealedRecord {
  const source = draft as unknown as Record<string, unknown>;
  const content: Record<string, unknown> = {};
  for (const key of Object.keys(source)) if (!CHAIN_FIELDS.has(key)) content[key] = source[key];
  content.schemaVersion = AUDIT_SCHEMA_VERSION;
  content.id = id;
  content.seq = (prev?.seq ?? 0) + 1;
  content.prevHash = prev?.hash ?? GENESIS_HASH;

  const copy = neutralCopy(content);
  const record = copy.value as Record<string, unknown>;
  if (copy.indexKeys) {
    // Rare: keys JavaScript would order numerically. Take the reference path.
    const hash = sha256(canonicalJson(record));
    record.hash = hash;
    return { record: record as unknown as AuditRecord, text: canonicalJson(record) };
  }
  // Keys are in sorted order in the copy; serialise those before and after "hash" separately so
  // the hashed text and the stored text are joined from the same two pieces.
  const low: Record<string, unknown> = {};
  const high: Record<string, unknown> = {};
  for (const key of Object.keys(record)) (key < 'hash' ? low : high)[key] = record[key];
  const lowText = JSON.stringify(low).slice(1, -1);
  const highText = JSON.stringify(high).slice(1, -1);
  const hash = sha256(lowText ? `{${lowText},${highText}}` : `{${highText}}`);
  record.hash = hash;
  const member = `"hash":"${hash}"`;
  return { record: record as unknown as AuditRecord, text: lowText ? `{${lowText},${member},${highText}}` : `{${member},${highText}}` };
}
