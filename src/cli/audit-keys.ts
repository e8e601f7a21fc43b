/** `countersign audit public-key` and `countersign audit checkpoint`. */
import { Checkpointer, checkpointFileOf } from '../audit/access/checkpoints';
import { loadOrCreateSigningKey, loadPublicKey, PRIVATE_KEY_FILE, SigningKeyError } from '../audit/access/signing';
import type { AuditVerifier } from '../audit/access/signing';
import { canonicalJson } from '../domain/canonical';
import { requireAuditDatabase } from './audit-database';
import { operatorOf } from './audit-io';
import type { AuditCliIo } from './audit-io';

/** Prints the PEM public key (stdout) and its key id (stderr), creating the key pair if there is none. */
export async function printPublicKey(opts: { dataDir?: string }, io: AuditCliIo): Promise<number> {
  const db = requireAuditDatabase(opts.dataDir, io);
  // A data directory that is not Countersign's gets no key pair, as the other commands refuse it.
  await db.check();
  const { dataDir } = db;
  let key: AuditVerifier;
  try {
    key = loadPublicKey(dataDir);
  } catch (err) {
    if (!(err instanceof SigningKeyError) || !/there is no audit signing key/.test(err.message)) throw err;
    key = loadOrCreateSigningKey(dataDir);
    io.stderr.write(`Created the audit signing key ${PRIVATE_KEY_FILE} in ${dataDir}.\n`);
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
    const signer = loadOrCreateSigningKey(dataDir);
    const checkpointFile = checkpointFileOf(dataDir);
    const operator = operatorOf(io);
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const checkpointer = new Checkpointer({ store, signer, clock: { now: () => new Date() }, file: checkpointFile, log: silent });
    const c = await checkpointer.write('cli', { force: true, operator });
    if (!c) {
      io.stderr.write('The audit log is empty: there is no head to sign yet.\n');
      return 0;
    }
    io.stdout.write(`${canonicalJson(c)}\n`);
    io.stderr.write(`Checkpoint of record ${c.seq} (hash ${c.hash}) signed with key ${c.keyId}; kept in the checkpoint table, ${checkpointFile} and the audit log.\n`);
    return 0;
  } finally {
    await store.close();
  }
}
