import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  SigningKeyError,
  loadOrCreateSigningKey,
  loadPublicKey,
  openSigningKey,
  readVerifier,
} from '../../../src/audit/access/signing';
import { tempDir } from '../../store/fixtures';

describe('the audit signing key', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('is created on first use as an Ed25519 key only its owner can read, and reused after', () => {
    const first = loadOrCreateSigningKey(tmp.dir);
    const file = path.join(tmp.dir, PRIVATE_KEY_FILE);
    if (process.platform !== 'win32') assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(first.publicKey.asymmetricKeyType, 'ed25519');
    const again = loadOrCreateSigningKey(tmp.dir);
    assert.equal(again.keyId, first.keyId);
    assert.deepEqual(fs.readdirSync(tmp.dir).sort(), [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE].sort(), 'no temporary file is left behind');
  });

  it('names the key by the SHA-256 of its public key', () => {
    const signer = loadOrCreateSigningKey(tmp.dir);
    const pem = fs.readFileSync(path.join(tmp.dir, PUBLIC_KEY_FILE), 'utf8');
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    assert.equal(signer.keyId, createHash('sha256').update(der).digest('hex').slice(0, 16));
    assert.equal(loadPublicKey(tmp.dir).keyId, signer.keyId);
  });

  it('refuses a private key other users can read', function () {
    if (process.platform === 'win32') this.skip();
    loadOrCreateSigningKey(tmp.dir);
    const file = path.join(tmp.dir, PRIVATE_KEY_FILE);
    fs.chmodSync(file, 0o644);
    assert.throws(() => loadOrCreateSigningKey(tmp.dir), (err: unknown) => err instanceof SigningKeyError && /can be read by other users \(mode 0644\); run: chmod 600/.test(err.message));
  });

  it('refuses a private key given where the public key is asked for, rather than use its public half without a word', () => {
    loadOrCreateSigningKey(tmp.dir);
    const file = path.join(tmp.dir, PRIVATE_KEY_FILE);
    assert.throws(() => readVerifier(file), (err: unknown) => err instanceof SigningKeyError && err.message === `${file} is a private key, not a public key: checking needs only the public key (countersign audit public-key prints it), and the private key, which can sign, belongs in the data directory alone`);
  });

  it('signs for one purpose only: a checkpoint signature does not pass as a manifest signature', () => {
    const signer = loadOrCreateSigningKey(tmp.dir);
    const verifier = readVerifier(path.join(tmp.dir, PUBLIC_KEY_FILE));
    const signature = signer.sign('checkpoint', 'record 5 has hash abc');
    assert.equal(verifier.verify('checkpoint', 'record 5 has hash abc', signature), true);
    assert.equal(verifier.verify('export-manifest', 'record 5 has hash abc', signature), false);
    assert.equal(verifier.verify('checkpoint', 'record 6 has hash abc', signature), false);
    assert.equal(verifier.verify('checkpoint', 'record 5 has hash abc', 'not a signature'), false);
  });

  it('tells apart keys of different data directories', () => {
    const other = tempDir();
    try {
      const a = loadOrCreateSigningKey(tmp.dir);
      const b = loadOrCreateSigningKey(other.dir);
      assert.notEqual(a.keyId, b.keyId);
      assert.equal(b.verify('checkpoint', 'x', a.sign('checkpoint', 'x')), false);
    } finally {
      other.remove();
    }
  });

  it('writes a missing, empty or unreadable public key file again from the private key, saying what it was', () => {
    const signer = loadOrCreateSigningKey(tmp.dir);
    const pubFile = path.join(tmp.dir, PUBLIC_KEY_FILE);
    for (const [damage, was] of [
      [() => fs.rmSync(pubFile), 'missing'],
      [() => fs.writeFileSync(pubFile, ''), 'empty'],
      [() => fs.writeFileSync(pubFile, '-----BEGIN PUBLIC KEY-----\nhalf a ke'), 'not a PEM public key'],
    ] as const) {
      damage();
      const opened = openSigningKey(tmp.dir);
      assert.equal(opened.signer.keyId, signer.keyId);
      assert.deepEqual(opened.publicKeyFile, { kind: 'repaired', file: pubFile, was });
      assert.equal(fs.readFileSync(pubFile, 'utf8'), signer.publicKeyPem);
      assert.equal(loadPublicKey(tmp.dir).keyId, signer.keyId);
      assert.deepEqual(openSigningKey(tmp.dir).publicKeyFile, { kind: 'intact', file: pubFile });
    }
    assert.deepEqual(fs.readdirSync(tmp.dir).sort(), [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE].sort(), 'written through a temporary file, none left behind');
  });

  it('never replaces a public key file holding another key: that is evidence one of the two was swapped', () => {
    const signer = loadOrCreateSigningKey(tmp.dir);
    const other = tempDir();
    try {
      const foreign = loadOrCreateSigningKey(other.dir);
      const pubFile = path.join(tmp.dir, PUBLIC_KEY_FILE);
      fs.copyFileSync(path.join(other.dir, PUBLIC_KEY_FILE), pubFile);
      const opened = openSigningKey(tmp.dir);
      assert.equal(opened.publicKeyFile.kind, 'kept');
      assert.match(
        (opened.publicKeyFile as { problem: string }).problem,
        new RegExp(`holds the public key ${foreign.keyId}, not the public half of the signing key ${signer.keyId} \\(${PRIVATE_KEY_FILE.replace(/\./g, '\\.')}\\): one of the two files was replaced\\. It is left as it is, as evidence`),
      );
      loadOrCreateSigningKey(tmp.dir);
      assert.equal(fs.readFileSync(pubFile, 'utf8'), foreign.publicKeyPem, 'left as it was');
    } finally {
      other.remove();
    }
  });

  it('writes the public half over a copy of the private signing key found under the public name, and keeps another private key as evidence', () => {
    const signer = loadOrCreateSigningKey(tmp.dir);
    const pubFile = path.join(tmp.dir, PUBLIC_KEY_FILE);
    fs.copyFileSync(path.join(tmp.dir, PRIVATE_KEY_FILE), pubFile);
    const opened = openSigningKey(tmp.dir);
    assert.equal(opened.publicKeyFile.kind, 'repaired');
    assert.match((opened.publicKeyFile as { was: string }).was, /^a copy of the private signing key itself .*treat the key as exposed$/);
    assert.equal(fs.readFileSync(pubFile, 'utf8'), signer.publicKeyPem, 'no private key left under the public name');
    const other = tempDir();
    try {
      loadOrCreateSigningKey(other.dir);
      const foreign = fs.readFileSync(path.join(other.dir, PRIVATE_KEY_FILE), 'utf8');
      fs.writeFileSync(pubFile, foreign);
      const kept = openSigningKey(tmp.dir).publicKeyFile;
      assert.equal(kept.kind, 'kept');
      assert.match((kept as { problem: string }).problem, new RegExp(`holds a private key, not the public half of the signing key ${signer.keyId}`));
      assert.equal(fs.readFileSync(pubFile, 'utf8'), foreign, 'left as it was');
    } finally {
      other.remove();
    }
  });

  it('says where the key comes from when there is none', () => {
    assert.throws(() => loadPublicKey(tmp.dir), /there is no audit signing key in .*: Countersign creates it when it first starts/);
  });
});
