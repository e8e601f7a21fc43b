/**
 * The audit signing key: one Ed25519 key pair per data directory, created on first use. The private
 * key signs checkpoints, export manifests and download links; the public key (printed by
 * `countersign audit public-key`) is all an auditor needs to check them offline.
 *
 * Every signature covers a purpose label as well as the text, so a signature made for one purpose
 * (a checkpoint) can never pass as another (a manifest).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_KEY_FILE = 'audit-signing-key.pem';
export const PUBLIC_KEY_FILE = 'audit-signing-key.pub.pem';

export type SigningPurpose = 'checkpoint' | 'export-manifest' | 'download-link' | 'evidence';

export class SigningKeyError extends Error {
  /** What is wrong with the key file, without what to do at a start (a running bot says its own). */
  readonly found: string;

  constructor(message: string, found?: string) {
    super(message);
    this.found = found ?? message;
    this.name = 'SigningKeyError';
  }
}

/**
 * The key file could not be opened because this process has no file descriptor left (EMFILE, or
 * ENFILE for the whole system): nothing is known about the file itself.
 */
class KeyFileUnopenedError extends SigningKeyError {
  constructor(file: string, code: string) {
    super(
      `the audit signing key ${file} could not be opened: this process has no file descriptor left (${code}); raise its open-files limit (ulimit -n, the service's LimitNOFILE) or find what holds them (ls /proc/${process.pid}/fd)`,
    );
    this.name = 'KeyFileUnopenedError';
  }
}

function signedBytes(purpose: SigningPurpose, text: string): Buffer {
  return Buffer.from(`countersign/${purpose}/v1\n${text}`, 'utf8');
}

/** The key id: the first 16 hex digits of the SHA-256 of the public key (SubjectPublicKeyInfo DER). */
function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** Checks signatures made with one key. */
export class AuditVerifier {
  readonly keyId: string;

  constructor(readonly publicKey: KeyObject) {
    if (publicKey.asymmetricKeyType !== 'ed25519') {
      throw new SigningKeyError(`the audit signing key must be an Ed25519 key, not ${publicKey.asymmetricKeyType ?? 'a symmetric key'}`);
    }
    this.keyId = keyIdOf(publicKey);
  }

  get publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  verify(purpose: SigningPurpose, text: string, signature: string): boolean {
    if (typeof signature !== 'string' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(signature)) return false;
    // Node's base64 decoder reads the URL-safe alphabet too (download links carry base64url).
    const bytes = Buffer.from(signature, 'base64');
    if (bytes.length !== 64) return false;
    // Only the one spelling of these bytes: the decoder ignores the spare low bits of the last
    // character, so several strings would otherwise pass as one signature (an altered link too).
    if (bytes.toString('base64') !== signature && bytes.toString('base64url') !== signature) return false;
    return verify(null, signedBytes(purpose, text), this.publicKey, bytes);
  }
}

export class AuditSigner extends AuditVerifier {
  constructor(private readonly privateKey: KeyObject) {
    super(createPublicKey(privateKey));
  }

  /** The private key as its key file holds it (PKCS #8 PEM): only to write that file again (keepSigningKeyFile). */
  keyFileText(): string {
    return this.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** Base64 Ed25519 signature of the purpose label and the text. */
  sign(purpose: SigningPurpose, text: string): string {
    return sign(null, signedBytes(purpose, text), this.privateKey).toString('base64');
  }
}

/** A verifier from a PEM public key (SPKI), for offline verification. */
function verifierFromPem(pem: string, source: string): AuditVerifier {
  // Node would take a private key here and use its public half without a word: whoever holds that file can sign.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new SigningKeyError(`${source} is a private key, not a public key: checking needs only the public key (countersign audit public-key prints it), and the private key, which can sign, belongs in the data directory alone`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new SigningKeyError(`${source} is not a PEM public key: ${(err as Error).message}`);
  }
  return new AuditVerifier(key);
}

