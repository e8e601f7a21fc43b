/**
 * At start: requests whose row was deleted outside Countersign while their saved versions remain
 * (request_versions is append-only; Countersign never deletes a request). An approved or scheduled
 * one would otherwise never run, and nobody would hear of it: each start says so in the log, as
 * `countersign audit verify` does.
 */
import type { Logger } from '../../log/context';
import type { AuditStore } from '../ports';

export async function reportDeletedRequests(store: Pick<AuditStore, 'compliance'>, log: Pick<Logger, 'error'>): Promise<number> {
  const gone = await store.compliance.requestsWithoutRow();
  if (gone.length > 0) {
    log.error(
      { requests: gone.map((r) => `${r.id} (last saved ${r.state} at ${r.updatedAt})`) },
      'requests deleted outside Countersign: their rows are gone while their saved versions and audit records remain, so they will never run. Run countersign audit verify, find out who deleted them, and restore them from a backup',
    );
  }
  return gone.length;
}
