/**
 * At start: is this still the audit log the signed checkpoints vouch for? A database emptied
 * (truncated to zero bytes, deleted), replaced (another installation's, an old backup) or cut short
 * (its write-ahead log deleted after a crash) is a valid chain on its own; only what lies outside it
 * shows the loss: the checkpoint table and the checkpoint file beside it, signed with the data
 * directory's key. Anything they contradict stops startup, until an operator accepts the loss with
 * `countersign audit accept-loss`, which is itself audited.
 *
 * The key alone is no evidence: it is made at the first start before anything is recorded or signed
 * (and by `countersign audit public-key`), so a first start that failed (killed, or a lock held past
 * its wait) would otherwise leave an installation that never recorded anything refused for good as
 * "emptied". An empty log beside a key, with nothing signed anywhere (and no -wal holding records
 * beside a SQLite file that held nothing), starts as a first start; the finding notes it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChainHead } from '../../domain/audit';
import type { AuditStore as Store } from '../ports';
import { acceptedTableSignature } from '../../domain/audit-loss';
import { checkpointSignatureOk, readCheckpointFile } from './checkpoints';
import type { AuditCheckpoint } from '../ports';
import type { Logger } from '../../log/context';
import { openSigningKey, PRIVATE_KEY_FILE, type AuditSigner, type AuditVerifier, type PublicKeyFileState } from './signing';

export interface ContinuityInput {
  store: Store;
  /** The data directory's key; undefined when there is none (yet). */
  verifier: AuditVerifier | undefined;
  /** Whether the private key file existed before this start. */
  keyExisted: boolean;
  keyFile: string;
  checkpointFile: string;
  /**
   * SQLite: the -wal found, before the database was opened, holding frames beside a database file
   * that held nothing (missing, empty, not a SQLite file). Those are committed changes the file lacks:
   * a loss whatever the checkpoints say (a first start has no -wal to speak of).
   */
  walOfEmptiedDatabase?: { file: string; bytes: number };
}

export interface ContinuityFinding {
  /** What contradicts the log, in words; empty when all is well. */
  problems: string[];
  head?: ChainHead;
  /** The table's last checkpoint, when it is one of the problems. */
  tableCheckpoint?: AuditCheckpoint;
  /** The checkpoint file's highest checkpoint, when the file is one of the problems. */
  fileCheckpoint?: AuditCheckpoint;
  /** Worth a warning, not a refusal: an empty log beside a key that never signed anything. */
  notes: string[];
  /**
   * Set when every problem is only the key: checkpoints signed with another key than this data
   * directory's (or here there is none), whose records are still in the log as they signed them.
   * Nothing is known to be lost; the likely cause is the wrong data directory (instances on one
   * PostgreSQL database share one key), so accept-loss wants --key-lost before it goes on.
   */
  keyOnly?: { signedWith: string[]; here?: string };
  /**
   * The database's own integrity check found its file damaged (AuditAccessStore.damage): what looks
   * missing may only be unreadable, and accept-loss would go on writing into the damaged file, so
   * only a restore is offered.
   */
  damaged?: string;
}

/** A problem found, and whether it is only the key (the records it names are still there as signed). */
interface Problem {
  text: string;
  keyOnly: boolean;
}