export function readVerifier(file: string): AuditVerifier {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new SigningKeyError(`cannot read the public key ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return verifierFromPem(pem, file);
}

/**
 * What was at the public key file beside the signing key, and what was done about it: `intact` (the
 * signing key's public half), `created` (with a new key pair), `repaired` (it was missing, empty or
 * not a public key at all, so it was written again from the signing key: `was` says which) or
 * `kept` (another key, or a file that cannot be read: left as it is, `problem` says what is wrong).
 */
export type PublicKeyFileState =
  | { kind: 'intact' | 'created'; file: string }
  | { kind: 'repaired'; file: string; was: string }
  | { kind: 'kept'; file: string; problem: string };

/**
 * The data directory's key pair; created (private key mode 0600) when there is none. Creation is
 * safe against another process doing the same at the same moment: the key is written to a
 * private temporary file and linked into place, so exactly one key wins and both use it. A public
 * key file that is missing, empty or not a public key is written again from the private key (its
 * public half is all it ever holds); one holding another key is never replaced: that is evidence
 * the file or the private key was swapped (openSigningKey says so, for the start and the CLI to tell).
 */
export function loadOrCreateSigningKey(dataDir: string): AuditSigner {
  return openSigningKey(dataDir).signer;
}

/** loadOrCreateSigningKey, and what it found at the public key file (and did about it). */
export function openSigningKey(dataDir: string): { signer: AuditSigner; publicKeyFile: PublicKeyFileState } {
  const file = path.join(dataDir, PRIVATE_KEY_FILE);
  const created = !fs.existsSync(file);
  if (created) createKeyFile(dataDir, file);
  const signer = new AuditSigner(readPrivateKey(file));
  const pubFile = path.join(dataDir, PUBLIC_KEY_FILE);
  const found = publicKeyFileProblem(pubFile, signer);
  if (found === undefined) return { signer, publicKeyFile: { kind: 'intact', file: pubFile } };
  if ('kept' in found) return { signer, publicKeyFile: { kind: 'kept', file: pubFile, problem: found.kept } };
  writePublicKeyFile(pubFile, signer.publicKeyPem);
  return { signer, publicKeyFile: created ? { kind: 'created', file: pubFile } : { kind: 'repaired', file: pubFile, was: found.rewrite } };
}

/**
 * What is wrong with the public key file, if anything: `rewrite` (missing, empty, not a public key:
 * nothing in it to keep) or `kept` (a key of another pair, or a file that cannot be read).
 */
function publicKeyFileProblem(pubFile: string, signer: AuditSigner): { rewrite: string } | { kept: string } | undefined {
  let pem: string;
  try {
    pem = fs.readFileSync(pubFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { rewrite: 'missing' };
    return { kept: `${pubFile} cannot be read (${code ?? String(err)}), so it is left as it is: make it readable, or move it aside so that the signing key's public half is written there again` };
  }
  if (!pem.trim()) return { rewrite: 'empty' };
  // A private key under the public key's name (createPublicKey would take it, deriving its public
  // half): the file is the one handed out and served, so a copy of the signing key there is replaced.
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
    let privateId: string | undefined;
    try {
      const derived = createPublicKey(pem);
      privateId = derived.asymmetricKeyType === 'ed25519' ? keyIdOf(derived) : undefined;
    } catch {
      privateId = undefined;
    }
    if (privateId === signer.keyId) {
      return { rewrite: `a copy of the private signing key itself (the public half is written over it): whoever could read ${PUBLIC_KEY_FILE} could sign as this installation, so treat the key as exposed` };
    }
    return { kept: `${pubFile} holds a private key, not the public half of the signing key ${signer.keyId} (${PRIVATE_KEY_FILE}). It is left as it is, as evidence: find out where it came from, then move ${PUBLIC_KEY_FILE} aside so that the signing key's public half is written there again` };
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return { rewrite: 'not a PEM public key' };
  }
  const keyId = key.asymmetricKeyType === 'ed25519' ? keyIdOf(key) : undefined;
  if (keyId === signer.keyId) return undefined;
  const held = keyId ? `the public key ${keyId}` : `a ${key.asymmetricKeyType ?? 'non-asymmetric'} public key`;
  return {
    kept: `${pubFile} holds ${held}, not the public half of the signing key ${signer.keyId} (${PRIVATE_KEY_FILE}): one of the two files was replaced. It is left as it is, as evidence: find out which was replaced and why, then move ${PUBLIC_KEY_FILE} aside so that the signing key's public half is written there again`,
  };
}

