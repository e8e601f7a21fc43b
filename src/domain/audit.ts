import type { Actor, ApprovalRequest, Source } from './request';
import type { Target } from './operation';

/**
 * Audit events: what happened, as the compliance record keeps it. The store adds the chain fields
 * (id, seq, prevHash, hash); everything else is decided here, in the domain, so every backend
 * records the same thing.
 */
export const AUDIT_SCHEMA_VERSION = 1;
export const GENESIS_HASH = '0'.repeat(64);

/** Every type of audit event, the one list (exports check a --type against it). */
export const AUDIT_EVENT_TYPES = [
  'config.loaded',
  'request.created',
  'request.refused',
  'approval.granted',
  'request.approved',
  'request.scheduled',
  'breakglass.used',
  'breakglass.ratified',
  'breakglass.flagged',
  'breakglass.review_overdue',
  'request.rejected',
  'request.cancelled',
  'request.expired',
  'request.reminded',
  'request.escalated',
  'request.message_changed',
  'approvers.notified',
  'approvers.round_resumed',
  'approver.unreachable',
  'click.refused',
  'approval.revoked',
  'execution.started',
  'execution.progressed',
  'execution.succeeded',
  'execution.failed',
  'execution.unknown',
  'execution.resumed',
  'execution.cancel_requested',
  'execution.cancelled',
  'execution.lease_lost',
  'drift.detected',
  'auth.refused',
  'tenant.refused',
  'audit.export_link_issued',
  'audit.export_started',
  'audit.exported',
  'audit.export_refused',
  'audit.checkpoint',
  'audit.loss_accepted',
  'delegation.created',
  'delegation.replaced',
  'delegation.revoked',
  'delegation.refused',
  'query.run',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** The records saying Azure is being or was changed: an execution's start and its outcome. */
const AZURE_CHANGES: ReadonlySet<string> = new Set<AuditEventType>(['execution.started', 'execution.succeeded', 'execution.failed', 'execution.unknown', 'execution.cancelled', 'execution.lease_lost']);

/** Whether a record of this type says Azure is being or was changed (a checkpoint follows it soon). */
export function changesAzure(type: string): boolean {
  return AZURE_CHANGES.has(type);
}

export interface AuditRequestRef {
  id: string;
  command: string;
  parameters: Record<string, string>;
  operationHash: string;
  reason?: string;
  policyVersion: string;
}

export interface AuditExecution {
  correlationId?: string;
  operationIds?: string[];
  status?: string;
}

export interface AuditOutcome {
  result: 'ok' | 'refused' | 'error' | 'unknown';
  /** A RefusalReason or an ARM error code. */
  reason?: string;
  detail?: string;
}

/** What the application layer hands to the audit log. */
export interface AuditEventDraft {
  type: AuditEventType;
  /** ISO-8601 UTC. */
  time: string;
  actor?: Actor;
  source?: Source;
  request?: AuditRequestRef;
  target?: Target;
  execution?: AuditExecution;
  outcome: AuditOutcome;
  /** Small structured extras (config hash, export filter, ...). Never tokens, secrets or raw card payloads. */
  data?: Record<string, unknown>;
}

/** A record as stored: the draft plus its place in the hash chain. */
export interface AuditRecord extends AuditEventDraft {
  schemaVersion: number;
  id: string;
  seq: number;
  prevHash: string;
  hash: string;
}

export function requestRef(r: ApprovalRequest): AuditRequestRef {
  const ref: AuditRequestRef = {
    id: r.id,
    command: r.command,
    parameters: r.parameters,
    operationHash: r.operationHash,
    policyVersion: r.policy.version,
  };
  if (r.reason !== undefined) ref.reason = r.reason;
  return ref;
}

/** An event about a request, with its request and target filled in. */
export function requestEvent(
  r: ApprovalRequest,
  type: AuditEventType,
  time: string,
  outcome: AuditOutcome,
  extra: Partial<Pick<AuditEventDraft, 'actor' | 'source' | 'execution' | 'data'>> = {},
): AuditEventDraft {
  return neutralise({ type, time, request: requestRef(r), target: r.target, outcome, ...extra });
}

/**
 * out[key] = value, as an own member whatever the key: `out.__proto__ = value` sets the object's
 * prototype instead, so a key "__proto__" (an Azure tag or deployment output of that name, a field of
 * JSON a caller sent) was silently left out of what is recorded.
 */
export function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/**
 * A lone UTF-16 surrogate (half of a pair; JSON text can carry one as an escape) is not text: UTF-8
 * cannot encode it, so a CSV export would write U+FFFD and no longer match the record's hash. It
 * becomes U+FFFD before the record is sealed, so every format reads back the same record.
 */
export function wellFormed(s: string): string {
  const text = s as unknown as { isWellFormed(): boolean; toWellFormed(): string };
  return text.isWellFormed() ? s : text.toWellFormed();
}

/**
 * CR, LF, NEL, U+2028 and U+2029 in any string become visible escapes, so no user text can forge a line in a
 * line-oriented export or log; so does U+0000, which a PostgreSQL text column cannot hold (an id of a
 * refused activity goes into one); so does every other control character but tab (C0, DEL and C1), so
 * that what a caller nobody authenticated claimed (an activity's ids) cannot carry a terminal's escape
 * sequences into a CSV export printed or shown there; lone surrogates become U+FFFD (wellFormed).
 * Applied to every draft before it is chained.
 */
export function neutralise<T>(value: T): T {
  if (typeof value === 'string') return neutraliseText(value) as T;
  if (Array.isArray(value)) return value.map((v) => neutralise(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // Object.keys, not Object.entries: the same keys in the same order, without an array for each.
    const source = value as Record<string, unknown>;
    for (const k of Object.keys(source)) {
      const v = source[k];
      if (v !== undefined) setOwn(out, k, neutralise(v));
    }
    return out as T;
  }
  return value;
}

// NEL (U+0085) and the LINE / PARAGRAPH SEPARATORs end a line for some readers too: \u0085, \u2028, \u2029.
// Every control character but tab goes with them (ESC starts a terminal's escape sequences, U+009B is its CSI).
const LINE_END = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/;
const LINE_ENDS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g;

/** How neutralise writes one such character: \r, \n, or \u and its four hex digits. */
export function escapedControl(c: string): string {
  return c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** One string: tested first, since almost none holds a line end (a replace would scan it and call back for nothing). */
function neutraliseText(text: string): string {
  const s = wellFormed(text);
  if (!LINE_END.test(s)) return s;
  return s.replace(LINE_ENDS, escapedControl);
}

/** Which audit records to read or export. */
export interface AuditFilter {
  /** Inclusive, ISO-8601. */
  from?: string;
  /** Exclusive, ISO-8601. */
  to?: string;
  fromSeq?: number;
  requestId?: string;
  actorId?: string;
  types?: AuditEventType[];
}

/** The newest record of the chain: the next record carries this hash as its previous hash. */
export interface ChainHead {
  seq: number;
  hash: string;
}