export async function checkContinuity(input: ContinuityInput): Promise<ContinuityFinding> {
  const { store } = input;
  // What was signed is read before the log's head: another instance's checkpoint (its row, its
  // audit.checkpoint record, then its line in the file) committed between the two reads would
  // otherwise reach past a head read before it, and read as records missing. Read in this order, a
  // checkpoint reaches no further than the head read after it, whatever commits in between.
  const table = await store.auditAccess.lastCheckpoint();
  const file = readCheckpointFile(input.checkpointFile);
  const head = await store.audit.head();
  const finding: ContinuityFinding = { problems: [], notes: [], ...(head ? { head } : {}) };
  const hashAt = async (seq: number): Promise<string | undefined> => {
    for await (const r of store.audit.read({ fromSeq: seq })) return r.seq === seq ? r.hash : undefined;
    return undefined;
  };
  const ends = head ? `the audit log ends at record ${head.seq}` : 'the audit log is empty';
  const found: Problem[] = [];
  const foreignKeys = new Set<string>();

  if (table) {
    const problem = await checkpointProblem(table, Math.max(table.seq, table.recordSeq ?? 0), 'the checkpoint table', input.verifier, head, hashAt);
    if (problem && (await acceptedTable(store)) !== table.signature) {
      found.push(problem);
      if (problem.keyOnly) foreignKeys.add(table.keyId);
      finding.tableCheckpoint = table;
    }
  }

  const wal = input.walOfEmptiedDatabase;
  if (wal) {
    found.push({
      text: `the write-ahead log ${wal.file} holds ${wal.bytes} bytes of changes committed to the database, whose file held nothing: the records in it are not in the database (it was emptied, deleted or replaced after they were written)`,
      keyOnly: false,
    });
  }

  if (input.keyExisted && !head && !table && !wal && file.checkpoints.length === 0) {
    finding.notes.push(
      `${ends} and nothing was ever signed here, though the signing key ${input.keyFile} exists (made by a first start that did not finish, or by countersign audit public-key): starting as a first start`,
    );
  }
  if (file.checkpoints.length > 0) {
    const best = highestGood(file.checkpoints, input.verifier);
    const last = file.checkpoints[file.checkpoints.length - 1];
    const from = `the checkpoint file ${input.checkpointFile}`;
    if (!best) {
      const key = input.verifier ? `this data directory's key ${input.verifier.keyId}` : `a signing key (${input.keyFile} is missing)`;
      const intact = await stillAsSigned(last, head, hashAt);
      const why = intact ? `; the records it names are still in the log as signed, so the key that signed them (${last.keyId}) is not here` : ': the key or the database was replaced';
      found.push({ text: `${from} holds ${file.checkpoints.length} checkpoint(s), up to record ${last.seq}, none of them signed with ${key}${why}`, keyOnly: intact });
      if (intact) foreignKeys.add(last.keyId);
      finding.fileCheckpoint = last;
    } else {
      const problem = await checkpointProblem(best, best.seq, from, input.verifier, head, hashAt);
      // The highest reaching far enough is not all: a log emptied and written again past it has new
      // records where the older checkpoints name others. Every checkpoint this key signed is checked.
      const earlier = problem ? undefined : await firstContradicted(file.checkpoints, best, from, input.verifier!, (seqs) => store.auditAccess.recordHashes(seqs));
      if (problem || earlier) {
        found.push(problem ?? { text: earlier!.problem, keyOnly: false });
        finding.fileCheckpoint = problem ? best : earlier!.checkpoint;
      }
    }
  }
  finding.problems = found.map((p) => p.text);
  if (found.length > 0 && found.every((p) => p.keyOnly)) {
    finding.keyOnly = { signedWith: [...foreignKeys], ...(input.verifier ? { here: input.verifier.keyId } : {}) };
  } else if (found.length > 0 && store.auditAccess.damage) {
    // A damaged file can read as a shorter log without an error (a page of the B-tree pointing
    // elsewhere): told as records missing, it would be offered accept-loss.
    const damaged = await store.auditAccess.damage().catch((err: unknown) => `the database is damaged (${(err as Error).message})`);
    if (damaged) finding.damaged = damaged;
  }
  return finding;
}

/** Whether the log still holds the record a checkpoint names, as it names it (its signature unchecked: the key is not here). */
async function stillAsSigned(c: AuditCheckpoint, head: ChainHead | undefined, hashAt: (seq: number) => Promise<string | undefined>): Promise<boolean> {
  return !!head && head.seq >= c.seq && (await hashAt(c.seq)) === c.hash;
}

/**
 * The first of the file's other checkpoints signed with this key (highest first) whose record the log
 * no longer holds as it was signed. The hashes come in one read however many checkpoints the file
 * holds (a year of them is tens of thousands); a signature is checked only where the hash differs,
 * and one that does not check is skipped (an edited line cannot vouch for anything).
 */
