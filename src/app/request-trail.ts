/**
 * A request's audit records as the check before an execution reads them (domain/lifecycle/evidence.ts).
 *
 * They are read through the store's index by request, which is quick on the bot's busiest path (an
 * execution follows every approving click). But someone with write access to the database can make
 * that index again leaving chosen records out, its definition put back (docs/faults.md): a finished
 * request's `execution.started`, or the `request.cancelled` that ended its approval, would then be
 * unseen, and a row set back to `approved` would run a second time. An approval left out only fails
 * the check; what ends or uses up an approval comes after it. So the log is also read from where the
 * request's authority begins (authorityBegins), every record of that range matched without the index
 * (AuditLog.read's scan): a few records when the execution follows the click, read a window at a time
 * when it was scheduled long ahead. A record found so that the index did not give is proof the index
 * was edited: the execution is refused.
 */
import { authorityBegins, leftOutOfIndex, unauditedAuthority } from '../domain/lifecycle';
import type { AuditRecord } from '../domain/audit';
import type { ApprovalRequest } from '../domain/request';
import type { AuditLog } from './ports';

/** The index reads of one request's records go through, as both stores name it. */
export const REQUEST_INDEX = 'audit_log_request';

export interface RequestTrail {
  /** The request's records in seq order: those read through the index, and those the read of the log itself found besides. */
  records: AuditRecord[];
  /** Records the log held before the read through the index began which that read did not give (seq order). */
  leftOut: AuditRecord[];
}

export async function readRequestTrail(audit: AuditLog, requestId: string): Promise<RequestTrail> {
  // Every record up to this head is committed before the read through the index begins, so that read must give each of them.
  const head = (await audit.head())?.seq ?? 0;
  const indexed: AuditRecord[] = [];
  for await (const record of audit.read({ requestId })) indexed.push(record);
  const from = authorityBegins(requestId, indexed);
  // No authority in what the index gave: the check refuses the row whatever else the log holds.
  if (from === undefined) return { records: indexed, leftOut: [] };
  const seen = new Set(indexed.map((x) => x.seq));
  const found: AuditRecord[] = [];
  for await (const record of audit.read({ requestId, fromSeq: from }, { scan: true })) if (!seen.has(record.seq)) found.push(record);
  if (found.length === 0) return { records: indexed, leftOut: [] };
  return { records: [...indexed, ...found].sort((a, b) => a.seq - b.seq), leftOut: found.filter((x) => x.seq <= head) };
}

/** What the row claims that the trail does not back (records left out of the index among it), or undefined. */
export function trailProblem(r: ApprovalRequest, trail: RequestTrail, mode: 'start' | 'resume'): string | undefined {
  const problem = unauditedAuthority(r, trail.records, mode);
  return trail.leftOut.length > 0 ? leftOutOfIndex(trail.leftOut, problem) : problem;
}
