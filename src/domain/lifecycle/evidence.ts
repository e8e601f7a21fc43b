/**
 * The audit trail backs every execution. The executor acts on a request's stored row (its state, its
 * approvals, its operation), and whoever can write the database can edit that row; the audit chain
 * cannot be edited unnoticed (hash links, signed checkpoints, `audit verify`). So before anything is
 * sent to Azure, what the row claims must be what the request's audit records say happened:
 *
 * - its operation is the one the request was created with (the operation hash in `request.created`,
 *   carried on through each `drift.detected`), and the row's hash is the latest the records carry;
 * - a break-glass use has its `breakglass.used` record;
 * - otherwise a `request.approved` record for that hash came after anything that voided earlier
 *   approvals (`drift.detected`), and every approval the row lists has its `approval.granted` record,
 *   by the same person, for the same hash, since then;
 * - nothing ended it since (`request.cancelled`, `request.expired`, `approval.revoked`,
 *   `request.rejected`), and a run later is not moved before the time its `request.scheduled` gave;
 * - a new execution starts only where none was started since that approval; a run resumed only where
 *   one was (`execution.started`).
 *
 * The records from where that authority begins are read from the log itself, not only through the
 * database's index by request, which could be made to leave some out (src/app/request-trail.ts).
 */
import type { AuditEventDraft, AuditRecord } from '../audit';
import { canonicalJson, operationHash, sha256Hex } from '../canonical';
import { distinctNamer } from '../display-names';
import { reapprovalHash, type Expectation } from '../drift';
import type { Actor, ApprovalRequest, PolicySnapshot } from '../request';
import { RefusalReason } from '../refusal';
import { neutralise, requestEvent } from '../audit';
import { next, type Transition } from './transition';

/** The records that end a request's approval for good, and how the refusal names them. */
const ENDINGS = new Map<string, string>([
  ['request.cancelled', 'was cancelled'],
  ['request.expired', 'expired'],
  ['approval.revoked', 'lost its approval'],
  ['request.rejected', 'was rejected'],
]);

/** What the row expects the operation to do, as detectDrift hashed it. */
function expectationOf(r: ApprovalRequest): Expectation {
  return r.whatIf ? { whatIf: r.whatIf } : r.baseline ? { baseline: r.baseline } : { baseline: { exists: false, facts: {} } };
}

/**
 * The SHA-256 of what the row expects the operation to do (the what-if, or the target as read), as
 * `request.created` records it: the drift check right before execution compares Azure with this
 * expectation, so a row whose expectation was edited afterwards must not pass.
 */
export function expectationHashOf(r: ApprovalRequest): string {
  return sha256Hex(canonicalJson(expectationOf(r)));
}

/**
 * The `request.created` record of a request just made: who asked, where, for what and how many must
 * approve (`detail`), and what its approvers are shown: the expectation (`expectationHash`, the drift
 * check compares Azure with it), the risk band and the environment its card names (`risk`,
 * `environment`), so that the trail alone says what they approved on, whatever the row says later.
 */
export function createdEvent(r: ApprovalRequest, detail: string): AuditEventDraft {
  const shown = { expectationHash: expectationHashOf(r), ...(r.risk ? { risk: r.risk } : {}), ...(r.environment ? { environment: r.environment } : {}) };
  return requestEvent(r, 'request.created', r.createdAt, { result: 'ok', detail }, { actor: r.requester, source: r.source, data: shown });
}

function lastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i])) return i;
  return -1;
}

