import { evidenceFiles, type EvidenceFile } from '../../../src/audit/access/evidence';
import { requestCard } from '../../../src/cards/request-card';
import type { AuditRecord } from '../../../src/domain/audit';
import type { ApprovalRequest } from '../../../src/domain/request';

/** The evidence bundle of one stored version of a request, with no audit records and a verified empty chain. */
export function evidenceOf(r: ApprovalRequest, events: AuditRecord[] = []): EvidenceFile[] {
  return evidenceFiles({
    requestId: r.id,
    versions: [r],
    events,
    verification: { chain: { ok: true, count: 0, lastSeq: 0, headHash: '0'.repeat(64) }, checkpoints: { checked: 0, problems: [] }, events: { count: 0, ok: true, problems: [] } },
    renderCard: (v) => requestCard(v),
  });
}
