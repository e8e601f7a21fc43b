/**
 * An operator's acceptance that part of the audit trail is gone (a database emptied, replaced or cut
 * short), recorded as the audit event that lets Countersign start again on what is left.
 */
import type { AuditEventDraft } from './audit';

export interface AuditLossAcceptance {
  /** Why, as the operator typed it. */
  reason: string;
  /** Who ran the command (user@host). */
  operator: string;
  /** What start-up found missing, in words. */
  problems: string[];
  /** The checkpoint table's last checkpoint at the time (its signature): start-up no longer holds the log to it. */
  tableCheckpoint?: { seq: number; hash: string; time: string; signature: string };
  /** The highest checkpoint of the checkpoint file, which was set aside (renamed) as `archivedAs`. */
  fileCheckpoint?: { seq: number; hash: string; time: string };
  archivedAs?: string;
  /** Where the log ended when the loss was accepted (undefined: empty). */
  head?: { seq: number; hash: string };
}

export function lossAcceptedEvent(a: AuditLossAcceptance, time: string): AuditEventDraft {
  const detail = `${a.operator} accepted the loss of audit records: ${a.reason}`;
  return {
    type: 'audit.loss_accepted',
    time,
    outcome: { result: 'ok', detail },
    data: {
      operator: a.operator,
      reason: a.reason,
      problems: a.problems,
      ...(a.tableCheckpoint ? { tableCheckpoint: a.tableCheckpoint } : {}),
      ...(a.fileCheckpoint ? { fileCheckpoint: a.fileCheckpoint } : {}),
      ...(a.archivedAs ? { archivedAs: a.archivedAs } : {}),
      head: a.head ?? null,
    },
  };
}

/** The table checkpoint an acceptance set aside, read back from its record's data. */
export function acceptedTableSignature(data: Record<string, unknown> | undefined): string | undefined {
  const c = data?.tableCheckpoint as { signature?: unknown } | undefined;
  return typeof c?.signature === 'string' ? c.signature : undefined;
}
