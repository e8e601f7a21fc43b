/** `countersign audit public-key` and `countersign audit checkpoint`. */
import { shownValue } from './terminal-text';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Checkpointer, checkpointFileOf } from '../audit/access/checkpoints';
import { loadPublicKey, openSigningKey, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from '../audit/access/signing';
import type { AuditVerifier } from '../audit/access/signing';
import { canonicalJson } from '../domain/canonical';
import { DamagedDatabaseError, installationSigner, refuseNewKey, requireAuditDatabase, signedLogProblems } from './audit-database';
import type { AuditDatabase } from './audit-database';
import type { ChainVerification } from '../audit/verify/verify';
import { verificationReport } from './audit-report';
import { AuditInputError, operatorOf } from './audit-io';
import type { AuditCliIo } from './audit-io';

/**
 * Prints the PEM public key (stdout) and its key id (stderr), creating the key pair if there is none.
 * With the private key there, what is printed is its public half, and a public key file that is
 * missing, empty or unreadable is written again from it (said on stderr); one holding another key is
 * refused, not printed: an auditor given it would check every signature with the wrong key.
 */
export async function printPublicKey(opts: { dataDir?: string }, io: AuditCliIo): Promise<number> {
  const db = requireAuditDatabase(opts.dataDir, io);
  // A data directory that is not Countersign's gets no key pair, as the other commands refuse it.
  await db.check();
  const { dataDir } = db;
  let key: AuditVerifier;
  const hadKey = existsSync(path.join(dataDir, PRIVATE_KEY_FILE));
  if (!hadKey && !existsSync(path.join(dataDir, PUBLIC_KEY_FILE))) {
    // A key made here would be no auditor's key when the log was signed before (or, on PostgreSQL,
    // where the instances sign with their shared data directory's key).
    const store = await db.openStore();
    const last = await store.auditAccess.lastCheckpoint().finally(() => store.close());
    refuseNewKey(db, last, { missing: `(${PRIVATE_KEY_FILE}) or public key (${PUBLIC_KEY_FILE})`, run: 'run this', outcome: 'No key was created.' });
  }
  if (hadKey || !existsSync(path.join(dataDir, PUBLIC_KEY_FILE))) {
    const { signer, publicKeyFile } = openSigningKey(dataDir);
    if (publicKeyFile.kind === 'kept') throw new AuditInputError(`${publicKeyFile.problem}; the signing key's public half is not printed until then`);
    if (publicKeyFile.kind === 'repaired') io.stderr.write(`Repaired ${publicKeyFile.file}: it was ${publicKeyFile.was}, and is written again from the signing key ${PRIVATE_KEY_FILE}.\n`);
    if (!hadKey) io.stderr.write(`Created the audit signing key ${PRIVATE_KEY_FILE} in ${dataDir}.\n`);
    key = signer;
  } else {
    // A copy of the data directory without the private key (an auditor's): its public key file is all there is.
    key = loadPublicKey(dataDir);
  }
  io.stdout.write(key.publicKeyPem);
  io.stderr.write(`Key id: ${key.keyId} (Ed25519). Give this public key to auditors: countersign audit verify --public-key <file>.\n`);
  return 0;
}

/** Signs the chain head now, whether or not the log moved since the last checkpoint. */
export async function writeCheckpoint(opts: { dataDir?: string }, io: AuditCliIo): Promise<number> {
  const db = requireAuditDatabase(opts.dataDir, io);
  const dataDir = db.dataDir;
  const store = await db.openStore();
  try {
    const signer = await installationSigner(db, store);
    // A checkpoint vouches for the log as it stands: one its earlier checkpoints show cut short or
    // rewritten (a log the bot refuses to start on) is not signed. accept-loss records such a loss.
    const problems = await signedLogProblems(db, store, signer);
    if (problems.length > 0) {
      for (const p of problems) io.stderr.write(`AUDIT LOG DAMAGED: ${shownValue(p)}.\n`);
      io.stderr.write(`${NOTHING_SIGNED}\n`);
      return 2;
    }
    // Nor one whose chain is broken between its checkpoints (a record deleted, edited or reordered):
    // the walk `audit verify` makes, read-only. What is signed is the head it verified, so records
    // the bot appends meanwhile are not vouched for unread.
    const chain = await verifiedChain(db, io);
    if (!chain) return 2;
    if (chain.count === 0) {
      io.stderr.write('The audit log is empty: there is no head to sign yet.\n');
      return 0;
    }
    const checkpointFile = checkpointFileOf(dataDir);
    const operator = operatorOf(io);
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const checkpointer = new Checkpointer({ store, signer, clock: { now: () => new Date() }, file: checkpointFile, log: silent });
    const c = await checkpointer.write('cli', { force: true, operator, head: { seq: chain.lastSeq, hash: chain.headHash } });
    if (!c) throw new Error('the checkpoint was not written');
    io.stdout.write(`${canonicalJson(c)}\n`);
    io.stderr.write(`Checkpoint of record ${c.seq} (hash ${c.hash}) signed with key ${c.keyId}; kept in the checkpoint table, ${checkpointFile} and the audit log.\n`);
    return 0;
  } finally {
    await store.close();
  }
}

const NOTHING_SIGNED = 'Nothing was signed or recorded: run countersign audit verify, then restore the database from a backup, or record the loss with countersign audit accept-loss.';

/**
 * The database's hash chain walked as `audit verify` walks it, or undefined when it is broken (or
 * SQLite finds the file damaged): then the problem is named on stderr in verify's words.
 */
async function verifiedChain(db: AuditDatabase, io: AuditCliIo): Promise<ChainVerification | undefined> {
  let chain: ChainVerification;
  try {
    chain = await db.verify();
  } catch (err) {
    if (!(err instanceof DamagedDatabaseError)) throw err;
    io.stderr.write(`DATABASE DAMAGED: ${err.message}.\n${NOTHING_SIGNED}\n`);
    return undefined;
  }
  if (chain.ok) return chain;
  io.stderr.write(`${verificationReport(db.where, chain)}${NOTHING_SIGNED}\n`);
  return undefined;
}
