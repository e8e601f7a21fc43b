/**
 * OCSF export: each record as an OCSF 1.3.0 "API Activity" event (class_uid 6003, category 6
 * Application Activity), one JSON object per line, for SIEMs that read OCSF. The mapping is in
 * docs/audit.md. Each event carries the record's canonical JSON in `raw_data`, so an OCSF export
 * verifies like the others: the record is read back from raw_data, and the mapped fields must be
 * exactly what raw_data maps to (an edit of a mapped field is caught too).
 */
import type { Readable, Writable } from 'node:stream';
import type { AuditEventType, AuditRecord } from '../../domain/audit';
import { repeatedOf } from '../../domain/repeated-refusals';
import { fastCanonicalJson as canonicalJson } from '../chain/seal-json-fast';
import type { Target } from '../../domain/operation';
import { textLines } from './jsonl';
import { writeRecords } from './output';
import type { RecordEncoder } from './encoder';
import type { ExportSummary } from './output';
import { ChainDefect, isCanonicalText, NOT_CANONICAL } from '../chain/record-text';

const OCSF_VERSION = '1.3.0';
const CLASS_UID = 6003;
const CATEGORY_UID = 6;

const CREATE = 1;
const READ = 2;
const UPDATE = 3;
const OTHER = 99;
const ACTIVITY_NAMES: Record<number, string> = { [CREATE]: 'Create', [READ]: 'Read', [UPDATE]: 'Update', [OTHER]: 'Other' };

/**
 * What each event does to the approval request (or the audit trail) it is about: every type is
 * listed, so a new one does not compile until it is given its activity (and docs/audit.md's OCSF
 * table names it, which test/audit/ocsf.test.ts checks).
 */
const ACTIVITY: Record<AuditEventType, number> = {
  'config.loaded': READ,
  'request.created': CREATE,
  'request.refused': CREATE,
  'approval.granted': UPDATE,
  'request.approved': UPDATE,
  'request.scheduled': UPDATE,
  'breakglass.used': UPDATE,
  'breakglass.ratified': UPDATE,
  'breakglass.flagged': UPDATE,
  'breakglass.review_overdue': UPDATE,
  'request.rejected': UPDATE,
  'request.cancelled': UPDATE,
  'request.expired': UPDATE,
  'request.reminded': UPDATE,
  'request.escalated': UPDATE,
  'request.message_changed': OTHER,
  'approvers.notified': OTHER,
  'approvers.round_resumed': OTHER,
  'approver.unreachable': OTHER,
  'click.refused': UPDATE,
  'approval.revoked': UPDATE,
  'execution.started': UPDATE,
  'execution.progressed': UPDATE,
  'execution.succeeded': UPDATE,
  'execution.failed': UPDATE,
  'execution.unknown': UPDATE,
  'execution.resumed': UPDATE,
  'execution.cancel_requested': UPDATE,
  'execution.cancelled': UPDATE,
  'execution.lease_lost': UPDATE,
  'drift.detected': UPDATE,
  'auth.refused': OTHER,
  'tenant.refused': OTHER,
  'audit.export_link_issued': CREATE,
  'audit.export_started': READ,
  'audit.exported': READ,
  'audit.export_refused': READ,
  'audit.checkpoint': CREATE,
  'delegation.created': CREATE,
  'delegation.replaced': UPDATE,
  'delegation.revoked': UPDATE,
  'delegation.refused': OTHER,
  'audit.loss_accepted': OTHER,
  'query.run': READ,
};

const STATUS = {
  ok: { id: 1, name: 'Success', severityId: 1, severity: 'Informational' },
  refused: { id: 2, name: 'Failure', severityId: 3, severity: 'Medium' },
  error: { id: 2, name: 'Failure', severityId: 4, severity: 'High' },
  unknown: { id: 0, name: 'Unknown', severityId: 4, severity: 'High' },
} as const;

function resources(t: Target): Record<string, unknown>[] {
  if (t.resourceId) {
    const type = /\/providers\/([^/]+\/[^/]+)\/[^/]+$/i.exec(t.resourceId)?.[1];
    return [
      drop({
        uid: t.resourceId,
        name: t.resourceId.split('/').pop(),
        type,
        group: t.resourceGroup ? { name: t.resourceGroup } : undefined,
      }),
    ];
  }
  if (t.resourceGroup) {
    return [{ uid: `/subscriptions/${t.subscriptionId}/resourceGroups/${t.resourceGroup}`, name: t.resourceGroup, type: 'Microsoft.Resources/resourceGroups' }];
  }
  return [{ uid: `/subscriptions/${t.subscriptionId}`, type: 'Microsoft.Resources/subscriptions' }];
}

function drop<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** A minute's `repeated` summary: how many refusals it counted and when (OCSF's `count`, `start_time`, `end_time`), so a SIEM counts them all. */
function summarised(r: AuditRecord): { count?: number; start_time?: number; end_time?: number } {
  const counted = repeatedOf(r);
  if (!counted) return {};
  const [from, to] = [Date.parse(counted.from), Date.parse(counted.to)];
  return { count: counted.count, ...(Number.isFinite(from) ? { start_time: from } : {}), ...(Number.isFinite(to) ? { end_time: to } : {}) };
}

/**
 * A summary's event as an export made before OCSF carried its count (2026-12-07) wrote it, else
 * undefined: such an export still verifies (the count is read from raw_data, which is checked).
 */
function uncounted(r: AuditRecord): string | undefined {
  if (!repeatedOf(r)) return undefined;
  const { count: _count, start_time: _start, end_time: _end, ...event } = toOcsf(r);
  return canonicalJson(event);
}

