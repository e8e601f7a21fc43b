/** How audit verification reads to a person: what was checked, and where the chain first broke. */
import type { ChainProblem, ChainVerification } from '../audit/verify/verify';
import type { CheckpointVerification } from '../audit/verify/verify-checkpoints';
import type { ExportVerification } from '../audit/verify/verify-export';
import type { AuditFilter } from '../domain/audit';
import { plural } from '../domain/duration-text';
import { shownValue } from './terminal-text';

export const EXIT_OK = 0;
/** Bad input or an unreadable source (missing database, missing file). */
export const EXIT_INPUT = 1;
/** The audit chain is damaged. */
export const EXIT_DAMAGED = 2;
/** The chain is intact but its protection was tampered with (append-only triggers removed). */
export const EXIT_UNPROTECTED = 3;

/**
 * Where a chain problem is, for its heading. For `deleted` the seq is the first missing record and
 * the id the record after the gap (see ChainProblem), so the id is named as that.
 */
function problemPlace(p: ChainProblem): string {
  if (!p.recordId) return ` at record ${p.seq}`;
  if (p.kind === 'deleted') return ` at record ${p.seq} (missing; the record after the gap is id ${shownValue(p.recordId)})`;
  return ` at record ${p.seq}, id ${shownValue(p.recordId)}`;
}

/**
 * `checkpointProblems`: what the signed checkpoints (reported after) found. A chain that holds together
 * is then not called intact: they show it cut or rewritten, or, when each was only signed with another
 * key than the one given (`foreign`), they could not vouch for it.
 */
export function verificationReport(source: string, v: ChainVerification, warnings: readonly string[] = [], checkpointProblems: readonly { kind: string }[] = []): string {
  const lines: string[] = [`Source: ${source}`];
  if (v.ok && checkpointProblems.length > 0) {
    const keyOnly = checkpointProblems.every((p) => p.kind === 'foreign');
    lines.push(
      `Hash chain consistent (each record links to the one before it): ${plural(v.count, 'record')}, seq ${v.firstSeq} to ${v.lastSeq}; ${
        keyOnly
          ? 'but its signed checkpoints were signed with another key than the one given, so they cannot vouch for it, and it is NOT shown intact: check it with the public key of the installation that wrote it (see below).'
          : 'but the signed checkpoints below show that the log was changed, so it is NOT intact.'
      }`,
      `Head hash: ${v.headHash}`,
    );
  } else if (v.ok) {
    lines.push(
      v.count === 0
        ? 'Audit chain intact: it holds no records yet.'
        : `Audit chain intact: ${plural(v.count, 'record')}, seq ${v.firstSeq} to ${v.lastSeq}.`,
      `Head hash: ${v.headHash}`,
    );
  } else if (v.problem) {
    const p = v.problem;
    lines.push(
      `AUDIT CHAIN DAMAGED (${p.kind})${problemPlace(p)}:`,
      `  ${shownValue(p.message)}`,
      v.count === 0
        ? 'No record before it could be verified.'
        : `Records before it are intact: ${plural(v.count, 'record')}, seq ${v.firstSeq} to ${v.lastSeq}, head hash ${v.headHash}.`,
    );
  }
  for (const w of warnings) lines.push(`WARNING: ${w}`);
  return `${lines.join('\n')}\n`;
}

/**
 * @param keySource where the public key in use came from, in words (named when checkpoints are another key's).
 * @param onHostKey the key is the data directory's own (no --public-key).
 */