/** Written beside its name and renamed over it, as the private key is: never an empty or half file under the name. */
function writePublicKeyFile(pubFile: string, pem: string): void {
  const temp = tempNameFor(pubFile);
  try {
    writeSynced(temp, pem, 0o644);
    fs.renameSync(temp, pubFile);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** A name beside `file` no other process or call would choose. */
function tempNameFor(file: string): string {
  return `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/** Creates `file` (never over an existing one) holding `text`, flushed to disk. */
function writeSynced(file: string, text: string, mode: number): void {
  const fd = fs.openSync(file, 'wx', mode);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The public half for this data directory: the .pub.pem file, else derived from the private key. */
export function loadPublicKey(dataDir: string): AuditVerifier {
  const pubFile = path.join(dataDir, PUBLIC_KEY_FILE);
  if (fs.existsSync(pubFile)) return readVerifier(pubFile);
  const file = path.join(dataDir, PRIVATE_KEY_FILE);
  if (!fs.existsSync(file)) {
    throw new SigningKeyError(`there is no audit signing key in ${dataDir}: Countersign creates it when it first starts (or run countersign audit public-key there)`);
  }
  return new AuditSigner(readPrivateKey(file));
}

function createKeyFile(dataDir: string, file: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  linkKeyFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
}

/** Puts `pem` at `file` (mode 0600, flushed) unless a file is there already: then that one stays. */
function linkKeyFile(file: string, pem: string): void {
  const temp = tempNameFor(file);
  writeSynced(temp, pem, 0o600);
  try {
    fs.linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * What the data directory's signing key file holds now, against the key this process signs with (a
 * running bot looks at each checkpoint tick): `intact`; `restored` when it was deleted (written again
 * from the key held in memory, mode 0600, as at its creation: without it the next start would be
 * refused, and no other copy may exist); `problem` when it holds another key or cannot be read (left
 * as it is, as evidence; the problem says what the next start will do); `unchecked` when this process
 * had no file descriptor left to open it with.
 */
export function keepSigningKeyFile(
  dataDir: string,
  signer: AuditSigner,
): { kind: 'intact' } | { kind: 'restored'; file: string; was: 'deleted' | 'emptied' } | { kind: 'problem' | 'unchecked'; file: string; problem: string } {
  const file = path.join(dataDir, PRIVATE_KEY_FILE);
  // Emptied (a truncate, a copy that failed): no evidence of another key, and without it the next
  // start is refused and the key lost for good. Written again over it, as a deleted one is.
  if (isEmptyFile(file)) {
    try {
      const temp = tempNameFor(file);
      writeSynced(temp, signer.keyFileText(), 0o600);
      fs.renameSync(temp, file);
    } catch (err) {
      return { kind: 'problem', file, problem: `${file} was emptied, and could not be written again from the key in use (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the next start will be refused. Put it back from a backup before Countersign stops` };
    }
    if (keyIdAt(file) === signer.keyId) return { kind: 'restored', file, was: 'emptied' };
  }
  if (!fs.existsSync(file)) {
    try {
      linkKeyFile(file, signer.keyFileText());
    } catch (err) {
      return { kind: 'problem', file, problem: `${file} was deleted, and could not be written again from the key in use (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the next start will be refused. Put it back from a backup before Countersign stops` };
    }
    // Another process may have linked its own there meanwhile: what is there now is checked below.
    if (keyIdAt(file) === signer.keyId) return { kind: 'restored', file, was: 'deleted' };
  }
  let held: string;
  try {
    held = keyIdAt(file);
  } catch (err) {
    // No file descriptor to open it with: the file is not in question, and a start (a new process) reads it.
    if (err instanceof KeyFileUnopenedError) return { kind: 'unchecked', file, problem: err.message };
    // A file that holds no key at all (damaged, a directory) is evidence like another key; a mode or an owner is put right in place.
    if (err instanceof SigningKeyError && err.found !== err.message) {
      return { kind: 'problem', file, problem: `${err.found}: it is left as it is, as evidence, and the next start will be refused until it holds the key ${signer.keyId} again. Put that key back from a backup before Countersign stops` };
    }
    return { kind: 'problem', file, problem: `${(err as Error).message}: the next start will be refused until it can` };
  }
  if (held === signer.keyId) return { kind: 'intact' };
  return {
    kind: 'problem',
    file,
    problem: `${file} now holds another key (${held}), not the key ${signer.keyId} Countersign signs with: it was replaced while Countersign ran. It is left as it is, as evidence; the next start will find checkpoints signed with a key this data directory lacks and refuse to start. Find out who replaced it and why, and put the key ${signer.keyId} back from a backup`,
  };
}

/**
 * A key file that holds no key Countersign can use (emptied, or damaged: not a PEM private key, or
 * another kind of key), set aside (renamed `<file>.empty-<time>` or `<file>.damaged-<time>`, kept as
 * evidence) so that a new key can be made in its place: for `audit accept-loss --key-lost` only.
 * Returns where it went and what it was, or undefined when the key file holds a usable key (or is not
 * there, or is not a regular file).
 */
export function setAsideUnusableKeyFile(dataDir: string, at: Date): { aside: string; was: 'empty' | 'damaged' } | undefined {
  const file = path.join(dataDir, PRIVATE_KEY_FILE);
  let was: 'empty' | 'damaged';
  if (isEmptyFile(file)) was = 'empty';
  else if (isRegularFile(file) && unusableKeyText(file) !== undefined) was = 'damaged';
  else return undefined;
  const aside = `${file}.${was}-${at.toISOString().replace(/[:.]/g, '-')}`;
  fs.renameSync(file, aside);
  return { aside, was };
}

function isRegularFile(file: string): boolean {
  try {
    return fs.lstatSync(file).isFile();
  } catch {
    return false;
  }
}

/** What is wrong with the text of a key file, or undefined when it holds an Ed25519 private key. */
function unusableKeyText(file: string): string | undefined {
  const text = fs.readFileSync(file, 'utf8');
  if (/-----BEGIN [A-Z ]*PUBLIC KEY-----/.test(text) && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    return 'it holds a public key, not the private key (the public key belongs in ' + PUBLIC_KEY_FILE + ')';
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (err) {
    return `it is not a PEM private key (${(err as Error).message}): damaged, cut short, or another file copied over it`;
  }
  if (key.asymmetricKeyType !== 'ed25519') return `it holds ${key.asymmetricKeyType ?? 'a'} key, not an Ed25519 one: another file copied over it`;
  return undefined;
}

/** What to do about a key file a start cannot use, ending the start's message. */
function keyFileAdvice(file: string): string {
  return `put the key back from a backup (the one that signed this data directory's checkpoints). Only if it is lost for good, record that and go on with a new key: countersign audit accept-loss --data-dir ${path.dirname(file)} --key-lost --reason "<why>"`;
}

/** Whether `file` is there and holds nothing but white space. */
function isEmptyFile(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    return stat.isFile() && (stat.size === 0 || (stat.size < 64 && fs.readFileSync(file, 'utf8').trim() === ''));
  } catch {
    return false;
  }
}

/**
 * The key id of the data directory's private signing key, read only (nothing made or repaired);
 * undefined when there is none or it cannot be read by this user.
 */
export function signingKeyIdIn(dataDir: string): string | undefined {
  try {
    return keyIdAt(path.join(dataDir, PRIVATE_KEY_FILE));
  } catch {
    return undefined;
  }
}

/** The key id of the private key in `file` (its mode checked as at a start). */
function keyIdAt(file: string): string {
  return keyIdOf(createPublicKey(readPrivateKey(file)));
}

function readPrivateKey(file: string): KeyObject {
  const stat = fs.statSync(file);
  if (!stat.isFile()) {
    const kind = stat.isDirectory() ? 'a directory' : 'not a regular file';
    throw new SigningKeyError(`the audit signing key ${file} is ${kind}, not the key file: move it aside and ${keyFileAdvice(file)}`, `${file} is ${kind}, not the key file`);
  }
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    throw new SigningKeyError(`the audit signing key ${file} can be read by other users (mode ${mode}); run: chmod 600 ${file}`);
  }
  if (isEmptyFile(file)) {
    throw new SigningKeyError(`the audit signing key ${file} is empty: ${keyFileAdvice(file)}`);
  }
  let problem: string | undefined;
  try {
    problem = unusableKeyText(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EMFILE' || code === 'ENFILE') throw new KeyFileUnopenedError(file, code);
    throw new SigningKeyError(`the audit signing key ${file} cannot be read (${code ?? (err as Error).message}): check its owner and mode`);
  }
  if (problem !== undefined) {
    throw new SigningKeyError(`the audit signing key ${file} is damaged: ${problem}. Nothing was signed with it. ${upperFirst(keyFileAdvice(file))}`, `${file} is damaged: ${problem}`);
  }
  return createPrivateKey(fs.readFileSync(file, 'utf8'));
}

function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