async function firstContradicted(
  checkpoints: AuditCheckpoint[],
  best: AuditCheckpoint,
  from: string,
  verifier: AuditVerifier,
  recordHashes: (seqs: readonly number[]) => Promise<Map<number, string>>,
): Promise<{ problem: string; checkpoint: AuditCheckpoint } | undefined> {
  const others = checkpoints.filter((c) => c.keyId === verifier.keyId && c.seq < best.seq).sort((a, b) => b.seq - a.seq);
  if (others.length === 0) return undefined;
  const hashes = await recordHashes(others.map((c) => c.seq));
  for (const c of others) {
    if (hashes.get(c.seq) === c.hash || !checkpointSignatureOk(c, verifier)) continue;
    return { problem: `record ${c.seq} is not the one the checkpoint of record ${c.seq} signed at ${c.time} (in ${from}) vouches for: the database was emptied and written again, replaced or rewritten`, checkpoint: c };
  }
  return undefined;
}

/** The good checkpoint naming the highest record (signatures checked from the top down, few in practice). */
function highestGood(checkpoints: AuditCheckpoint[], verifier: AuditVerifier | undefined): AuditCheckpoint | undefined {
  if (!verifier) return undefined;
  const own = checkpoints.filter((c) => c.keyId === verifier.keyId).sort((a, b) => b.seq - a.seq);
  return own.find((c) => checkpointSignatureOk(c, verifier));
}

async function checkpointProblem(
  c: AuditCheckpoint,
  reach: number,
  from: string,
  verifier: AuditVerifier | undefined,
  head: ChainHead | undefined,
  hashAt: (seq: number) => Promise<string | undefined>,
): Promise<Problem | undefined> {
  const which = `the checkpoint of record ${c.seq} signed at ${c.time} (in ${from})`;
  if (!verifier || c.keyId !== verifier.keyId) {
    const notHere = `not ${verifier ? `this data directory's key ${verifier.keyId}` : 'a key of this data directory (there is none)'}`;
    // The records it names still as signed (and the log reaching as far): only the key is not here.
    if (head && head.seq >= reach && (await stillAsSigned(c, head, hashAt))) {
      return { text: `${which} was signed with key ${c.keyId}, ${notHere}; the records it names are still in the log as signed`, keyOnly: true };
    }
    return { text: `${which} was signed with key ${c.keyId}, ${notHere}: the database or the key was replaced`, keyOnly: false };
  }
  if (!checkpointSignatureOk(c, verifier)) return { text: `${which} has a signature that does not match it: it was edited`, keyOnly: false };
  if (!head || head.seq < reach) {
    const ends = head ? `the audit log ends at record ${head.seq}` : 'the audit log is empty';
    return { text: `${ends}, but ${which} reaches record ${reach}: records ${(head?.seq ?? 0) + 1} to ${reach} at least are missing (the database was emptied, replaced or cut short)`, keyOnly: false };
  }
  const hash = await hashAt(c.seq);
  if (hash !== c.hash) return { text: `record ${c.seq} is not the one ${which} vouches for: the database was replaced or rewritten`, keyOnly: false };
  return undefined;
}

/** The table checkpoint the last recorded acceptance of a loss set aside, if any. */
async function acceptedTable(store: Store): Promise<string | undefined> {
  let signature: string | undefined;
  for await (const r of store.audit.read({ types: ['audit.loss_accepted'] })) signature = acceptedTableSignature(r.data) ?? signature;
  return signature;
}

/** The audit database start-up checked: which backend, and (for PostgreSQL) which database, without secrets. */
export interface AuditDatabaseOf {
  kind: 'sqlite' | 'postgres';
  where?: string;
}

/** The words startup stops with: what to restore, and how to accept the loss, depend on the store. */
function continuityRefusal(finding: ContinuityFinding, dataDir: string, database: AuditDatabaseOf): string {
  if (finding.keyOnly) return keyRefusal(finding, finding.keyOnly, dataDir, database);
  if (finding.damaged) return damagedRefusal(finding, finding.damaged, dataDir);
  const advice =
    database.kind === 'postgres'
      ? [
          `Restore the PostgreSQL database${database.where ? ` ${database.where}` : ''} from its backup, or, if this loss is known and accepted, record it and start on what is left,`,
          'with the same settings as Countersign (COUNTERSIGN_STORE=postgres and the COUNTERSIGN_DATABASE_* variables) in the environment:',
        ]
      : ['Restore the database (and its -wal file) from a backup, or, if this loss is known and accepted, record it and start on what is left:'];
  return [
    'Countersign will not start: the audit database does not match what was signed before.',
    ...finding.problems.map((p) => `  - ${p}.`),
    ...advice,
    `  countersign audit accept-loss --data-dir ${dataDir} --reason "<why>"`,
  ].join('\n');
}

