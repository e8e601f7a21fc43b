/**
 * The shape of an incoming Bot Framework activity, checked before anything reads it: the fields
 * Countersign and botbuilder use have the JSON types the Bot Framework schema gives them. A body
 * that fails is answered 400 with the first problem found, in a few words; nothing in it is trusted
 * or recorded (it is not authenticated yet, and may not even name anyone).
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Optional members that must be strings when present. */
const STRING_FIELDS = ['id', 'channelId', 'serviceUrl', 'text', 'textFormat', 'replyToId', 'name', 'locale', 'timestamp', 'localTimestamp', 'deliveryMode', 'inputHint', 'speak', 'summary', 'action'];
const ACCOUNT_STRINGS = ['id', 'name', 'aadObjectId', 'role'];
const CONVERSATION_STRINGS = ['id', 'tenantId', 'conversationType', 'name', 'aadObjectId', 'role'];
const ARRAYS = ['entities', 'attachments', 'membersAdded', 'membersRemoved', 'reactionsAdded', 'reactionsRemoved'];
/** How many entries an activity's arrays may hold: Teams sends a handful. */
const MAX_ARRAY = 100;

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * How deep `from`, `recipient` and `conversation` may nest objects and arrays. They are stored as the
 * conversation's reference (JSON), and a member thousands of levels deep made JSON.stringify throw
 * (the turn failed); Teams sends them flat, with at most a `properties` object or so inside.
 */
const MAX_REFERENCE_DEPTH = 8;

/** Whether v nests objects or arrays deeper than `levels` (v itself being the first level). */
function nestsDeeper(v: unknown, levels: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (levels === 0) return true;
  return Object.values(v).some((m) => nestsDeeper(m, levels - 1));
}

/**
 * The first character of a conversation id that an HTTP header cannot carry (Node's rule: tab,
 * printable ASCII and U+0080–U+00FF), with where it stands. Every reply and card update names the
 * conversation in the Bot Connector's x-ms-conversation-id header: with such a character in the id
 * nothing at all could be sent there (Node throws before the request leaves), and the turn failed.
 * Teams' conversation ids are ASCII (19:…@thread.tacv2, a:…, 29:…).
 */
function unsendableCharacter(id: string): string | undefined {
  const at = id.search(/[^\t\x20-\x7e\x80-\xff]/);
  if (at < 0) return undefined;
  const code = id.charCodeAt(at).toString(16).toUpperCase().padStart(4, '0');
  return `U+${code} (at position ${at + 1})`;
}

/**
 * Half of a UTF-16 surrogate pair standing alone in an activity's id, with where it stands. Every
 * reply names the activity it answers in the path of its URL, which cannot encode it
 * (encodeURIComponent throws): nothing could be said, and the turn failed.
 */
function loneSurrogate(id: string): string | undefined {
  const at = id.search(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  return at < 0 ? undefined : `U+${id.charCodeAt(at).toString(16).toUpperCase()} (at position ${at + 1})`;
}

function accountProblem(where: string, v: unknown): string | undefined {
  if (!isObject(v)) return `${where} must be an object`;
  for (const k of ACCOUNT_STRINGS) if (v[k] !== undefined && typeof v[k] !== 'string') return `${where}.${k} must be a string`;
  return undefined;
}

/** The first problem with the body as an activity, or undefined when its shape is sound. */
export function activityProblem(body: unknown): string | undefined {
  if (!isObject(body)) return 'the body must be a JSON object (a Bot Framework activity)';
  if (typeof body.type !== 'string' || !body.type) return 'type is missing or not a string';
  for (const k of STRING_FIELDS) if (body[k] !== undefined && typeof body[k] !== 'string') return `${k} must be a string`;
  const halfCharacter = typeof body.id === 'string' ? loneSurrogate(body.id) : undefined;
  if (halfCharacter) return `id holds ${halfCharacter}, half of a character: no reply can name it`;
  // Where every answer goes: an activity without it cannot be answered at all.
  if (typeof body.serviceUrl !== 'string' || !isHttpUrl(body.serviceUrl)) return 'serviceUrl is missing or not an http(s) URL';
  if (!isObject(body.conversation)) return 'conversation is missing or not an object';
  for (const k of CONVERSATION_STRINGS) if (body.conversation[k] !== undefined && typeof body.conversation[k] !== 'string') return `conversation.${k} must be a string`;
  if (typeof body.conversation.id !== 'string' || !body.conversation.id) return 'conversation.id is missing';
  const unsendable = unsendableCharacter(body.conversation.id);
  if (unsendable) return `conversation.id holds ${unsendable}, which no Teams conversation id holds: nothing can be sent there`;
  if (body.conversation.isGroup !== undefined && typeof body.conversation.isGroup !== 'boolean') return 'conversation.isGroup must be a boolean';
  // Who sent it and to whom: every reply is addressed from them.
  for (const k of ['from', 'recipient']) {
    const p = accountProblem(k, body[k]);
    if (p) return p;
    if (!(body[k] as Json).id) return `${k}.id is missing`;
  }
  for (const k of ['from', 'recipient', 'conversation']) {
    if (nestsDeeper(body[k], MAX_REFERENCE_DEPTH)) return `${k} nests objects more than ${MAX_REFERENCE_DEPTH} levels deep`;
  }
  if (body.channelData !== undefined) {
    if (!isObject(body.channelData)) return 'channelData must be an object';
    const tenant = body.channelData.tenant;
    if (tenant !== undefined && (!isObject(tenant) || (tenant.id !== undefined && typeof tenant.id !== 'string'))) return 'channelData.tenant.id must be a string';
  }
  for (const k of ARRAYS) {
    const a = body[k];
    if (a === undefined) continue;
    if (!Array.isArray(a)) return `${k} must be an array`;
    if (a.length > MAX_ARRAY) return `${k} holds more than ${MAX_ARRAY} entries`;
    if (!a.every(isObject)) return `${k} must hold objects`;
  }
  // Each entity names its type; a mention names whom (botbuilder reads entity.type and mentioned.id).
  for (const [i, e] of ((body.entities as Json[] | undefined) ?? []).entries()) {
    if (typeof e.type !== 'string' || !e.type) return `entities[${i}].type is missing or not a string`;
    if (e.type === 'mention') {
      const p = accountProblem(`entities[${i}].mentioned`, e.mentioned);
      if (p) return p;
      if (typeof (e.mentioned as Json).id !== 'string') return `entities[${i}].mentioned.id is missing`;
      if (e.text !== undefined && typeof e.text !== 'string') return `entities[${i}].text must be a string`;
    }
  }
  for (const k of ['membersAdded', 'membersRemoved']) {
    for (const m of (body[k] as unknown[] | undefined) ?? []) {
      const p = accountProblem(k, m);
      if (p) return p;
    }
  }
  if (body.value !== undefined && body.type === 'invoke' && body.name === 'adaptiveCard/action') {
    if (!isObject(body.value)) return 'value must be an object';
    const action = body.value.action;
    if (action !== undefined && !isObject(action)) return 'value.action must be an object';
  }
  return undefined;
}
