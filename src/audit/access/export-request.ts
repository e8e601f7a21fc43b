/** Reading what an auditor asks to export: from the Teams command, or from the API's query string. */
import { AUDIT_EVENT_TYPES } from '../../domain/audit';
import type { AuditEventType, AuditFilter } from '../../domain/audit';
import { canonicalRequestId, isRequestId, requestIdAsNamed } from '../../domain/request-ids';
import type { AuditLog, RequestStore } from '../../app/ports';
import { editDistance } from '../../domain/edit-distance';
import { EXPORT_FORMATS } from './export';
import { InstantError, parseInstant } from './instant';
import type { ExportFormat } from '../ports';

export type ExportAsk = { ok: true; format: ExportFormat; filter: AuditFilter } | { ok: false; message: string };

const TEAMS_USAGE =
  'Usage: audit export <from> <to> [csv|jsonl|ocsf], e.g. "audit export 2026-11-01 2026-11-02 csv". Times are ISO-8601 in UTC; <from> is included, <to> is not. The default format is CSV.';

const KNOWN_TYPES: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);

/** A type filter's value (`--type`, the API's `type`) that is no audit event type: it would match nothing. */
export function unknownEventType(types: readonly string[]): string | undefined {
  return types.find((t) => !KNOWN_TYPES.has(t));
}

/** The known types of the typed one's family ("click.refused" for "click.refuse"), else every type. */
export function eventTypesLike(typed: string): readonly AuditEventType[] {
  const family = typed.split('.')[0].toLowerCase();
  const same = AUDIT_EVENT_TYPES.filter((t) => t.startsWith(`${family}.`));
  return same.length ? same : AUDIT_EVENT_TYPES;
}

/** An Entra object id, the only id records name their actor by: a GUID. */
const ENTRA_OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isEntraObjectId(value: string): boolean {
  return ENTRA_OBJECT_ID.test(value);
}

/** What says whether a request id names anything: the requests held, and the audit records. */
export interface RequestNames {
  requests: Pick<RequestStore, 'get'>;
  audit: Pick<AuditLog, 'read'>;
}

/**
 * Whether the store holds the request or any audit record names it: a request nothing names (a typo)
 * would make an empty export, signed and recorded as if that request had left no trace.
 */
export async function namesRequest(store: RequestNames, requestId: string): Promise<boolean> {
  if (await store.requests.get(requestId)) return true;
  for await (const _ of store.audit.read({ requestId }, { scan: true })) return true;
  return false;
}

/** Why the API's `requestId` names no request the store holds or any record names. */
export function unknownRequestMessage(typed: string): string {
  return `there is no request ${requestIdAsNamed(typed)} and no audit record names it (requestId): nothing was exported`;
}

/** `names`: how the two are called where they were given (the Teams command's <from> and <to>, the API's query parameters). */
function range(from: string, to: string, names: readonly [string, string] = ['<from>', '<to>']): { ok: true; from: string; to: string } | { ok: false; message: string } {
  try {
    const f = parseInstant(from);
    const t = parseInstant(to);
    if (f >= t) return { ok: false, message: `${names[0]} (${f}) must be before ${names[1]} (${t}).` };
    return { ok: true, from: f, to: t };
  } catch (err) {
    if (err instanceof InstantError) return { ok: false, message: err.message };
    throw err;
  }
}

function format(value: string | undefined, fallback: ExportFormat): ExportFormat | undefined {
  const f = (value ?? fallback).toLowerCase();
  return (EXPORT_FORMATS as readonly string[]).includes(f) ? (f as ExportFormat) : undefined;
}

/** Why `audit <sub>` is not `audit export`: a slip of it, or what only the countersign command does. */
function notAnAuditCommand(sub: string): string {
  const typed = `"audit ${sub.slice(0, 40)}"`;
  const word = sub.toLowerCase();
  if (editDistance(word, 'export') <= 2) return `${typed} is not a command: did you mean "audit export"?`;
  if (['verify', 'evidence', 'checkpoint', 'public-key', 'accept-loss'].includes(word)) {
    return `${typed} is not done in Teams: it is the countersign command's (countersign audit ${word}, see docs/cli.md), run where the data directory is. In Teams, auditors ask for exports.`;
  }
  return `${typed} is not a command: in Teams, "audit" takes only "export".`;
}