/** The file is damaged: restore it; accepting the loss would go on writing into it. */
export function damagedRefusal(finding: ContinuityFinding, damaged: string, dataDir: string): string {
  return [
    `Countersign will not start: ${damaged}, so what the audit log seems to lack below may only be unreadable.`,
    ...finding.problems.map((p) => `  - as read from the damaged file: ${p}.`),
    'Restore the database (and its -wal file) from a backup. Do not accept this as a loss: countersign audit accept-loss would go on writing into the damaged file, so it refuses it.',
    `countersign audit verify --data-dir ${dataDir} says how much of its audit log can still be read.`,
  ].join('\n');
}

/** Only the key is not the one that signed: most likely the wrong data directory, so that is what is said first. */
function keyRefusal(finding: ContinuityFinding, key: NonNullable<ContinuityFinding['keyOnly']>, dataDir: string, database: AuditDatabaseOf): string {
  const signed = key.signedWith.join(' and ');
  const here = key.here ? `holds another key (${key.here})` : 'holds no signing key';
  const shared = database.kind === 'postgres' ? ' Every instance on one PostgreSQL database uses the same data directory\'s key (docs/postgresql.md).' : '';
  return [
    `Countersign will not start: the audit database was signed with key ${signed}, and the data directory ${dataDir} ${here}.`,
    ...finding.problems.map((p) => `  - ${p}.`),
    `Nothing is known to be lost: the records those checkpoints name are still there.${shared}`,
    `Start Countersign with COUNTERSIGN_DATA_DIR set to the data directory that holds key ${signed} (its audit-signing-key.pem and audit-checkpoints.jsonl), or put that key file back in ${dataDir}.`,
    `Only if key ${signed} is lost for good, record that and go on with this data directory's key:`,
    `  countersign audit accept-loss --data-dir ${dataDir} --key-lost --reason "<why>"`,
  ].join('\n');
}

/** Where the checkpoint file is set aside when a loss is accepted (kept as evidence, never deleted). */
/** Where archiveCheckpointFile puts the checkpoint file at `at` (undefined when there is none to set aside). */
export function checkpointArchiveName(file: string, at: Date): string | undefined {
  return fs.existsSync(file) ? `${file}.lost-${at.toISOString().replace(/[:.]/g, '-')}` : undefined;
}

/** Sets the checkpoint file aside under `target` (checkpointArchiveName), kept as evidence. */
export function archiveCheckpointFile(file: string, target: string): void {
  fs.renameSync(file, target);
}

/** Startup refused: the audit database contradicts what was signed before (the message says what and what to do). */
export class AuditContinuityError extends Error {
  constructor(readonly finding: ContinuityFinding, dataDir: string, database: AuditDatabaseOf = { kind: 'sqlite' }) {
    super(continuityRefusal(finding, dataDir, database));
    this.name = 'AuditContinuityError';
  }
}

/**
 * At start: checks the store against every checkpoint and the key, then returns the signing key
 * (created only now on a first start, so a refused start leaves nothing new behind). A public key
 * file written again from the signing key (it was missing, empty or unreadable) is logged, and so
 * is one holding another key, which is left as it is: auditors would check with the wrong key.
 */
export async function checkedSigner(
  store: Store,
  dataDir: string,
  checkpointFile: string,
  database: AuditDatabaseOf = { kind: 'sqlite' },
  log?: Pick<Logger, 'warn'>,
): Promise<AuditSigner> {
  const keyFile = path.join(dataDir, PRIVATE_KEY_FILE);
  const keyExisted = fs.existsSync(keyFile);
  const opened = keyExisted ? openSigningKey(dataDir) : undefined;
  if (opened) tellPublicKeyFile(opened.publicKeyFile, log);
  const finding = await checkContinuity({ store, verifier: opened?.signer, keyExisted, keyFile, checkpointFile });
  if (finding.problems.length > 0) throw new AuditContinuityError(finding, dataDir, database);
  for (const note of finding.notes) log?.warn({ note }, 'audit continuity: an empty log beside an existing signing key');
  if (opened) return opened.signer;
  const created = openSigningKey(dataDir);
  tellPublicKeyFile(created.publicKeyFile, log);
  return created.signer;
}

