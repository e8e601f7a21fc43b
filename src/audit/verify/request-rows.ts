/**
 * `audit verify`'s second pass: every request row and every saved version of a request held against
 * the request's audit records, with the judgement an evidence bundle and the check before an
 * execution make of one request (domain/lifecycle/evidence.ts, unbackedFields). The chain check proves
 * the records were not changed; the rows and versions are the database's, and whoever can write it
 * can edit a row (another requester, reason, operation, or a state no record backs) or add a version,
 * which nothing else would find before someone made evidence of that one request.
 *
 * Read a batch of requests at a time, in the order the database keeps their ids (its comparisons,
 * never ours), with their versions and the records of the types the judgement looks at (read through
 * the index by request): memory holds one batch, whatever the size of the log. A store implements the
 * `StoredRequests` port; the judgement and its words are here.
 */
import type { AuditRecord } from '../../domain/audit';
import { JUDGED_RECORD_TYPES, notBeforeOfVersions, unbackedFields, type UnbackedField } from '../../domain/lifecycle';
import type { ApprovalRequest } from '../../domain/request';

/** A stored request row or version: its request's id, its version as stored, and its stored text. */
export interface StoredRequestText {
  id: string;
  version: number | string;
  body: string;
}

/** What the request check reads from a store (read-only). */
export interface StoredRequests {
  /** Request rows with an id after `after` (all when undefined), in the database's order of ids, at most `limit`. */
  rows(after: string | undefined, limit: number): Promise<StoredRequestText[]>;
  /** Ids of requests with saved versions and no row, after `after`, in the database's order, at most `limit`. */
  withoutRow(after: string | undefined, limit: number): Promise<string[]>;
  /** Every saved version of these requests. */
  versions(ids: readonly string[]): Promise<StoredRequestText[]>;
  /** The stored text of these requests' records of these types, in seq order. */
  records(ids: readonly string[], types: readonly string[]): Promise<string[]>;
}

/** A row or saved version its audit records do not back: every field of it they do not back, in the judgement's order. */
export interface UnbackedRequest {
  requestId: string;
  /** The request's row (at the version it says), or one saved version. */
  what: 'row' | 'version';
  version: string;
  fields: UnbackedField[];
}

export interface RequestCheck {
  /** Requests checked: each with a row or saved versions. */
  requests: number;
  rows: number;
  versions: number;
  /** Rows and versions not backed (each given to `onFinding` as found). */
  unbacked: number;
  seconds: number;
}

const BATCH = 200;

/** A stored text read as a request, or why it cannot be judged as one. */
function parsed(text: StoredRequestText): { request: ApprovalRequest } | { unreadable: UnbackedField } {
  let v: unknown;
  try {
    v = JSON.parse(text.body);
  } catch {
    return { unreadable: { field: 'body', stored: 'text that is not JSON', recorded: 'a request', why: 'its stored text is not JSON' } };
  }
  if (typeof v !== 'object' || v === null) return { unreadable: { field: 'body', stored: 'no request', recorded: 'a request', why: 'its stored text is no request' } };
  // The judgement reads the request's id off the body: a body naming another request is not this one's.
  const id = (v as { id?: unknown }).id;
  if (id !== text.id) return { unreadable: { field: 'id', stored: JSON.stringify(String(id).slice(0, 80)), recorded: `the records of ${text.id}`, why: 'its body names another request' } };
  return { request: v as ApprovalRequest };
}

function judged(text: StoredRequestText, what: UnbackedRequest['what'], records: readonly AuditRecord[], notBefore: (v: ApprovalRequest) => number | undefined): UnbackedRequest | undefined {
  const read = parsed(text);
  const version = String(text.version);
  if ('unreadable' in read) return { requestId: text.id, what, version, fields: [read.unreadable] };
  const v = read.request;
  const fields = unbackedFields(v, records, notBefore(v));
  return fields.length ? { requestId: text.id, what, version: String(v.version ?? version), fields } : undefined;
}

/** Judges one batch of requests (their rows, if any, given), reporting each finding. */
async function checkBatch(source: StoredRequests, ids: readonly string[], rows: readonly StoredRequestText[], onFinding: (f: UnbackedRequest) => void, tally: RequestCheck): Promise<void> {
  // Rows, then versions, then records: anything the running bot committed with a row or version read is then read with it.
  const versions = await source.versions(ids);
  const texts = await source.records(ids, JUDGED_RECORD_TYPES);
  const records = new Map<string, AuditRecord[]>();
  for (const text of texts) {
    const r = JSON.parse(text) as AuditRecord;
    const id = r.request?.id;
    if (id === undefined) continue;
    const list = records.get(id);
    if (list) list.push(r);
    else records.set(id, [r]);
  }
  const byId = new Map<string, StoredRequestText[]>();
  for (const v of versions) {
    const list = byId.get(v.id);
    if (list) list.push(v);
    else byId.set(v.id, [v]);
  }
  const rowOf = new Map(rows.map((r) => [r.id, r]));
  for (const id of ids) {
    const mine = records.get(id) ?? [];
    const row = rowOf.get(id);
    const texts = (byId.get(id) ?? []).sort((a, b) => Number(a.version) - Number(b.version));
    const readable = texts.flatMap((t) => {
      const read = parsed(t);
      return 'request' in read ? [read.request] : [];
    });
    const notBefore = notBeforeOfVersions(readable);
    tally.requests++;
    if (row) {
      tally.rows++;
      const f = judged(row, 'row', mine, notBefore);
      if (f) {
        tally.unbacked++;
        onFinding(f);
      }
    }
    for (const v of texts) {
      tally.versions++;
      const f = judged(v, 'version', mine, notBefore);
      if (f) {
        tally.unbacked++;
        onFinding(f);
      }
    }
  }
}

/**
 * Every request row, and every saved version (those of requests whose row is gone included), judged
 * against its request's audit records; each one not backed is given to `onFinding` as it is found.
 */
export async function checkStoredRequests(source: StoredRequests, onFinding: (f: UnbackedRequest) => void, now: () => bigint = process.hrtime.bigint): Promise<RequestCheck> {
  const started = now();
  const tally: RequestCheck = { requests: 0, rows: 0, versions: 0, unbacked: 0, seconds: 0 };
  let after: string | undefined;
  for (;;) {
    const rows = await source.rows(after, BATCH);
    if (rows.length === 0) break;
    await checkBatch(source, rows.map((r) => r.id), rows, onFinding, tally);
    if (rows.length < BATCH) break;
    after = rows[rows.length - 1].id;
  }
  after = undefined;
  for (;;) {
    const ids = await source.withoutRow(after, BATCH);
    if (ids.length === 0) break;
    await checkBatch(source, ids, [], onFinding, tally);
    if (ids.length < BATCH) break;
    after = ids[ids.length - 1];
  }
  tally.seconds = Number(now() - started) / 1e9;
  return tally;
}