const same = (a: string | undefined, b: string | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

/**
 * What the row claims that the audit records (this request's, in seq order) do not hold, or
 * undefined when they back it. `mode`: starting the execution, or resuming one under way.
 */
export function unauditedAuthority(r: ApprovalRequest, records: readonly AuditRecord[], mode: 'start' | 'resume'): string | undefined {
  const mine = records.filter((x) => x.request?.id === r.id);
  const created = mine.find((x) => x.type === 'request.created' || x.type === 'breakglass.used');
  if (!created) return 'the audit log holds no record of its creation';
  const original = operationHash({ command: r.command, parameters: r.parameters, target: r.target, operation: r.operation });
  if (original !== created.request?.operationHash) return 'its stored operation is not the one it was created with';
  // Who asked is outside the operation hash: a row edited to name someone else would let the real
  // requester's own approval count.
  if (!sameRequester(r, created)) return 'its stored requester is not the one who asked for it';
  const drifts = mine.filter((x) => x.type === 'drift.detected');
  // Until a drift re-binds it, the expectation is the one approvers were shown at creation (records
  // written before creation carried its hash have none to compare).
  const shown = (created.data as { expectationHash?: unknown } | undefined)?.expectationHash;
  if (drifts.length === 0 && typeof shown === 'string' && shown !== expectationHashOf(r)) {
    return 'its stored expectation (the what-if or the target as read when it was created) is not the one its approvers were shown';
  }
  // Each drift re-binds the approval to a new hash of the same operation and what it would now do.
  const latest = drifts.at(-1)?.request?.operationHash ?? original;
  if (r.operationHash !== latest) return 'its stored operation hash is not the one its audit records carry';
  // After a drift that hash binds what the operation was then expected to do (the what-if or the
  // target as read): the row's expectation must still be the one hashed.
  const lastDrift = drifts.at(-1);
  const previous = (lastDrift?.data as { previousOperationHash?: unknown } | undefined)?.previousOperationHash;
  if (typeof previous === 'string' && reapprovalHash(previous, expectationOf(r)) !== r.operationHash) {
    return 'its stored expectation (the what-if or the target as read at the drift) is not the one its approval binds';
  }
  const since = drifts.length > 0 ? mine.indexOf(drifts.at(-1)!) + 1 : 0;
  const after = mine.slice(since).filter((x) => x.request?.operationHash === r.operationHash);
  // A break-glass use runs on its own authority (unless it drifted and was approved again since).
  const authorised = lastIndex(after, (x) => x.type === 'request.approved' || (!!r.breakGlass && x.type === 'breakglass.used'));
  if (authorised < 0) return r.breakGlass ? 'the audit log holds no record of its break-glass use' : 'the audit log holds no record of its approval';
  if (after[authorised].type === 'request.approved') {
    if (r.approvals.length === 0) return 'its stored row lists no approval';
    for (const a of r.approvals) {
      const granted = after.slice(0, authorised + 1).some((x) => x.type === 'approval.granted' && same(x.actor?.aadObjectId, a.approver.aadObjectId));
      if (granted) continue;
      // An approver on the row who shares a display name with one the records hold is told apart (display-names.ts).
      const named = distinctNamer(undefined, [...r.approvals.map((x) => x.approver), ...after.map((x) => x.actor)]);
      return `the audit log holds no approval of it by ${named(a.approver).name || a.approver.aadObjectId}`;
    }
  }
  const sinceAuthority = after.slice(authorised + 1);
  // What ended it after that authority (a cancel, an expiry, a revoked approval, a rejection) stands.
  const ended = sinceAuthority.find((x) => ENDINGS.has(x.type));
  if (ended) return `its audit records show it ${ENDINGS.get(ended.type)} after it was approved (record ${ended.seq})`;
  // A run later keeps the time the records gave it.
  const scheduled = after.filter((x) => x.type === 'request.scheduled').at(-1);
  const runAt = (scheduled?.data as { runAt?: unknown } | undefined)?.runAt;
  if (typeof runAt === 'string' && r.runAt !== undefined && Date.parse(r.runAt) < Date.parse(runAt)) {
    return `its stored run time ${r.runAt} is before the ${runAt} its audit records give`;
  }
  const started = sinceAuthority.some((x) => x.type === 'execution.started');
  if (mode === 'start' && started) return 'its execution was started already';
  if (mode === 'resume' && !started) return 'the audit log holds no record of its execution starting';
  return undefined;
}

/** The records an execution's authority rests on: an approval given, a request approved, a break-glass use. */
const AUTHORITY = new Set(['approval.granted', 'request.approved', 'breakglass.used']);

/**
 * The seq from which this request's records (in seq order) can back an execution or end its
 * authority: its first approval given, approval or break-glass use after its last drift (which
 * voided the approvals before it); undefined when there is none (no row can then pass the check).
 * Whatever ends or uses up the authority a row claims (an ending, a drift, an execution started, a
 * later schedule) is recorded after it, and a record before it left out of a read cannot make the
 * check pass; so a read of the log from there finds any record that matters which a read through an
 * index left out.
 */
export function authorityBegins(requestId: string, records: readonly AuditRecord[]): number | undefined {
  const mine = records.filter((x) => x.request?.id === requestId);
  const lastDrift = lastIndex(mine, (x) => x.type === 'drift.detected');
  return mine.slice(lastDrift + 1).find((x) => AUTHORITY.has(x.type))?.seq;
}

/**
 * The check's word when the request's records read through the database's index by request lacked
 * some that a read of the log itself found (`leftOut`, in seq order), with what the records read
 * whole say of the row (`problem`, if anything).
 */
export function leftOutOfIndex(leftOut: readonly AuditRecord[], problem: string | undefined): string {
  const named = leftOut.slice(0, 5).map((x) => `${x.seq} ${x.type}`).join(', ');
  const more = leftOut.length > 5 ? ` and ${leftOut.length - 5} more` : '';
  const lacks = `its records read through the database's index by request lack ${leftOut.length} that the audit log holds (record ${named}${more}): the index was made again to leave them out`;
  return problem ? `${problem}, and ${lacks}` : lacks;
}

/** Not executed because its row does not match its audit trail: failed, nothing sent to Azure, audited. */
export function refuseUnaudited(r: ApprovalRequest, now: Date, problem: string): Transition {
  const detail = `Not executed: ${problem}, so its stored row does not match its audit trail (it may have been edited in the database). Nothing was sent to Azure; the team that runs Countersign should run "countersign audit verify" and look into it.`;
  const updated = next(r, now, { state: 'failed', outcomeDetail: detail });
  // A row that does not read as a request (request-shape.ts) may have no policy for the record to name the version of.
  const named = typeof updated.policy === 'object' && updated.policy !== null ? updated : { ...updated, policy: { version: '' } as PolicySnapshot };
  return { ok: true, request: updated, events: [requestEvent(named, 'approval.revoked', now.toISOString(), { result: 'refused', reason: RefusalReason.NotInAudit, detail })] };
}

/**
 * The records that put a request into each state: a stored version in that state is backed only by
 * one of them (pending needs none beyond its creation).
 */
const STATE_RECORDS: Readonly<Record<string, readonly string[]>> = {
  pending: [],
  needs_reapproval: ['drift.detected'],
  approved: ['request.approved', 'breakglass.used'],
  scheduled: ['request.scheduled'],
  executing: ['execution.started'],
  succeeded: ['execution.succeeded'],
  failed: ['execution.failed', 'approval.revoked', 'execution.lease_lost'],
  unknown: ['execution.unknown', 'execution.lease_lost'],
  rejected: ['request.rejected'],
  cancelled: ['request.cancelled', 'execution.cancelled'],
  expired: ['request.expired'],
};

/** When a record was made: the clock's reading it was sealed with (record-time.ts keeps it when the chain moved the time on). */
function madeAt(x: AuditRecord): number {
  const clock = (x.data as { clockTime?: unknown } | undefined)?.clockTime;
  return Date.parse(typeof clock === 'string' ? clock : x.time);
}

/** Whether the row names the person its creation record names as asking (the record's actor). */
function sameRequester(r: ApprovalRequest, created: AuditRecord): boolean {
  const asked = created.actor;
  if (!asked) return true;
  const requester = r.requester as Partial<ApprovalRequest['requester']> | undefined;
  return same(requester?.aadObjectId, asked.aadObjectId) && (asked.tenantId === undefined || requester?.tenantId === asked.tenantId);
}

/**
 * What a stored row or version says of one field that its audit records do not back: the field, what
 * the row says, what the records say, and the sentence the evidence bundle gives (`why`).
 */
export interface UnbackedField {
  field: string;
  stored: string;
  recorded: string;
  why: string;
}

/** At most this many characters of a stored value are shown: a row edited to hold megabytes is named, not printed. */
const SHOWN_CHARS = 80;
const cut = (s: string): string => (s.length > SHOWN_CHARS ? `${s.slice(0, SHOWN_CHARS)}… (${s.length} characters)` : s);
const shown = (v: unknown): string => JSON.stringify(String(v ?? '(none)').slice(0, SHOWN_CHARS));
const person = (a: { name?: unknown; aadObjectId?: unknown } | undefined): string => (a ? `${cut(String(a.name ?? ''))} (${cut(String(a.aadObjectId ?? ''))})` : '(none)');
/** At most this many approvals are named in one finding; the rest are counted. */
const NAMED_APPROVALS = 5;
const listed = (items: readonly string[]): string => (items.length > NAMED_APPROVALS ? `${items.slice(0, NAMED_APPROVALS).join(', ')} and ${items.length - NAMED_APPROVALS} more` : items.join(', '));

/**
 * What of the request, outside its operation hash, a version says otherwise than its creation record
 * (which carries the requester as its actor, the reason as typed, the policy version, and the risk
 * band and environment its card showed): a version
 * added in the database with only those changed (its reason rewritten) is not the request's history.
 */
function unrecordedFacts(v: ApprovalRequest, created: AuditRecord, named: (a: Actor) => Actor): UnbackedField[] {
  const found: UnbackedField[] = [];
  const at = `(record ${created.seq}, ${created.type})`;
  if (!sameRequester(v, created)) {
    const asked = created.actor && named(created.actor);
    found.push({ field: 'requester', stored: person(v.requester), recorded: `${person(created.actor)} asked ${at}`, why: `its requester ${cut(String(named(v.requester)?.name || v.requester?.aadObjectId))} is not ${asked?.name || asked?.aadObjectId}, who asked for it` });
  }
  const reason = typeof v.reason === 'string' ? neutralise(v.reason) : v.reason;
  if (reason !== created.request?.reason) {
    found.push({
      field: 'reason',
      stored: shown(v.reason),
      recorded: `${created.request?.reason === undefined ? 'no reason' : shown(created.request.reason)} ${at}`,
      why: `its reason ${shown(v.reason)} is not the one its audit records carry (${JSON.stringify(created.request?.reason ?? '(none)')})`,
    });
  }
  const version = (v.policy as Partial<ApprovalRequest['policy']> | undefined)?.version;
  const recorded = created.request?.policyVersion;
  if (typeof recorded === 'string' && version !== recorded) {
    found.push({ field: 'policy.version', stored: shown(version), recorded: `${shown(recorded)} ${at}`, why: 'its policy version is not the one its audit records carry' });
  }
  found.push(...shownOnCard(v, created, at));
  return found;
}

/**
 * The risk band and environment a version says otherwise than its `request.created` record, which
 * carries what the card showed approvers (createdEvent): a row edited from CRITICAL in PRODUCTION to
 * less would tell a reviewer the approval was given on a milder card. Judged only against a record
 * that carries a risk (every one written since both were recorded, 2026-12-07); there, an environment
 * it leaves out means the card named none.
 */
function shownOnCard(v: ApprovalRequest, created: AuditRecord, at: string): UnbackedField[] {
  const data = created.type === 'request.created' ? (created.data as { risk?: unknown; environment?: unknown } | undefined) : undefined;
  if (typeof data?.risk !== 'string') return [];
  const found: UnbackedField[] = [];
  if (v.risk !== data.risk) {
    found.push({ field: 'risk', stored: shown(v.risk), recorded: `${shown(data.risk)} ${at}`, why: `its risk ${shown(v.risk)} is not the one its approvers were shown (${JSON.stringify(data.risk)})` });
  }
  const environment = typeof data.environment === 'string' ? data.environment : undefined;
  if (v.environment !== environment) {
    found.push({
      field: 'environment',
      stored: shown(v.environment),
      recorded: `${environment === undefined ? 'no environment' : shown(environment)} ${at}`,
      why: `its environment ${shown(v.environment)} is not the one its approvers were shown (${environment === undefined ? 'none' : JSON.stringify(environment)})`,
    });
  }
  return found;
}

/**
 * The parts of the operation a stored version changed, named against its creation record (command,
 * parameters, target), or the operation itself when none of those differ (the resolved ARM operation,
 * which the record carries only in the hash).
 */
function operationFields(v: ApprovalRequest, created: AuditRecord, original: string | undefined): UnbackedField[] {
  const at = `(record ${created.seq}, ${created.type})`;
  const why = 'its operation is not the one the request was created with';
  const json = (t: unknown) => canonicalJson(neutralise(t ?? null));
  const found: UnbackedField[] = [];
  if (v.command !== created.request?.command) found.push({ field: 'command', stored: shown(v.command), recorded: `${shown(created.request?.command)} ${at}`, why });
  if (created.request?.parameters !== undefined && json(v.parameters) !== json(created.request.parameters)) {
    found.push({ field: 'parameters', stored: cut(json(v.parameters)), recorded: `${cut(json(created.request.parameters))} ${at}`, why });
  }
  if (created.target && json(v.target) !== json(created.target)) found.push({ field: 'target', stored: cut(json(v.target)), recorded: `${cut(json(created.target))} ${at}`, why });
  if (found.length === 0) found.push({ field: 'operation', stored: `operation hash ${original ?? '(cannot be computed)'} of its command, parameters, target and operation`, recorded: `operation hash ${created.request?.operationHash} ${at}`, why });
  return found;
}

/**
 * Every field of a stored version of a request (as `request_versions` holds it, or the request's row)
 * that the request's audit records (in seq order) do not back, in the order below; empty when they
 * back it all. Every version Countersign stores is written with the records of the change that made
 * it, sealed at the same time; someone with write access to the database can add a version all the
 * same (the table refuses edits, not new rows), or edit the row, and evidence must not present one
 * the chain does not back as history. Judged as the check before an execution judges a row
 * (unauditedAuthority), by what the records had said by the version's time: its creation and its
 * operation (command, parameters, target), its operation hash, the approvals it lists (the same
 * person, the same hash: one finding naming at most NAMED_APPROVALS of those not backed, the rest
 * counted), its rejection, the state it is in, and the requester, reason, policy version, risk
 * band and environment of its creation. A version with no time to judge it by, or with no creation record by then, is named for
 * that, and what needs the creation record is not judged. Compliance staff get every field that
 * disagrees, not only the first: an edit of the state can hide an edit of the reason behind it. Only
 * the records of JUDGED_RECORD_TYPES are looked at.
 */
export function unbackedFields(v: ApprovalRequest, records: readonly AuditRecord[], notBefore?: number): UnbackedField[] {
  const own = Date.parse(String(v.updatedAt));
  if (Number.isNaN(own)) return [{ field: 'updatedAt', stored: shown(v.updatedAt), recorded: 'nothing: a time is needed to judge it by', why: `its time ${JSON.stringify(String(v.updatedAt).slice(0, 40))} is not a time` }];
  // A version is written after every earlier version of its request, so what the records held by then
  // counts too: a transition whose time was read before a wait can carry an earlier time than the one
  // before it (seen of executing versions under several instances).
  const at = notBefore !== undefined && notBefore > own ? notBefore : own;
  const mine = records.filter((x) => x.request?.id === v.id && madeAt(x) <= at);
  const created = mine.find((x) => x.type === 'request.created' || x.type === 'breakglass.used');
  const approvals = Array.isArray(v.approvals) ? v.approvals : [];
  // The people a finding names by display name (the row's, the records'): namesakes told apart (display-names.ts), worked out only for a finding.
  let namer: ((a: Actor) => Actor) | undefined;
  const named = (a: Actor) => (namer ??= distinctNamer(undefined, [v.requester, ...approvals.map((x) => x?.approver), v.rejection?.by, ...mine.map((x) => x.actor)]))(a);
  const found: UnbackedField[] = [];
  if (!created) {
    found.push({ field: 'id', stored: shown(v.id), recorded: `no request.created or breakglass.used record of it by ${v.updatedAt}`, why: `the audit log holds no record of the request's creation by ${v.updatedAt}` });
  } else {
    let original: string | undefined;
    try {
      original = operationHash({ command: v.command, parameters: v.parameters, target: v.target, operation: v.operation });
    } catch {
      original = undefined;
    }
    if (original !== created.request?.operationHash) found.push(...operationFields(v, created, original));
    const hashes = new Set([created.request?.operationHash, ...mine.filter((x) => x.type === 'drift.detected').map((x) => x.request?.operationHash)]);
    if (!hashes.has(v.operationHash)) {
      found.push({ field: 'operationHash', stored: cut(String(v.operationHash)), recorded: `${[...hashes].join(' or ')} (creation and drifts)`, why: 'its operation hash is not one its audit records carry' });
    }
  }
  const unbacked = approvals.filter((a) => !mine.some((x) => x.type === 'approval.granted' && same(x.actor?.aadObjectId, a?.approver?.aadObjectId) && x.request?.operationHash === a?.operationHash));
  if (unbacked.length > 0) {
    const given = mine.filter((x) => x.type === 'approval.granted').map((x) => `${person(x.actor)} of ${String(x.request?.operationHash).slice(0, 12)}… (record ${x.seq})`);
    const claimed = unbacked.map((a) => `${person(a?.approver)} of operation hash ${String(a?.operationHash).slice(0, 12)}…`);
    const first = unbacked[0];
    found.push({
      field: 'approvals',
      stored: `${unbacked.length === 1 ? 'an approval' : `${unbacked.length} approvals`} by ${listed(claimed)}`,
      recorded: given.length ? `approvals only by ${listed(given)} by ${v.updatedAt}` : `no approval.granted record by ${v.updatedAt}`,
      why: `the audit log holds no approval by ${cut(String((first?.approver && named(first.approver))?.name || first?.approver?.aadObjectId))} of operation hash ${String(first?.operationHash).slice(0, 12)}…${unbacked.length > 1 ? ` (nor ${unbacked.length - 1} more it lists)` : ''} by ${v.updatedAt}`,
    });
  }
  if (v.rejection && !mine.some((x) => x.type === 'request.rejected' && same(x.actor?.aadObjectId, v.rejection?.by?.aadObjectId))) {
    const given = mine.filter((x) => x.type === 'request.rejected').map((x) => `${person(x.actor)} (record ${x.seq})`);
    found.push({
      field: 'rejection',
      stored: `rejected by ${person(v.rejection.by)}`,
      recorded: given.length ? `rejected only by ${listed(given)}` : `no request.rejected record by ${v.updatedAt}`,
      why: `the audit log holds no rejection of it by ${cut(String((v.rejection.by && named(v.rejection.by))?.name || v.rejection.by?.aadObjectId))}`,
    });
  }
  const needed = Object.hasOwn(STATE_RECORDS, v.state) ? STATE_RECORDS[v.state] : undefined;
  if (!needed) {
    found.push({ field: 'state', stored: shown(v.state), recorded: 'not a state Countersign writes', why: `its state ${JSON.stringify(String(v.state).slice(0, 40))} is not one Countersign writes` });
  } else if (needed.length > 0 && !mine.some((x) => needed.includes(x.type))) {
    const last = mine.at(-1);
    found.push({
      field: 'state',
      stored: shown(v.state),
      recorded: `no ${needed.join(' or ')} record by ${v.updatedAt}${last ? `; its records by then end with ${last.type} (record ${last.seq})` : ''}`,
      why: `the audit log holds no ${needed.join(' or ')} record putting it in state ${v.state} by ${v.updatedAt}`,
    });
  }
  if (created) found.push(...unrecordedFacts(v, created, named));
  return found;
}

/** unbackedFields in words (the evidence bundle's: each field's, joined), or undefined when the records back the version. */
export function unbackedVersion(v: ApprovalRequest, records: readonly AuditRecord[], notBefore?: number): string | undefined {
  const found = unbackedFields(v, records, notBefore);
  return found.length ? [...new Set(found.map((f) => f.why))].join('; ') : undefined;
}

/**
 * unbackedFields' `notBefore` for each version of a request: the latest time among its versions with a
 * lower number (versions of the request, any order). Sorted once, then each answer is a binary search:
 * a request given tens of thousands of versions in the database (its table refuses edits, not new
 * rows) is judged in n log n, where comparing every version with every other took minutes.
 */
export function notBeforeOfVersions(versions: readonly Pick<ApprovalRequest, 'version' | 'updatedAt'>[]): (v: Pick<ApprovalRequest, 'version'>) => number | undefined {
  const sorted = versions
    .map((w) => ({ n: Number(w.version), t: Date.parse(String(w.updatedAt)) }))
    .filter((w) => !Number.isNaN(w.n))
    .sort((a, b) => a.n - b.n);
  const numbers: number[] = [];
  const latest: (number | undefined)[] = [];
  let max: number | undefined;
  for (const w of sorted) {
    if (!Number.isNaN(w.t) && (max === undefined || w.t > max)) max = w.t;
    numbers.push(w.n);
    latest.push(max);
  }
  return (v) => {
    const n = Number(v.version);
    // How many versions have a lower number (none when n is not a number).
    let lo = 0;
    let hi = numbers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (numbers[mid] < n) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : latest[lo - 1];
  };
}

/**
 * The types of record unbackedFields looks at: a reader of many requests' records (audit verify) reads
 * only these, and the judgement is the same as over all of them.
 */
export const JUDGED_RECORD_TYPES: readonly string[] = [...new Set(['request.created', 'breakglass.used', 'drift.detected', 'approval.granted', 'request.rejected', ...Object.values(STATE_RECORDS).flat()])];