/**
 * Before a SQLite database file that is absent or holds no database (emptied, cut to nothing) is
 * opened: opening it would write a new schema into it, and SQLite deletes the `-wal` beside a
 * database of no pages, the last copy of the newest committed records. So the checkpoint file
 * alone (the checkpoint table was in that file) is checked first, as against an empty log, and so
 * is the `-wal`: one holding frames is committed records the file lacks, enough to refuse even with
 * the checkpoint file gone too. A start refused leaves the files as they are. `found.what` says what
 * is wrong with the file. On PostgreSQL (`database`) the same holds for a schema with none of
 * Countersign's tables (a new database, or one emptied: `DROP SCHEMA … CASCADE`), told apart by
 * the checkpoint file before any table is made in it.
 */
export async function refuseEmptiedDatabase(
  dataDir: string,
  checkpointFile: string,
  found: { what: string; wal?: { file: string; bytes: number } },
  database: AuditDatabaseOf = { kind: 'sqlite' },
): Promise<void> {
  const keyFile = path.join(dataDir, PRIVATE_KEY_FILE);
  const keyExisted = fs.existsSync(keyFile);
  const verifier = keyExisted ? openSigningKey(dataDir).signer : undefined;
  const empty = {
    audit: { head: async () => undefined, read: async function* () {} },
    auditAccess: { lastCheckpoint: async () => undefined, recordHashes: async () => new Map<number, string>() },
  } as unknown as Store;
  const finding = await checkContinuity({ store: empty, verifier, keyExisted, keyFile, checkpointFile, ...(found.wal ? { walOfEmptiedDatabase: found.wal } : {}) });
  if (finding.problems.length === 0) return;
  const error = new AuditContinuityError(finding, dataDir, database);
  // On PostgreSQL a slip in the settings (another schema or database named) reads the same as a loss:
  // said first, before restore and accept-loss, which would only be right for a real loss.
  if (database.kind === 'postgres') error.message = error.message.replace('\n', `\n${settingsFirst(found.what)}\n`);
  error.message +=
    database.kind === 'postgres'
      ? `\n${found.what}: nothing was created in it, so the backup can be restored into it as it is (Countersign does not make its tables again, which would hide what was lost).${sqliteStoreBeside(dataDir)}`
      : `\n${found.what}: it was not opened, so it and its -wal and -shm files are left as they are (the -wal may hold the newest records; keep it with the database for the restore).`;
  throw error;
}

/** The PostgreSQL settings to check before taking an empty schema for a lost database. */
function settingsFirst(what: string): string {
  return `First check the settings: ${what}. If COUNTERSIGN_DATABASE_SCHEMA or COUNTERSIGN_DATABASE_URL names another schema or database than the bots' (a slip), name theirs and start again; nothing was created in this one. Only if they are right were these records lost:`;
}

/**
 * A PostgreSQL database held against a data directory that also holds a SQLite store: the checkpoints
 * may be that store's (a local trial's ./data, which the README's first steps leave behind, or a SQLite
 * installation's), not the PostgreSQL bots'. Said, not decided: the refusal stands.
 */
function sqliteStoreBeside(dataDir: string): string {
  if (!fs.existsSync(path.join(dataDir, 'countersign.db'))) return '';
  return `\nNote: ${dataDir} also holds a SQLite database (countersign.db), so these checkpoints may be its own (a local trial's ./data, or a SQLite installation's) and not the PostgreSQL bots'. If so, nothing says this database held records: name the bots' data directory instead (their shared COUNTERSIGN_DATA_DIR; --data-dir for the countersign command), or, for a database no bot has started on yet, an empty folder.`;
}

function tellPublicKeyFile(state: PublicKeyFileState, log: Pick<Logger, 'warn'> | undefined): void {
  if (state.kind === 'repaired') log?.warn({ file: state.file, was: state.was }, 'audit public key file repaired: written again from the signing key');
  if (state.kind === 'kept') log?.warn({ file: state.file, problem: state.problem }, 'audit public key file is not the signing key\'s public half: left as it is');
}
