/**
 * `countersign audit verify`: the database's chain and its checkpoints (read-only, safe while the
 * bot runs), or an export file against its signed manifest, offline (audit-verify-file.ts). Its
 * options and the key they name: audit-verify-options.ts; the checkpoints: audit-verify-checkpoints.ts.
 */
import { report, shownValue } from './terminal-text';
import { missingFromSchema } from '../store/postgres/writer-stops';
import { DamagedDatabaseError, requireAuditDatabase } from './audit-database';
import type { AuditDatabase } from './audit-database';
import type { RequestCheck } from '../audit/verify/request-rows';
import { AuditInputError, droppingOutputOnClosedPipe } from './audit-io';
import type { AuditCliIo } from './audit-io';
import { EXIT_DAMAGED, EXIT_INPUT, EXIT_OK, EXIT_UNPROTECTED, checkpointReport, verificationReport } from './audit-report';
import { checkCheckpoints } from './audit-verify-checkpoints';
import { verifyFile } from './audit-verify-file';
import { keySourceOf, type VerifyOptions } from './audit-verify-options';
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, signingKeyIdIn } from '../audit/access/signing';
import type { CheckpointVerification } from '../audit/verify/verify-checkpoints';

export async function verify(opts: VerifyOptions, io: AuditCliIo): Promise<number> {
  droppingOutputOnClosedPipe(io.stdout);
  if (opts.file && opts.everyFinding) throw new AuditInputError('--every-finding applies to the database\'s request rows: use it without --file');
  if (opts.file) return verifyFile(opts.file, opts, io);
  if (opts.partial || opts.filtered) throw new AuditInputError(`${opts.partial ? '--partial' : '--filtered'} applies to an export file: use it with --file`);
  return verifyDatabase(opts, io);
}

async function verifyDatabase(opts: VerifyOptions, io: AuditCliIo): Promise<number> {
  const db = requireAuditDatabase(opts.dataDir, io);
  let chain;
  try {
    chain = await db.verify();
  } catch (err) {
    if (err instanceof DamagedDatabaseError) {
      report(io, `Database: ${db.where}\nDATABASE DAMAGED: ${err.message}.\n`);
      return EXIT_DAMAGED;
    }
    // The audit table itself dropped (PostgreSQL): damage to report, not a wrong input.
    const missing = missingFromSchema(err);
    if (!missing) throw err;
    const what = missing === 'the table audit_log' ? 'AUDIT LOG DAMAGED (deleted)' : 'DATABASE DAMAGED';
    const gone = missing === 'the table audit_log' ? ': its audit records are gone from it' : '';
    report(io, `Database: ${db.where}\n${what}: ${missing} is missing from the database (dropped or renamed)${gone}. Restore the database from a backup (docs/faults.md).\n`);
    return EXIT_DAMAGED;
  }
  const checkpoints = await checkCheckpoints(db, chain, opts, io);
  const warnings = [...chain.warnings, ...checkpoints.triggerWarnings];
  report(io, verificationReport(db.where, chain, warnings, checkpoints.result.problems));
  report(io, checkpointReport(checkpoints.result, keySourceOf(opts, db.dataDir, io), !opts.publicKey));
  report(io, publicKeyFileReplaced(checkpoints.result, opts, db.dataDir));
  // Every copy checked is one whoever can write the data directory can delete: a cut back to an
  // earlier checkpoint (the later ones deleted with the records after it) needs no key, and only a
  // copy kept elsewhere shows it.
  if (checkpoints.result.checked > 0 && checkpoints.result.problems.length === 0 && !(opts.checkpoints?.length)) {
    report(io, 'NOTE: the checkpoints checked are all copies this installation keeps (its database, its data directory); a log cut back to an earlier checkpoint is caught only against a copy kept elsewhere: countersign audit verify --checkpoints <file>.\n');
  }
  if (chain.lossSeqs?.length) report(io, await acceptedLosses(db, chain.lossSeqs));
  const gone = chain.requestsWithoutRow;
  if (chain.missingTables.length > 0) {
    report(io, `DATABASE DAMAGED: ${chain.missingTables.length === 1 ? 'the table' : 'the tables'} ${chain.missingTables.join(', ')} ${chain.missingTables.length === 1 ? 'is' : 'are'} missing from the database (dropped or renamed): a start is refused. Restore the database from a backup (docs/faults.md).\n`);
  }
  if (chain.requestsTableMissing) {
    report(io, 'REQUESTS DELETED: the table requests is missing from the database (dropped), while the saved versions remain: no request can be decided or run. The audit records are as reported above; restore the table from a backup.\n');
  }
  // An index that leaves records out hides them from reads of one request or person, every record intact.
  for (const p of chain.indexProblems) report(io, `AUDIT LOG DAMAGED (index): ${shownValue(p)}.\n`);
  if (gone.length > 0) {
    const each = gone.map((r) => `  ${shownValue(r.id)}: last saved ${shownValue(r.state)} at ${shownValue(r.updatedAt)}`);
    report(io, 
      `REQUESTS DELETED: ${gone.length === 100 ? 'at least 100' : gone.length} request(s) have saved versions but no row: deleted outside Countersign, which never deletes one (an approved or scheduled one will never run):\n${each.join('\n')}\nThe audit records of each are intact: find out who deleted the rows, and restore them from a backup.\n`,
    );
  }
  const requests = chain.requestsTableMissing || chain.missingTables.includes('request_versions') ? undefined : await checkRequests(db, io, !!opts.everyFinding);
  if (!chain.ok || checkpoints.result.problems.length || gone.length > 0 || chain.requestsTableMissing || chain.missingTables.length > 0 || chain.indexProblems.length > 0 || (requests?.unbacked ?? 0) > 0) return EXIT_DAMAGED;
  // Checkpoints that could not be checked for want of a key are no pass: the user has to give it.
  if (checkpoints.keyProblem) {
    io.stderr.write(`error: ${checkpoints.keyProblem}\n`);
    return EXIT_INPUT;
  }
  return warnings.length ? EXIT_UNPROTECTED : EXIT_OK;
}

