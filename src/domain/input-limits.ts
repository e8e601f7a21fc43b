/**
 * How long each piece of client-supplied text may be (docs/limits.md lists them). Anything longer is
 * refused with a message naming the field and its limit, and the audit trail, which can never be
 * pruned, keeps only a bounded prefix, the original length and a SHA-256 of the whole, so no record
 * grows with what a client sends.
 */
import { createHash } from 'node:crypto';

/** Maximum length in UTF-16 code units (JavaScript string length) of each field. */
export const INPUT_LIMITS = {
  /** Request ids are like CS-7K3M9QXW. */
  requestId: 64,
  /** A card action's verb (approve, reject, cancel). */
  verb: 32,
  /** The operation hash a card carries (64 hex digits). */
  cardHash: 128,
  /** Teams conversation ids, channel thread ids included, stay well under this. */
  conversationId: 512,
  activityId: 256,
  replyToId: 256,
  channelId: 64,
  /** Entra object ids and tenant ids are GUIDs (36 characters). */
  aadObjectId: 64,
  tenantId: 64,
  /** The Teams user id (29:...) and display name. */
  userId: 512,
  name: 256,
  /** A whole typed message (the command, its parameters and its reason). */
  messageText: 4000,
  reason: 500,
  comment: 500,
  /** Each parameter value, typed or entered in a form. */
  parameterValue: 200,
} as const;

export type InputField = keyof typeof INPUT_LIMITS;

/** Text cut for the audit trail: what it began with, how long it was, and a digest of the whole. */
export interface BoundedText {
  prefix: string;
  length: number;
  sha256: string;
}

/** How many characters of an oversized value the audit record keeps. */
const AUDIT_PREFIX_LENGTH = 64;

function boundedText(value: string, prefixLength = AUDIT_PREFIX_LENGTH): BoundedText {
  return { prefix: value.slice(0, prefixLength), length: value.length, sha256: createHash('sha256').update(value, 'utf8').digest('hex') };
}

/** The value itself when within `limit`, else its prefix cut to the limit (for fields typed as strings). */
export function clipped(value: string, limit: number): string {
  return value.length <= limit ? value : value.slice(0, limit);
}

export interface OversizedField {
  /** The field, as `comment` or `parameter location`. */
  field: string;
  limit: number;
  value: string;
}

/** Client text as fields with their kind of limit; `label` overrides the name shown (parameters). */
export interface ClientText {
  kind: InputField;
  value: string;
  label?: string;
}

export function oversizedFields(texts: readonly ClientText[]): OversizedField[] {
  const over: OversizedField[] = [];
  for (const t of texts) {
    const limit = INPUT_LIMITS[t.kind];
    if (t.value.length > limit) over.push({ field: t.label ?? t.kind, limit, value: t.value });
  }
  return over;
}

/** What the person is told: each field, its length and its limit. */
export function describeOversized(over: readonly OversizedField[]): string {
  const parts = over.map((o) => `${o.field} is ${o.value.length} characters long (at most ${o.limit} are accepted)`);
  return `Countersign refused this: ${parts.join('; ')}. Nothing was changed.`;
}

/** The audit record's view of the oversized fields: bounded, whatever was sent. */
export function oversizedForAudit(over: readonly OversizedField[]): Record<string, BoundedText & { limit: number }> {
  const out: Record<string, BoundedText & { limit: number }> = {};
  for (const o of over.slice(0, 16)) out[o.field.slice(0, 80)] = { ...boundedText(o.value), limit: o.limit };
  return out;
}
