/**
 * How long each piece of client-supplied text may be (docs/limits.md lists them). Anything longer is
 * refused with a message naming the field and its limit, and the audit trail, which can never be
 * pruned, keeps only a bounded prefix, the original length and a SHA-256 of the whole, so no record
 * grows with what a client sends.
 */
import { createHash } from 'node:crypto';
import type { Actor, Source } from './request';

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
  /** Set for an id held to its limit in UTF-8 bytes (ID_FIELDS): how many it has. */
  bytes?: number;
}

/**
 * The ids Teams sends, which the store keeps in indexed columns (conversation_refs, card_messages,
 * personal_conversations, the audit log's actor, the form state's key `<channel>/conversations/<conversation
 * id>/users/<user id>/`, which holds three of them): held to their limit in UTF-8 bytes as well as in
 * characters. PostgreSQL refuses an index entry past 2,704 bytes, and three ids within their limits in
 * characters could be three times as many bytes (a 512-character conversation id and user id of
 * three-byte characters made a form state key of 3,120 bytes: a driver error in the middle of the
 * turn). Teams' own ids are ASCII, so no real one is refused.
 */
const ID_FIELDS: ReadonlySet<InputField> = new Set<InputField>(['requestId', 'conversationId', 'activityId', 'replyToId', 'channelId', 'aadObjectId', 'tenantId', 'userId']);

/** The length of `s` in UTF-8 bytes (a lone surrogate counted as the three bytes of U+FFFD). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Whether `value` is within the limit of its kind (an id in bytes too). */
export function withinLimit(kind: InputField, value: string): boolean {
  const limit = INPUT_LIMITS[kind];
  return value.length <= limit && (!ID_FIELDS.has(kind) || value.length * 3 <= limit || utf8Length(value) <= limit);
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
    else if (!withinLimit(t.kind, t.value)) over.push({ field: t.label ?? t.kind, limit, value: t.value, bytes: utf8Length(t.value) });
  }
  return over;
}

/**
 * An id Teams' Bot Connector gave back rather than sent in an activity (the id of a message it
 * posted, of a personal chat it started) held to the limit the same field has in an activity: the
 * store indexes these ids (card_messages, conversation_refs), and PostgreSQL refuses an index entry
 * past about 2,700 bytes with a driver error, so a longer one is refused before it reaches the store,
 * in words. A click on a message with a longer id would be refused at the gate anyway (replyToId).
 */
export function connectorIdProblem(what: 'message' | 'chat', id: string): string | undefined {
  const kind = what === 'message' ? 'activityId' : 'conversationId';
  if (withinLimit(kind, id)) return undefined;
  const limit = INPUT_LIMITS[kind];
  const size = id.length > limit ? `${id.length} characters` : `${utf8Length(id)} bytes in UTF-8`;
  return `Teams gave the ${what === 'message' ? 'message it posted' : 'personal chat it started'} an id of ${size}, longer than the ${limit} Countersign takes (docs/limits.md)`;
}

/** What the person is told: each field, its length and its limit. */
export function describeOversized(over: readonly OversizedField[]): string {
  const parts = over.map((o) =>
    o.bytes !== undefined ? `${o.field} is ${o.bytes} bytes long in UTF-8 (at most ${o.limit} are accepted)` : `${o.field} is ${o.value.length} characters long (at most ${o.limit} are accepted)`,
  );
  return `Countersign refused this: ${parts.join('; ')}. Nothing was changed.`;
}

/** The audit record's view of the oversized fields: bounded, whatever was sent. */
export function oversizedForAudit(over: readonly OversizedField[]): Record<string, BoundedText & { limit: number; bytes?: number }> {
  const out: Record<string, BoundedText & { limit: number; bytes?: number }> = {};
  for (const o of over.slice(0, 16)) out[o.field.slice(0, 80)] = { ...boundedText(o.value), limit: o.limit, ...(o.bytes !== undefined ? { bytes: o.bytes } : {}) };
  return out;
}

/** Fields that carry free text, checked for layout characters where they are used (text-safety.ts). */
const FREE_TEXT: ReadonlySet<InputField> = new Set(['messageText', 'reason', 'comment', 'parameterValue', 'name']);

/** C0 and C1 controls and DEL: no id Teams sends holds one. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Half of a UTF-16 surrogate pair standing alone (JSON can carry one as an escape): no name or id
 * Teams sends holds one, and PostgreSQL cannot read a request's JSON with one in it, so a display
 * name holding one made every request and approval of that person fail to be saved there (SQLite
 * kept it). The free text a person types is refused where it is used, naming it (text-safety.ts).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Typed text whose lone surrogates are named where it is used (a request's or a comment's refusal). */
const TYPED: ReadonlySet<InputField> = new Set(['messageText', 'reason', 'comment', 'parameterValue']);

/** A field holding a character no store can keep or no id holds, and where the first one stands. */
export interface ControlledField {
  field: string;
  value: string;
  /** The character, as U+XXXX, and its position in UTF-16 units. */
  character: string;
  at: number;
  /** It is half of a surrogate pair, not a control character. */
  half?: true;
}

/**
 * Client text no part of Countersign should carry further: U+0000 in any field (PostgreSQL's text
 * cannot hold it, so a lookup with it fails instead of finding nothing), and any control character
 * in an id, verb or hash. Free text with other controls is refused where it is used, naming the field.
 */
export function controlledFields(texts: readonly ClientText[]): ControlledField[] {
  const found: ControlledField[] = [];
  for (const t of texts) {
    const control = FREE_TEXT.has(t.kind) ? t.value.indexOf('\u0000') : t.value.search(CONTROL);
    const half = TYPED.has(t.kind) ? -1 : t.value.search(LONE_SURROGATE);
    const at = control >= 0 && (half < 0 || control < half) ? control : half;
    if (at < 0) continue;
    found.push({ field: t.label ?? t.kind, value: t.value, character: `U+${t.value.charCodeAt(at).toString(16).toUpperCase().padStart(4, '0')}`, at, ...(at === half ? { half: true as const } : {}) });
  }
  return found;
}

/** What the person is told: each field and the character found in it. */
export function describeControlled(found: readonly ControlledField[]): string {
  const parts = found.map((f) => (f.half ? `${f.field} holds ${f.character} (at position ${f.at + 1}), half of a character` : `${f.field} holds the control character ${f.character} (at position ${f.at + 1})`));
  return `Countersign refused this: ${parts.join('; ')}, which no Teams message or card carries. Nothing was changed.`;
}

/** The audit record's view of those fields: bounded, whatever was sent. */
export function controlledForAudit(found: readonly ControlledField[]): Record<string, BoundedText & { character: string }> {
  const out: Record<string, BoundedText & { character: string }> = {};
  for (const f of found.slice(0, 16)) out[f.field.slice(0, 80)] = { ...boundedText(f.value), character: f.character };
  return out;
}

/** The actor as an audit record may hold it: every field within its limit. */
export function boundedActor(a: Actor): Actor {
  return { aadObjectId: clipped(a.aadObjectId, INPUT_LIMITS.aadObjectId), tenantId: clipped(a.tenantId, INPUT_LIMITS.tenantId), name: clipped(a.name, INPUT_LIMITS.name) };
}

/** The source as an audit record may hold it: every field within its limit. */
export function boundedSource(s: Source): Source {
  return {
    ...s,
    channelId: clipped(s.channelId, INPUT_LIMITS.channelId),
    conversationId: clipped(s.conversationId, INPUT_LIMITS.conversationId),
    ...(s.activityId !== undefined ? { activityId: clipped(s.activityId, INPUT_LIMITS.activityId) } : {}),
  };
}