/** How many rows and versions not backed `audit verify` names, each with every field, unless --every-finding: the rest are counted by field. */
export const NAMED_UNBACKED = 1000;

/**
 * The second pass, after the chain: every request row and saved version held against its audit
 * records (src/audit/verify/request-rows.ts). Each one not backed is named as it is found, one line
 * for each field its records do not back (request id, row or version, the field, what the row says,
 * what the records say), then how many were checked, with the pass's own time (the chain's figure
 * does not include it). Past NAMED_UNBACKED rows and versions (a database rewritten wholesale) the
 * rest are counted by field instead, unless every one was asked for.
 */
async function checkRequests(db: AuditDatabase, io: AuditCliIo, every: boolean): Promise<RequestCheck> {
  let named = 0;
  const unnamed = new Map<string, number>();
  const check = await db.checkRequests((f) => {
    if (!every && named >= NAMED_UNBACKED) {
      for (const { field } of f.fields) unnamed.set(field, (unnamed.get(field) ?? 0) + 1);
      return;
    }
    if (named === 0) report(io, 'REQUESTS NOT AS RECORDED: request rows or saved versions that their audit records do not back (written into the database by other means; the audit records are as reported above), each field on a line:\n');
    named += 1;
    const which = f.what === 'row' ? `row (at version ${shownValue(f.version)})` : `version ${shownValue(f.version)}`;
    for (const field of f.fields) {
      report(io, `  ${shownValue(f.requestId)} ${which}: ${shownValue(field.field)}: the ${f.what} says ${shownValue(field.stored)}; the records say ${shownValue(field.recorded)}\n`);
    }
  });
  const counted = `${check.requests} checked against their audit records (${check.rows} row(s), ${check.versions} saved version(s))`;
  const byField = [...unnamed].map(([field, n]) => `${shownValue(field)} ${n}`).join(', ');
  const verdict = check.unbacked === 0 ? 'each backed' : named === check.unbacked ? `${check.unbacked} NOT BACKED (named above)` : `${check.unbacked} NOT BACKED (the first ${named} named above; the other ${check.unbacked - named}, by field: ${byField}; name them all with --every-finding)`;
  report(io, `Requests: ${counted}: ${verdict}. Time: ${check.seconds.toFixed(2)} s.\n`);
  return check;
}

/**
 * The losses of records an operator accepted (countersign audit accept-loss), each recorded in the
 * log itself: the chain is intact as recorded since, but records before it were lost, so "intact"
 * alone would hide what the log no longer holds. Said after the verdict, each with who, when, why
 * and what was found missing then.
 */
async function acceptedLosses(db: AuditDatabase, seqs: readonly number[]): Promise<string> {
  const reader = await db.checkpoints();
  const lines: string[] = [];
  let count = 0;
  try {
    const records = reader.readAt ? reader.readAt(seqs) : reader.read({ types: ['audit.loss_accepted'] });
    for await (const r of records) {
      const data = (r.data ?? {}) as { operator?: unknown; reason?: unknown; problems?: unknown };
      count += 1;
      const problems = Array.isArray(data.problems) ? data.problems.filter((p): p is string => typeof p === 'string') : [];
      lines.push(`  record ${r.seq}, ${shownValue(r.time)}, by ${typeof data.operator === 'string' ? shownValue(data.operator) : 'an operator'}: ${JSON.stringify(typeof data.reason === 'string' ? data.reason : '')}`);
      for (const p of problems) lines.push(`    found then: ${shownValue(p)}`);
    }
  } finally {
    await reader.close();
  }
  return `NOTE: records were lost from this log, and the loss was accepted (countersign audit accept-loss) ${count === 1 ? 'once' : `${count} times`}: it is intact as recorded, not whole. Each acceptance, recorded in the log:\n${lines.join('\n')}\n`;
}

/**
 * Checkpoints another key signed, checked with the data directory's public key file, while the
 * private key beside it is the key that signed them: that file was replaced, not the log (the bot
 * says the same at its start). The verdict stands (the key in use cannot vouch for them); this says
 * which file to look at.
 */
function publicKeyFileReplaced(v: CheckpointVerification, opts: VerifyOptions, dataDir: string): string {
  if (opts.publicKey || !v.keyId || !v.problems.some((p) => p.kind === 'foreign')) return '';
  const signing = signingKeyIdIn(dataDir);
  if (!signing || signing === v.keyId || !v.problems.some((p) => p.kind === 'foreign' && p.message.includes(signing))) return '';
  return `NOTE: the data directory's signing key ${PRIVATE_KEY_FILE} is key ${signing}, which signed these checkpoints, while its public key file ${PUBLIC_KEY_FILE} holds key ${v.keyId}: one of the two files was replaced. Find out which and why; to check the log with the signing key's public half, put it back in ${PUBLIC_KEY_FILE} (move that file aside and run countersign audit public-key --data-dir ${dataDir}), or pass a copy kept elsewhere with --public-key <file>.
`;
}
