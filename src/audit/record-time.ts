/**
 * Record times never go backwards along the chain. The time of an event comes from the wall clock,
 * which can step back (NTP, a VM restored, an operator); a record sealed after another must not
 * claim to be earlier, or time filters, exports and reviews read the trail out of order. A draft
 * whose time is before the previous record's takes that time, and keeps the clock's reading in
 * `data.clockTime` so the step stays visible. SQLite seals through this (its group commit); PostgreSQL
 * seals in the database with each instance's own time, so there neighbouring records from instances
 * whose commits crossed can be a little out of time order (docs/faults.md, Record times).
 */
import type { AuditEventDraft } from '../domain/audit';

export function notBeforePrevious(draft: AuditEventDraft, previousTime: string | undefined): AuditEventDraft {
  if (previousTime === undefined || !(Date.parse(draft.time) < Date.parse(previousTime))) return draft;
  return { ...draft, time: previousTime, data: { ...(draft.data ?? {}), clockTime: draft.time } };
}