export function checkpointReport(v: CheckpointVerification, keySource?: string, onHostKey = false): string {
  const lines: string[] = [];
  if (v.latest) {
    const c = v.latest.checkpoint;
    lines.push(`Checkpoints: ${v.checked} checked (${plural(v.copies, 'copy', 'copies')}); the latest, signed at ${c.time} (from ${v.latest.from}), names record ${c.seq}.`);
  } else if (v.checked === 0 && v.unchecked > 0) {
    lines.push(`Checkpoints: none checked (${v.uncheckedCheckpoints} checkpoint(s) found, ${plural(v.unchecked, 'copy', 'copies')}).`);
  } else if (v.checked === 0 && v.problems.length === 0) {
    lines.push('Checkpoints: none yet, so a cut-off end of the log could not be checked.');
  }
  for (const p of v.problems) lines.push(`AUDIT LOG DAMAGED (checkpoint, ${p.kind}): ${shownValue(p.message)}`);
  if (v.problems.some((p) => p.kind === 'foreign')) {
    lines.push(
      `  The key in use is ${v.keyId}${keySource ? ` (${keySource})` : ''}. If the key that signed them is this log's audit key, verify with its public key: countersign audit verify --public-key <file>.`,
    );
  }
  for (const w of v.warnings) lines.push(`NOTE: ${shownValue(w)}`);
  // Checkpoints of another key beside the data directory's own: the one case where trusting the
  // key on this host matters, since whoever replaced the key there may have rewritten the log too.
  if (onHostKey && v.keyId && v.uncheckedCheckpoints > 0) {
    lines.push(
      `NOTE: the key in use is the data directory's own; whoever can change the log there can replace that key too. For a check that does not trust this host, pass the public key you keep elsewhere: countersign audit verify --public-key <file>.`,
    );
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** What the signed checkpoints the export carries vouch for. */
function checkpointsLine(v: ExportVerification): string {
  const k = v.checkpoints;
  // Reading stops at the first record that does not check out: what the file carries past it is unknown.
  if (k.chainBroken) return 'Checkpoints: not checked: the records do not check out (below), so there is nothing to compare them with.';
  if (k.found === 0) return v.manifest ? 'Checkpoints: none in the file.' : 'Checkpoints: none in the file, so nothing in it is signed.';
  const parts: string[] = [];
  if (k.checked > 0) parts.push(`${k.checked} signed with key ${shownValue(String(k.keyId))} checked: records up to ${k.upTo} are the ones Countersign signed`);
  if (k.elsewhere > 0) parts.push(`${k.elsewhere} signed with key ${shownValue(String(k.keyId))} name records this file does not hold (nothing to compare)`);
  if (k.unchecked > 0) parts.push(k.keyId ? `${k.unchecked} name another key and were not checked` : `${k.unchecked} not checked: no public key (pass --public-key <file>)`);
  const bad = k.found - k.checked - k.elsewhere - k.unchecked;
  if (bad > 0) parts.push(`${bad} do not check out (below)`);
  return `Checkpoints: ${k.found} in the file; ${parts.join('; ')}.`;
}

/** `filtered`: checked with --filtered (without a manifest), each record against its own hash only. */
/**
 * What an export selected, as its manifest signed it: "intact" says the file holds what was
 * selected, so the reader must see what that was (a genuine export of one event type passes as
 * well as one of the whole log).
 */
export function selectionText(f: AuditFilter): string {
  const parts = [
    f.from !== undefined ? `from ${f.from} (included)` : '',
    f.to !== undefined ? `before ${f.to}` : '',
    f.fromSeq !== undefined ? `from seq ${f.fromSeq} on` : '',
    f.requestId !== undefined ? `of request ${f.requestId}` : '',
    f.actorId !== undefined ? `of actor ${f.actorId}` : '',
    f.types?.length ? `of type ${f.types.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length === 0 ? 'every record of the log (no filter)' : `only the records ${parts.join(', ')}`;
}

export function exportReport(file: string, v: ExportVerification, filtered = false): string {
  const lines: string[] = [`Source: ${file} (${v.format})`];
  const c = v.chain;
  if (v.manifest) {
    // What the manifest says is the file's (anyone can write one): never a line of the report of its own.
    const m = v.manifest;
    lines.push(`Manifest: export ${shownValue(m.exportId)} of ${shownValue(m.exportedAt)} by ${shownValue(m.exportedBy)}, signed with key ${shownValue(m.keyId)}.`);
    lines.push(`Selection: ${shownValue(selectionText(m.filter))}.`);
  } else if (filtered) {
    lines.push(
      'Manifest: none (--no-manifest --filtered): each record was checked against its own hash, and their seqs for order, not against the records before them. Anyone can hash edited records again, and records removed from the file, or from between its own, cannot be noticed without its manifest: this shows the records are well formed, not that they are all the export held.',
    );
  } else {
    lines.push(
      'Manifest: none (--no-manifest): the records were checked only against each other. Anyone can hash edited records again, so that alone shows the file is consistent, not that these are the records Countersign wrote; and a cut-off end cannot be told from a shorter export.',
    );
  }
  lines.push(checkpointsLine(v));
  // Only the log it came from was damaged (its manifest says so, signed): the file itself is as signed.
  const logOnly = !v.ok && v.problems.every((p) => p.kind === 'log-damaged');
  if (v.ok || logOnly) {
    const intact = logOnly ? 'Export intact as signed' : 'Export intact';
    lines.push(
      c.count === 0 ? `${intact}: it holds no records.` : `${intact}: ${plural(c.count, 'record')}, seq ${c.firstSeq} to ${c.lastSeq}.`,
      `Head hash: ${c.headHash}`,
    );
    if (v.sha256) lines.push(`SHA-256: ${v.sha256} (as signed)`);
    if (logOnly) {
      lines.push(
        // Records lost (the export holds what was left) or stored altered (it holds them as their hashes vouch for): each finding says which.
        'AUDIT LOG DAMAGED: its signed manifest records that the audit log it was exported from was not intact (each finding says what the export holds):',
        ...(v.manifest?.logDamage ?? []).map((d) => `  ${shownValue(d)}.`),
      );
    }
  } else {
    const [first, ...rest] = v.problems;
    const at = c.problem ? problemPlace(c.problem) : '';
    lines.push(`EXPORT DAMAGED (${first.kind})${first.kind === c.problem?.kind ? at : ''}:`, `  ${shownValue(first.message)}`);
    for (const p of rest) lines.push(`  Also (${p.kind}): ${shownValue(p.message)}`);
    if (!v.manifest && first.kind === 'deleted') {
      if (c.count === 0) lines.push('  If this export starts after record 1 (made with --from), check it with --partial: without a manifest nothing tells where it should start.');
      lines.push('  If it was made with --request, --type or --actor (a filtered export), records between its own are left out on purpose: check it with --filtered, which checks each record against its own hash; only its manifest can show that none of its records was removed.');
    }
  }
  return `${lines.join('\n')}\n`;
}
