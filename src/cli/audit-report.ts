/** How audit verification reads to a person: what was checked, and where the chain first broke. */
import type { ChainVerification } from '../audit/verify';

export const EXIT_OK = 0;
/** Bad input or an unreadable source (missing database, missing file). */
export const EXIT_INPUT = 1;
/** The audit chain is damaged. */
export const EXIT_DAMAGED = 2;
/** The chain is intact but its protection was tampered with (append-only triggers removed). */
export const EXIT_UNPROTECTED = 3;

export function verificationReport(source: string, v: ChainVerification, warnings: readonly string[] = []): string {
  const lines: string[] = [`Source: ${source}`];
  if (v.ok) {
    lines.push(
      v.count === 0
        ? 'Audit chain intact: it holds no records yet.'
        : `Audit chain intact: ${v.count} records, seq ${v.firstSeq} to ${v.lastSeq}.`,
      `Head hash: ${v.headHash}`,
    );
  } else if (v.problem) {
    const p = v.problem;
    lines.push(
      `AUDIT CHAIN DAMAGED (${p.kind}) at record ${p.seq}${p.recordId ? `, id ${p.recordId}` : ''}:`,
      `  ${p.message}`,
      v.count === 0
        ? 'No record before it could be verified.'
        : `Records before it are intact: ${v.count} records, seq ${v.firstSeq} to ${v.lastSeq}, head hash ${v.headHash}.`,
    );
  }
  for (const w of warnings) lines.push(`WARNING: ${w}`);
  return `${lines.join('\n')}\n`;
}

export function verificationExitCode(v: ChainVerification, warnings: readonly string[] = []): number {
  if (!v.ok) return EXIT_DAMAGED;
  return warnings.length ? EXIT_UNPROTECTED : EXIT_OK;
}
