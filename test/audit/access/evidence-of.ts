import { evidenceFiles, type EvidenceFile } from '../../../src/audit/access/evidence';
import { sealRecord } from '../../../src/audit/chain/chain';
import { requestCard } from '../../../src/cards/request-card';
import type { AuditEventDraft, AuditRecord } from '../../../src/domain/audit';
import type { ApprovalRequest } from '../../../src/domain/request';

/** The evidence bundle of one stored version of a request, with no audit records and a verified empty chain. */
export function evidenceOf(r: ApprovalRequest, events: AuditRecord[] = []): EvidenceFile[] {
  return evidenceOfVersions([r], events);
}

/** The evidence bundle of a request's stored versions (oldest first) and its audit records. */
export function evidenceOfVersions(versions: ApprovalRequest[], events: AuditRecord[]): EvidenceFile[] {
  return evidenceFiles({
    requestId: versions[0].id,
    versions,
    events,
    verification: { chain: { ok: true, count: events.length, lastSeq: events.at(-1)?.seq ?? 0, headHash: events.at(-1)?.hash ?? '0'.repeat(64) }, checkpoints: { checked: 0, problems: [] }, events: { count: events.length, ok: true, problems: [] } },
    renderCard: (v) => requestCard(v),
  });
}

/** Drafts sealed into a chain from record 1, as the store appends them. */
export function sealedRecords(drafts: AuditEventDraft[]): AuditRecord[] {
  const records: AuditRecord[] = [];
  for (const draft of drafts) {
    const prev = records.at(-1);
    records.push(sealRecord(draft, prev ? { seq: prev.seq, hash: prev.hash } : undefined, `rec-${records.length + 1}`).record);
  }
  return records;
}

/** The summary of a bundle. */
export function summaryIn(files: EvidenceFile[]): string {
  return files.find((f) => f.name === 'SUMMARY.md')?.content ?? '';
}
