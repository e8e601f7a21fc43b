/**
 * The metrics an operator alerts on, and how each is read off the audit trail. The business counters
 * are derived from audit records as they are appended (the audit trail is where every decision,
 * refusal and execution outcome is already stated once), so no use case knows about telemetry.
 */
import { ValueType, type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import type { AuditRecord } from '../domain/audit';
import { repeatedOf } from '../domain/repeated-refusals';

export const METRIC = {
  requestsCreated: 'countersign.requests.created',
  requestsExpired: 'countersign.requests.expired',
  requestsEscalated: 'countersign.requests.escalated',
  breakGlass: 'countersign.breakglass',
  approversUnreachable: 'countersign.approvers.unreachable',
  decisions: 'countersign.decisions',
  refusals: 'countersign.refusals',
  executions: 'countersign.executions',
  auditAppendDuration: 'countersign.audit.append.duration',
  sendsThrottled: 'countersign.teams.sends.throttled',
  throttleWait: 'countersign.teams.throttle.wait',
} as const;

/** Audit event type -> the decision it records. */
const DECISIONS: Partial<Record<AuditRecord['type'], string>> = {
  'approval.granted': 'approve',
  'request.rejected': 'reject',
  'approval.revoked': 'revoke',
  'request.cancelled': 'cancel',
};

/** Audit event type -> the execution outcome it records. */
const EXECUTIONS: Partial<Record<AuditRecord['type'], string>> = {
  'execution.succeeded': 'succeeded',
  'execution.failed': 'failed',
  'execution.unknown': 'unknown',
  'execution.cancelled': 'cancelled',
};

const REFUSALS = new Set<AuditRecord['type']>(['request.refused', 'click.refused', 'tenant.refused', 'auth.refused', 'audit.export_refused', 'delegation.refused']);

export class CountersignMetrics {
  private readonly created: Counter;
  private readonly expired: Counter;
  private readonly escalated: Counter;
  private readonly breakGlass: Counter;
  private readonly unreachable: Counter;
  private readonly decisions: Counter;
  private readonly refusals: Counter;
  private readonly executions: Counter;
  private readonly appendDuration: Histogram;
  private readonly throttled: Counter;
  private readonly throttleWait: Histogram;

  constructor(meter: Meter) {
    this.created = meter.createCounter(METRIC.requestsCreated, { description: 'Approval requests created', valueType: ValueType.INT });
    this.expired = meter.createCounter(METRIC.requestsExpired, { description: 'Approval requests that expired undecided', valueType: ValueType.INT });
    this.escalated = meter.createCounter(METRIC.requestsEscalated, { description: 'Approval requests escalated after waiting undecided', valueType: ValueType.INT });
    this.breakGlass = meter.createCounter(METRIC.breakGlass, { description: 'Break-glass uses (run without approval), their reviews and overdue reviews, by event', valueType: ValueType.INT });
    this.unreachable = meter.createCounter(METRIC.approversUnreachable, { description: 'People or approval channels a request could not be brought to', valueType: ValueType.INT });
    this.decisions = meter.createCounter(METRIC.decisions, { description: 'Decisions taken on requests, by decision', valueType: ValueType.INT });
    this.refusals = meter.createCounter(METRIC.refusals, { description: 'Requests, clicks and calls refused, by reason', valueType: ValueType.INT });
    this.executions = meter.createCounter(METRIC.executions, { description: 'Executions that ended, by outcome', valueType: ValueType.INT });
    this.appendDuration = meter.createHistogram(METRIC.auditAppendDuration, { description: 'Time to append audit records durably (with the request write they belong to)', unit: 'ms' });
    this.throttled = meter.createCounter(METRIC.sendsThrottled, { description: "Proactive sends (card updates, messages) held back by Teams' per-conversation rate limit", valueType: ValueType.INT });
    this.throttleWait = meter.createHistogram(METRIC.throttleWait, { description: 'How long a held-back proactive send waited for room', unit: 'ms' });
  }

  /** Counts what the records appended say happened. */
  appended(records: readonly AuditRecord[]): void {
    for (const record of records) {
      const command = record.request?.command;
      const byCommand = command ? { command } : {};
      if (record.type === 'request.created') this.created.add(1, byCommand);
      else if (record.type === 'request.expired') this.expired.add(1, byCommand);
      else if (record.type === 'request.escalated') this.escalated.add(1, byCommand);
      else if (record.type.startsWith('breakglass.')) this.breakGlass.add(1, { event: record.type.slice('breakglass.'.length), ...byCommand });
      else if (record.type === 'approver.unreachable') this.unreachable.add(1, { occasion: String(record.data?.occasion ?? 'unknown'), ...byCommand });
      else if (DECISIONS[record.type]) this.decisions.add(1, { decision: DECISIONS[record.type]!, ...byCommand });
      else if (EXECUTIONS[record.type]) this.executions.add(1, { outcome: EXECUTIONS[record.type]!, ...byCommand });
      else if (REFUSALS.has(record.type)) this.refused(record);
    }
  }

  /** One refusal by its reason; a minute's `repeated` summary, each refusal it counted by its own reason. */
  private refused(record: AuditRecord): void {
    const counted = repeatedOf(record);
    if (!counted) return this.refusals.add(1, { event: record.type, reason: record.outcome.reason ?? record.type });
    for (const [reason, n] of Object.entries(counted.reasons)) if (Number.isSafeInteger(n) && n > 0) this.refusals.add(n, { event: record.type, reason });
  }

  appendTook(ms: number, operation: 'append' | 'insert' | 'update', result: 'ok' | 'error'): void {
    this.appendDuration.record(ms, { operation, result });
  }

  sendThrottled(waitMs: number): void {
    this.throttled.add(1);
    this.throttleWait.record(waitMs);
  }
}