/** `audit export <from> <to> [format]`, the words after "audit". */
export function parseTeamsExport(args: readonly string[]): ExportAsk {
  const [sub, from, to, fmt, ...rest] = args;
  if (!sub) return { ok: false, message: TEAMS_USAGE };
  if (sub.toLowerCase() !== 'export') return { ok: false, message: `${notAnAuditCommand(sub)} ${TEAMS_USAGE}` };
  // "2026-12-06 10:00": a date and its time as two words (the time then read as <to>, or as a format).
  const words = args.slice(1);
  const split = words.findIndex((w, i) => i > 0 && /^\d{1,2}:\d{2}/.test(w) && /^\d{4}-\d{2}-\d{2}$/.test(words[i - 1]));
  if (split > 0) {
    const [date, time] = [words[split - 1], words[split].slice(0, 40)];
    return { ok: false, message: `"${date} ${time}" is a date and a time as two words: write them as one, joined by T (${date}T${time.replace(/^(\d):/, '0$1:')}). ${TEAMS_USAGE}` };
  }
  // "audit export from 2026-12-06 to 2026-12-07": the words from and to read as the times (and a time
  // as the format), which would answer about words the person did not mean as such.
  const keywords = words.filter((w) => /^(from|to|until)$/i.test(w));
  if (keywords.length > 0) {
    const times = words.filter((w) => !/^(from|to|until)$/i.test(w)).map((w) => w.slice(0, 40));
    return { ok: false, message: `Type the two times alone, without ${keywords.map((w) => `"${w.slice(0, 10)}"`).join(' or ')}: audit export ${times.length > 0 ? times.join(' ') : '<from> <to>'}. ${TEAMS_USAGE}` };
  }
  if (!from || !to) return { ok: false, message: `${!from ? '<from> and <to> are' : '<to> is'} missing. ${TEAMS_USAGE}` };
  if (rest.length) return { ok: false, message: `Unexpected words after the format: ${rest.map((w) => `"${w.slice(0, 40)}"`).join(' ')}. ${TEAMS_USAGE}` };
  const r = range(from, to);
  if (!r.ok) return { ok: false, message: `${r.message} ${TEAMS_USAGE}` };
  const f = format(fmt, 'csv');
  if (!f) return { ok: false, message: `"${fmt}" is not an export format (csv, jsonl or ocsf). ${TEAMS_USAGE}` };
  return { ok: true, format: f, filter: { from: r.from, to: r.to } };
}

/** GET /api/audit/export?from=&to=&format=&requestId=&actor=&type= */
export function parseApiExport(query: Record<string, unknown>): ExportAsk {
  const one = (name: string): string | undefined => {
    const v = query[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  for (const [name, v] of Object.entries(query)) {
    if (!['from', 'to', 'format', 'requestId', 'actor', 'type'].includes(name)) return { ok: false, message: `unknown query parameter "${name.slice(0, 40)}" (known: from, to, format, requestId, actor, type)` };
    if (name !== 'type' && typeof v !== 'string') return { ok: false, message: `the query parameter ${name} is given more than once` };
    // An empty value is most often an unset variable (`requestId=$ID`): read as "no filter", it exported the whole log.
    const values = (Array.isArray(v) ? v : [v]).map(String);
    if (values.some((value) => value.trim() === '' || (name === 'type' && value.split(',').some((t) => t.trim() === '')))) {
      return { ok: false, message: `the query parameter ${name} is empty: give it a value, or leave it out (an empty value is not "no filter")` };
    }
  }
  const filter: AuditFilter = {};
  const from = one('from');
  const to = one('to');
  // A + left as it is in a URL's query reads as a space: "…T10:00:00+01:00" arrives as "…T10:00:00 01:00".
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (value !== undefined && /^\d{4}-\d{2}-\d{2}[Tt][\d:.]+ \d{2}:\d{2}$/.test(value)) {
      const meant = value.replace(' ', '+');
      return { ok: false, message: `the query parameter ${name} arrived as "${value}", with a space where its zone's + was (a + in a URL's query means a space): write it as %2B (${name}=${meant.replace('+', '%2B')}), or give the time in UTC with Z` };
    }
  }
  if (from && to) {
    const r = range(from, to, ['the query parameter from', 'to']);
    if (!r.ok) return { ok: false, message: r.message };
    Object.assign(filter, { from: r.from, to: r.to });
  } else if (from || to) {
    try {
      if (from) filter.from = parseInstant(from);
      if (to) filter.to = parseInstant(to);
    } catch (err) {
      if (err instanceof InstantError) return { ok: false, message: err.message };
      throw err;
    }
  }
  const f = format(one('format'), 'jsonl');
  if (!f) return { ok: false, message: `"${one('format')}" is not an export format (jsonl, csv or ocsf)` };
  const requestId = one('requestId');
  const actor = one('actor');
  if (requestId) {
    // As typed in chat (cs-7k3m9qxw is CS-7K3M9QXW), as the CLI's --request and Teams' status read it.
    const id = canonicalRequestId(requestId);
    if (!isRequestId(id)) return { ok: false, message: `the requestId "${requestId.slice(0, 40)}" is not a request id (CS- and 8 letters or digits, such as CS-7K3M9QXW)` };
    filter.requestId = id;
  }
  // Records name their actor by Entra object id: anything else would match nothing.
  if (actor && !isEntraObjectId(actor)) return { ok: false, message: `the actor "${actor.slice(0, 40)}" is not an Entra object id (a GUID, such as 00000000-0000-0000-0000-000000000000)` };
  // One person whatever the case of the GUID's letters (the stores compare it so too).
  if (actor) filter.actorId = actor.toLowerCase();
  const rawTypes = query.type;
  const types = (Array.isArray(rawTypes) ? rawTypes : rawTypes === undefined ? [] : [rawTypes]).flatMap((t) => String(t).split(',')).map((t) => t.trim()).filter(Boolean);
  const bad = unknownEventType(types);
  if (bad) return { ok: false, message: `the type "${bad.slice(0, 40)}" is not an audit event type (known: ${eventTypesLike(bad).join(', ')})` };
  if (types.length) filter.types = types as AuditEventType[];
  return { ok: true, format: f, filter };
}