/** The OCSF API Activity event of one audit record. */
export function toOcsf(r: AuditRecord): Record<string, unknown> {
  // A type this version does not know (a record written by a newer one) is Other.
  const activityId = Object.hasOwn(ACTIVITY, r.type) ? ACTIVITY[r.type] : OTHER;
  const activityName = activityId === OTHER ? r.type : ACTIVITY_NAMES[activityId];
  const status = STATUS[r.outcome?.result] ?? STATUS.unknown;
  const { request, execution, data, source } = r;
  return drop({
    activity_id: activityId,
    activity_name: activityName,
    category_uid: CATEGORY_UID,
    category_name: 'Application Activity',
    class_uid: CLASS_UID,
    class_name: 'API Activity',
    type_uid: CLASS_UID * 100 + activityId,
    type_name: `API Activity: ${activityName}`,
    time: Date.parse(r.time),
    severity_id: status.severityId,
    severity: status.severity,
    status_id: status.id,
    status: status.name,
    ...summarised(r),
    status_code: r.outcome?.reason,
    status_detail: r.outcome?.detail,
    message: `${r.type}${request ? ` ${request.id}` : ''}: ${r.outcome?.result}${r.outcome?.reason ? ` (${r.outcome.reason})` : ''}`,
    metadata: drop({
      version: OCSF_VERSION,
      product: { name: 'Countersign', vendor_name: 'Countersign' },
      uid: r.id,
      sequence: r.seq,
      event_code: r.type,
      log_name: 'countersign-audit',
      original_time: r.time,
      correlation_uid: request?.id,
      tenant_uid: r.actor?.tenantId || undefined,
    }),
    actor: r.actor
      ? { user: drop({ uid: r.actor.aadObjectId, name: r.actor.name, type_id: 1, type: 'User', org: r.actor.tenantId ? { uid: r.actor.tenantId } : undefined }) }
      : { app_name: 'Countersign' },
    api: drop({
      operation: r.type,
      service: { name: 'Countersign' },
      request: { uid: request?.id ?? r.id },
      response: r.outcome?.reason || r.outcome?.detail ? drop({ error: r.outcome.reason, message: r.outcome.detail }) : undefined,
    }),
    src_endpoint: source ? drop({ svc_name: source.channelId, uid: source.conversationId, name: source.conversationType }) : { svc_name: 'countersign' },
    cloud: r.target ? { provider: 'Azure', account: { uid: r.target.subscriptionId, type: 'Azure Subscription' } } : undefined,
    resources: r.target ? resources(r.target) : undefined,
    unmapped: drop({
      schema_version: r.schemaVersion,
      request: request
        ? drop({ command: request.command, parameters: request.parameters, operation_hash: request.operationHash, reason: request.reason, policy_version: request.policyVersion })
        : undefined,
      execution,
      data,
      activity_id: source?.activityId,
      prev_hash: r.prevHash,
      hash: r.hash,
    }),
    raw_data: canonicalJson(r),
  });
}

export const OCSF_ENCODER: RecordEncoder = {
  encode: (batch) => {
    let text = '';
    for (const record of batch) text += `${canonicalJson(toOcsf(record))}\n`;
    return text;
  },
  // Each stored text is parsed to be mapped, and its event's raw_data is its canonical JSON: a text
  // that is not that (edited in the database) is named by comparing the two, at no further cost.
  encodeStored: (batch, altered) => {
    let text = '';
    for (const row of batch) {
      const event = toOcsf(JSON.parse(row.text) as AuditRecord);
      if (altered && event.raw_data !== row.text) altered.push(row.seq);
      text += `${canonicalJson(event)}\n`;
    }
    return text;
  },
};

export function writeOcsf(records: AsyncIterable<AuditRecord>, out: Writable): Promise<ExportSummary> {
  return writeRecords(records, OCSF_ENCODER, out);
}

/**
 * Reads an OCSF export back into the records (from raw_data) for verifyChain. A line that is not
 * exactly what its raw_data maps to (the encoder writes that canonical text, one line each) was
 * edited, and is reported as such.
 */
export async function* readOcsf(source: string | Readable): AsyncGenerator<AuditRecord> {
  for await (const { text, lineNo } of textLines(source)) {
    let event: Record<string, unknown>;
    let record: AuditRecord;
    try {
      event = JSON.parse(text) as Record<string, unknown>;
      record = JSON.parse(String(event.raw_data)) as AuditRecord;
    } catch (err) {
      throw new ChainDefect('edited', `line ${lineNo} of the OCSF export is not an event with a record in raw_data (${(err as Error).message}): it was edited or truncated.`);
    }
    if (!isCanonicalText(String(event.raw_data), record)) {
      const seq = Number.isSafeInteger(record?.seq) ? record.seq : undefined;
      throw new ChainDefect('edited', `the raw_data of line ${lineNo} of the OCSF export${seq === undefined ? '' : ` (record ${seq})`} was edited: ${NOT_CANONICAL}.`, seq, typeof record?.id === 'string' ? record.id : '');
    }
    let mapped: string | undefined;
    try {
      mapped = canonicalJson(toOcsf(record));
    } catch {
      mapped = undefined;
    }
    // The line as written, byte for byte: a repeated member (JSON.parse keeps the last, a SIEM may
    // keep the first), a reordered or a spaced one is an edit as much as a changed value.
    if (mapped === undefined || (mapped !== text && uncounted(record) !== text)) {
      const seq = Number.isSafeInteger(record?.seq) ? record.seq : undefined;
      const at = seq === undefined ? `line ${lineNo}` : `record ${seq} (line ${lineNo})`;
      throw new ChainDefect('edited', `the OCSF fields of ${at} do not match the record in its raw_data: they were edited.`, seq, typeof record?.id === 'string' ? record.id : '');
    }
    yield record;
  }
}
