/**
 * Sealing an audit event into the hash chain. Every backend calls this, so a record written by
 * SQLite and one written by PostgreSQL are byte-for-byte the same for the same draft and position.
 */
import { hash as digest, randomBytes } from 'node:crypto';
import type { ChainHead } from '../../domain/audit';
import { AUDIT_SCHEMA_VERSION, GENESIS_HASH } from '../../domain/audit';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import { canonicalJson } from '../../domain/canonical';
import { chainedCopy } from './seal-json-fast';

export interface SealedRecord {
  record: AuditRecord;
  /** RFC 8785 canonical JSON of the whole record (hash included): what the store keeps and exports. */
  text: string;
}

/** sha256Hex, one-shot (no Hash object per record). */
function sha256(text: string): string {
  return digest('sha256', text, 'hex');
}

/** Random per process, so no text inside a record can be mistaken for it. */
const PLACEHOLDER = randomBytes(32).toString('hex');
const PLACEHOLDER_MEMBER = `"hash":"${PLACEHOLDER}"`;

/**
 * The record that follows `prev` (or starts the chain): neutralise(draft) plus the chain fields, and
 * hash = auditRecordHash(record). The chain fields replace any a draft carries.
 */
export function sealRecord(draft: AuditEventDraft, prev: ChainHead | undefined, id: string): SealedRecord {
  const copy = chainedCopy(draft, {
    schemaVersion: AUDIT_SCHEMA_VERSION,
    id,
    seq: (prev?.seq ?? 0) + 1,
    prevHash: prev?.hash ?? GENESIS_HASH,
    hash: PLACEHOLDER,
  });
  const record = copy.value as Record<string, unknown>;
  if (copy.indexKeys) {
    // Rare: keys JavaScript would order numerically. Take the reference path.
    delete record.hash;
    const hash = sha256(canonicalJson(record));
    record.hash = hash;
    return { record: record as unknown as AuditRecord, text: canonicalJson(record) };
  }
  // The copy has its keys in canonical order with "hash" holding a placeholder no record can
  // contain: one serialisation gives the stored text, and the hashed text is it minus that member.
  const stored = JSON.stringify(record);
  const at = stored.indexOf(PLACEHOLDER_MEMBER);
  const end = at + PLACEHOLDER_MEMBER.length;
  // "hash" is never last: "id" always sorts after it.
  const hash = sha256(stored.slice(0, at) + stored.slice(end + 1));
  record.hash = hash;
  // The stored text is the serialisation with the placeholder's 64 characters replaced by the hash.
  return { record: record as unknown as AuditRecord, text: stored.slice(0, at + 8) + hash + stored.slice(end - 1) };
}

/**
 * For a store that seals in the database, under its chain lock (PostgreSQL): the record's stored
 * text with random per-process placeholders where seq, prevHash and hash go. The store replaces
 * `"<seq>"` (quotes included) by the seq, `<prevHash>` by the previous hash, then hashes the text
 * without its `"hash":"<hash>",` member (hash is never last: "id" sorts after it) and puts the hash
 * in place of `<hash>`: exactly the text and hash sealRecord writes for the same position.
 */
export const SEAL_PLACEHOLDERS = { seq: randomBytes(32).toString('hex'), prevHash: randomBytes(32).toString('hex'), hash: PLACEHOLDER } as const;

export interface SealTemplate {
  /** The record, its chain fields still the placeholders until completeSealed. */
  record: Record<string, unknown>;
  template: string;
}

export function sealTemplate(draft: AuditEventDraft, id: string): SealTemplate {
  const copy = chainedCopy(draft, { schemaVersion: AUDIT_SCHEMA_VERSION, id, ...SEAL_PLACEHOLDERS });
  const record = copy.value as Record<string, unknown>;
  // Keys JavaScript would order numerically: the reference serialisation (same placeholders).
  return { record, template: copy.indexKeys ? canonicalJson(record) : JSON.stringify(record) };
}

export type SealPlaceholders = { readonly [K in keyof typeof SEAL_PLACEHOLDERS]: string };

/**
 * Seals a template at `seq` after `prevHash`, as countersign_append_sealed does in PostgreSQL: the
 * stored text and its hash, exactly what sealRecord writes for the same record and position.
 * `placeholders` are those of the process that made the template (another thread has its own).
 */
export function sealedText(template: string, seq: number, prevHash: string, placeholders: SealPlaceholders = SEAL_PLACEHOLDERS): { text: string; hash: string } {
  // Replacements are digits and hex, so replace()'s "$" patterns cannot occur in them.
  const filled = template.replace(`"${placeholders.seq}"`, String(seq)).replace(placeholders.prevHash, prevHash);
  const hash = sha256(filled.replace(`"hash":"${placeholders.hash}",`, ''));
  return { text: filled.replace(placeholders.hash, hash), hash };
}

/** The record of a template the store sealed at `seq` after `prevHash`, with the hash it computed. */
export function completeSealed(sealed: SealTemplate, seq: number, prevHash: string, hash: string): AuditRecord {
  Object.assign(sealed.record, { seq, prevHash, hash });
  return sealed.record as unknown as AuditRecord;
}
