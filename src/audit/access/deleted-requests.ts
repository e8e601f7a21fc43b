/**
 * What the database shows was done to it by hand, said in the log.
 *
 * At start: requests whose row was deleted outside Countersign while their saved versions remain
 * (request_versions is append-only; Countersign never deletes a request). An approved or scheduled
 * one would otherwise never run, and nobody would hear of it: each start says so in the log, as
 * `countersign audit verify` does.
 */
import type { Logger } from '../../log/context';
import type { AuditStore } from '../ports';

export async function reportDeletedRequests(store: Pick<AuditStore, 'auditAccess'>, log: Pick<Logger, 'error'>): Promise<number> {
  const gone = await store.auditAccess.requestsWithoutRow();
  if (gone.length > 0) {
    log.error(
      { requests: gone.map((r) => `${r.id} (last saved ${r.state} at ${r.updatedAt})`) },
      'requests deleted outside Countersign: their rows are gone while their saved versions and audit records remain, so they will never run. Run countersign audit verify, find out who deleted them, and restore them from a backup',
    );
  }
  return gone.length;
}

/**
 * At start and at each timed checkpoint: the audit trail's append-only triggers missing or disabled
 * (someone changed the schema by hand, as editing a record needs). Countersign goes on, since the
 * hash chain and the signed checkpoints still show a changed record, but says so as an error each
 * time, until they are back: only `countersign audit verify` names what was changed meanwhile.
 */
export async function reportMissingProtection(store: Pick<AuditStore, 'auditAccess'>, log: Pick<Logger, 'error'>): Promise<string[]> {
  const missing = await store.auditAccess.missingProtection();
  if (missing.length > 0) {
    log.error(
      { triggers: missing },
      'the append-only protection of the audit trail is missing or disabled: someone changed the database schema by hand, so records may have been edited or deleted. Run countersign audit verify now (it names any record changed), then enable the triggers again (PostgreSQL: ALTER TABLE … ENABLE TRIGGER; a rewrite rule named: DROP RULE … ON …) or restore the database from a backup',
    );
  }
  return missing;
}
