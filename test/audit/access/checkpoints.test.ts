import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Checkpointer, checkpointFileOf, checkpointOfRecord, checkpointSignatureOk, readCheckpointFile, signCheckpoint } from '../../../src/audit/access/checkpoints';
import { verifyCheckpoints } from '../../../src/audit/verify/verify-checkpoints';
import type { SourcedCheckpoint } from '../../../src/audit/verify/verify-checkpoints';
import { loadOrCreateSigningKey, PRIVATE_KEY_FILE } from '../../../src/audit/access/signing';
import { checkContinuity } from '../../../src/audit/access/continuity';
import type { AuditSigner } from '../../../src/audit/access/signing';
import { openSqliteStore } from '../../../src/store/sqlite';
import type { SqliteStore } from '../../../src/store/sqlite';
import { anEvent, tempDir } from '../../store/fixtures';
import { collect } from '../../store/store-contract';

describe('checkpoints of the audit chain head', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  let signer: AuditSigner;
  let logged: object[];
  let checkpointer: Checkpointer;
  const clock = { now: () => new Date('2026-11-02T10:00:00.000Z') };

  beforeEach(async () => {
    tmp = tempDir();
    store = await openSqliteStore({ file: path.join(tmp.dir, 'countersign.db') });
    signer = loadOrCreateSigningKey(tmp.dir);
    logged = [];
    const log = { info: (o: object) => logged.push(o), warn: () => undefined, error: () => undefined };
    checkpointer = new Checkpointer({ store, signer, clock, file: checkpointFileOf(tmp.dir), log });
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  it('signs the head and keeps it in the table, the file, the log output and an audit.checkpoint record', async () => {
    await store.audit.append([anEvent('request.created'), anEvent('approval.granted')]);
    const head = (await store.audit.head())!;
    const c = await checkpointer.write('timer');
    assert.ok(c);
    assert.deepEqual({ seq: c.seq, hash: c.hash, keyId: c.keyId, time: c.time }, { seq: 2, hash: head.hash, keyId: signer.keyId, time: '2026-11-02T10:00:00.000Z' });
    assert.equal(checkpointSignatureOk(c, signer), true);
    assert.deepEqual(await store.auditAccess.lastCheckpoint(), { ...c, recordSeq: 3 });
    assert.deepEqual(readCheckpointFile(checkpointFileOf(tmp.dir)), { checkpoints: [c], unreadable: [] });
    const [record] = await collect(store.audit.read({ types: ['audit.checkpoint'] }));
    assert.equal(record.seq, 3);
    assert.deepEqual(checkpointOfRecord(record), c);
    assert.deepEqual(logged, [{ checkpoint: c, trigger: 'timer' }]);
  });

  it("finds nothing missing when another instance's checkpoint commits while a start checks the log", async () => {
    await store.audit.append([anEvent('request.created'), anEvent('approval.granted')]);
    assert.ok(await checkpointer.write('timer'));
    await store.audit.append([anEvent('request.approved')]);
    // Another instance (several on one PostgreSQL database) writes its checkpoint, row, record and
    // file line, right after this start read the log's head: the checkpoint reaches one record past it.
    const head = store.audit.head.bind(store.audit);
    let committed = false;
    store.audit.head = async () => {
      const h = await head();
      if (!committed) {
        committed = true;
        assert.ok(await checkpointer.write('timer'));
      }
      return h;
    };
    const finding = await checkContinuity({ store, verifier: signer, keyExisted: true, keyFile: path.join(tmp.dir, PRIVATE_KEY_FILE), checkpointFile: checkpointFileOf(tmp.dir) });
    assert.deepEqual(finding.problems, []);
  });

  it('writes nothing while the log has not moved past the last checkpoint, unless forced', async () => {
    assert.equal(await checkpointer.write('timer'), undefined, 'an empty log has no head to sign');
    await store.audit.append([anEvent('request.created')]);
    assert.ok(await checkpointer.write('timer'));
    assert.equal(await checkpointer.write('timer'), undefined, 'only the checkpoint record is new');
    assert.ok(await checkpointer.write('cli', { force: true }));
    await store.audit.append([anEvent('request.approved')]);
    const c = await checkpointer.write('shutdown');
    assert.equal(c?.seq, 4);
    assert.equal(readCheckpointFile(checkpointFileOf(tmp.dir)).checkpoints.length, 3);
  });

  it('says so when the checkpoint file was deleted or emptied while the table holds checkpoints, as it starts it again', async () => {
    const warned: string[] = [];
    const watching = new Checkpointer({ store, signer, clock, file: checkpointFileOf(tmp.dir), log: { info: () => undefined, warn: (_f: object, msg: string) => void warned.push(msg), error: () => undefined } });
    await store.audit.append([anEvent('request.created')]);
    assert.ok(await watching.write('timer'));
    assert.deepEqual(warned, [], 'a first checkpoint: nothing was there before');
    for (const damage of [() => fs.rmSync(checkpointFileOf(tmp.dir)), () => fs.truncateSync(checkpointFileOf(tmp.dir), 0)]) {
      damage();
      await store.audit.append([anEvent('request.approved')]);
      assert.ok(await watching.write('timer'));
    }
    assert.deepEqual(warned, Array(2).fill('the audit checkpoint file was deleted or emptied (the database still holds its checkpoints): it starts again with this checkpoint; put the earlier lines back from your copy of it'));
    await store.audit.append([anEvent('request.approved')]);
    await watching.write('timer');
    assert.equal(warned.length, 2, 'intact since: nothing more to say');
  });

  it('appends after a line a crash left without its newline as a line of its own: the torn line is skipped, the new checkpoint read', async () => {
    const file = checkpointFileOf(tmp.dir);
    await store.audit.append([anEvent('request.created')]);
    const first = (await checkpointer.write('timer'))!;
    // A crash mid-append: part of the next checkpoint's line, and no newline.
    const torn = JSON.stringify(first).slice(0, 40);
    fs.appendFileSync(file, torn);
    await store.audit.append([anEvent('request.approved')]);
    const next = (await checkpointer.write('timer'))!;
    assert.deepEqual(readCheckpointFile(file), { checkpoints: [first, next], unreadable: [2] });
    assert.equal(fs.readFileSync(file, 'utf8').split('\n')[1], torn, 'the torn line is kept as it was');
    // The file ends with a newline again: the one after it is appended as it always was.
    await store.audit.append([anEvent('request.cancelled')]);
    const third = (await checkpointer.write('timer'))!;
    assert.deepEqual(readCheckpointFile(file), { checkpoints: [first, next, third], unreadable: [2] });
  });

  describe('the signing key file, looked at on each tick while the bot runs', () => {
    const keyFile = () => path.join(tmp.dir, PRIVATE_KEY_FILE);
    let said: { level: string; fields: Record<string, unknown>; msg: string }[];
    let watching: Checkpointer;
    beforeEach(() => {
      said = [];
      const at = (level: string) => (fields: object, msg: string) => said.push({ level, fields: fields as Record<string, unknown>, msg });
      watching = new Checkpointer({ store, signer, clock, file: checkpointFileOf(tmp.dir), log: { info: () => undefined, warn: at('warn'), error: at('error') }, keyDir: tmp.dir });
    });

    it('writes a deleted key file again from the key in use (mode 0600), so that the next start can check the checkpoints, and says so once', async () => {
      await store.audit.append([anEvent('request.created')]);
      fs.rmSync(keyFile());
      await watching.write('timer');
      assert.equal(loadOrCreateSigningKey(tmp.dir).keyId, signer.keyId, 'the same key is back');
      assert.equal(fs.statSync(keyFile()).mode & 0o777, 0o600);
      assert.deepEqual(said.map((x) => [x.level, x.fields.file, x.fields.keyId]), [['warn', keyFile(), signer.keyId]]);
      assert.match(said[0].msg, /deleted while Countersign ran: written again from the key in use/);
      await watching.write('timer');
      assert.equal(said.length, 1, 'intact since: nothing more to say');
    });

    it('writes an emptied key file again from the key in use too: an empty file is no evidence of another key', async () => {
      await store.audit.append([anEvent('request.created')]);
      fs.truncateSync(keyFile(), 0);
      await watching.write('timer');
      assert.equal(loadOrCreateSigningKey(tmp.dir).keyId, signer.keyId, 'the same key is back');
      assert.equal(fs.statSync(keyFile()).mode & 0o777, 0o600);
      assert.deepEqual(said.map((x) => [x.level, x.msg]), [['warn', 'the audit signing key file was emptied while Countersign ran: written again from the key in use, so that the next start can check the checkpoints']]);
      assert.deepEqual(fs.readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
    });

    it('refuses a start on an emptied key file in words: empty, put it back, or accept the key as lost', () => {
      fs.writeFileSync(keyFile(), '\n', { mode: 0o600 });
      assert.throws(() => loadOrCreateSigningKey(tmp.dir), (err: Error) => err.message === `the audit signing key ${keyFile()} is empty: put the key back from a backup (the one that signed this data directory's checkpoints). Only if it is lost for good, record that and go on with a new key: countersign audit accept-loss --data-dir ${tmp.dir} --key-lost --reason "<why>"`);
    });

    it('refuses a start on a damaged key file in words (not an OpenSSL code): damaged, put it back, or accept the key as lost', () => {
      const advice = `put the key back from a backup (the one that signed this data directory's checkpoints). Only if it is lost for good, record that and go on with a new key: countersign audit accept-loss --data-dir ${tmp.dir} --key-lost --reason "<why>"`;
      const pem = fs.readFileSync(keyFile(), 'utf8');
      fs.writeFileSync(keyFile(), pem.slice(0, 60), { mode: 0o600 });
      assert.throws(() => loadOrCreateSigningKey(tmp.dir), (err: Error) => err.message.startsWith(`the audit signing key ${keyFile()} is damaged: it is not a PEM private key (`) && err.message.endsWith(`damaged, cut short, or another file copied over it. Nothing was signed with it. P${advice.slice(1)}`));
      fs.writeFileSync(keyFile(), signer.publicKeyPem, { mode: 0o600 });
      assert.throws(() => loadOrCreateSigningKey(tmp.dir), (err: Error) => err.message === `the audit signing key ${keyFile()} is damaged: it holds a public key, not the private key (the public key belongs in audit-signing-key.pub.pem). Nothing was signed with it. P${advice.slice(1)}`);
      fs.rmSync(keyFile());
      fs.mkdirSync(keyFile());
      assert.throws(() => loadOrCreateSigningKey(tmp.dir), (err: Error) => err.message === `the audit signing key ${keyFile()} is a directory, not the key file: move it aside and ${advice}`);
    });

    it('leaves a damaged key file as it is, as evidence, and says at each tick to put the key in use back', async () => {
      fs.writeFileSync(keyFile(), 'not a key\n', { mode: 0o600 });
      await watching.write('timer');
      assert.equal(fs.readFileSync(keyFile(), 'utf8'), 'not a key\n', 'left as it is');
      assert.deepEqual(said.map((x) => x.level), ['error']);
      assert.match(String(said[0].fields.problem), new RegExp(`is damaged: it is not a PEM private key .*: it is left as it is, as evidence, and the next start will be refused until it holds the key ${signer.keyId} again. Put that key back from a backup before Countersign stops$`));
    });

    it('leaves a key file holding another key as it is, as evidence, and says at each tick what the next start will do', async () => {
      const other = tempDir();
      try {
        const theirs = loadOrCreateSigningKey(other.dir);
        fs.rmSync(keyFile());
        fs.copyFileSync(path.join(other.dir, PRIVATE_KEY_FILE), keyFile());
        await watching.write('timer');
        await watching.write('timer');
        assert.equal(loadOrCreateSigningKey(tmp.dir).keyId, theirs.keyId, 'not overwritten');
        assert.deepEqual(said.map((x) => x.level), ['error', 'error']);
        assert.match(String(said[0].fields.problem), new RegExp(`now holds another key \\(${theirs.keyId}\\), not the key ${signer.keyId} Countersign signs with.*refuse to start`));
      } finally {
        other.remove();
      }
    });

    it('names a key file others can read, as the next start would', async () => {
      fs.chmodSync(keyFile(), 0o644);
      await watching.write('timer');
      assert.deepEqual(said.map((x) => x.level), ['error']);
      assert.match(String(said[0].fields.problem), /can be read by other users \(mode 0644\); run: chmod 600 .*the next start will be refused until it can/);
    });
  });

  describe('verification', () => {
    const hashes = new Map<number, string>();
    const sourced = (c: SourcedCheckpoint['checkpoint'], from = 'the checkpoint table', recordSeq?: number): SourcedCheckpoint => ({ checkpoint: c, from, recordSeq });

    beforeEach(async () => {
      for (const r of await store.audit.append(Array.from({ length: 10 }, () => anEvent('execution.progressed')))) hashes.set(r.seq, r.hash);
    });
    const sign = (seq: number) => signCheckpoint({ seq, hash: hashes.get(seq)! }, '2026-11-02T10:00:00.000Z', signer);

    it('accepts checkpoints the intact chain agrees with, and names the latest', () => {
      const v = verifyCheckpoints({ checkpoints: [sourced(sign(4)), sourced(sign(9), 'file x')], recorded: [], table: [], verifier: signer, lastSeq: 10, chainIntact: true, hashAt: (s) => hashes.get(s) });
      assert.deepEqual(v.problems, []);
      assert.equal(v.checked, 2);
      assert.equal(v.copies, 2);
      assert.equal(v.latest?.checkpoint.seq, 9);
    });

    it('names a cut-off end: the chain stops before a checkpoint, or before the record written with it', () => {
      const past = verifyCheckpoints({ checkpoints: [sourced(sign(9), 'file x')], recorded: [], table: [], verifier: signer, lastSeq: 7, chainIntact: true, hashAt: (s) => hashes.get(s) });
      assert.equal(past.problems[0].kind, 'truncated');
      assert.match(past.problems[0].message, /it ends at record 7, but the checkpoint signed at .* \(from file x\) names record 9 .*records 8 to 9 at least are missing/);
      const own = verifyCheckpoints({ checkpoints: [sourced(sign(7), 'the checkpoint table', 8)], recorded: [], table: [], verifier: signer, lastSeq: 7, chainIntact: true, hashAt: (s) => hashes.get(s) });
      assert.match(own.problems[0].message, /names its own audit.checkpoint record 8/);
    });

    it('names a rewritten record, a forged checkpoint and a checkpoint lost from the table', () => {
      const forged = { ...sign(5), hash: 'f'.repeat(64) };
      const rewritten = sign(6);
      const v = verifyCheckpoints({
        checkpoints: [sourced(forged, 'file x'), sourced(rewritten)],
        recorded: [sourced(sign(3), 'record 4')],
        table: [rewritten],
        verifier: signer,
        lastSeq: 10,
        chainIntact: true,
        hashAt: (s) => (s === 6 ? 'e'.repeat(64) : hashes.get(s)),
      });
      assert.deepEqual(
        v.problems.map((p) => p.kind),
        ['forged', 'rewritten', 'missing'],
      );
      assert.match(v.problems[1].message, /record 6 is not the record the checkpoint .* vouches for/);
      assert.match(v.problems[2].message, /the checkpoint table lost the checkpoint of record 3 that record 4 recorded/);
    });

    it('names a table row whose signature or hash was edited as forged only, not as a row deleted; a row deleted is missing', () => {
      const [three, six] = [sign(3), sign(6)];
      const recorded = [sourced(three, 'record 4'), sourced(six, 'record 7')];
      const run = (table: SourcedCheckpoint['checkpoint'][]) =>
        verifyCheckpoints({ checkpoints: table.map((c) => sourced(c)), recorded, table, verifier: signer, lastSeq: 10, chainIntact: true, hashAt: (s) => hashes.get(s) });
      const signatureEdited = { ...six, signature: `AAAA${six.signature.slice(4)}` };
      const bySignature = run([three, signatureEdited]);
      assert.deepEqual(bySignature.problems.map((p) => p.kind), ['forged']);
      assert.match(bySignature.problems[0].message, /for record 6 has a signature that does not match it/);
      const hashEdited = { ...six, hash: 'f'.repeat(64) };
      assert.deepEqual(run([three, hashEdited]).problems.map((p) => p.kind), ['forged']);
      const deleted = run([three]);
      assert.deepEqual(deleted.problems.map((p) => p.kind), ['missing']);
      assert.match(deleted.problems[0].message, /the checkpoint table lost the checkpoint of record 6 that record 7 recorded: rows were deleted from it/);
      // Another checkpoint at the same seq (an old row, from before a loss was accepted) is not this one.
      const older = signCheckpoint({ seq: 6, hash: 'e'.repeat(64) }, '2026-10-01T10:00:00.000Z', signer);
      assert.deepEqual(
        verifyCheckpoints({ checkpoints: [], recorded, table: [three, older], verifier: signer, lastSeq: 10, chainIntact: true, hashAt: (s) => hashes.get(s) }).problems.map((p) => p.kind),
        ['missing'],
      );
    });

    it('counts checkpoints, not their copies, when there is no public key to check them', () => {
      const [four, nine] = [sign(4), sign(9)];
      const v = verifyCheckpoints({
        checkpoints: [sourced(four), sourced(nine), sourced(four, 'file x'), sourced(nine, 'file x')],
        recorded: [sourced(four, 'record 5'), sourced(nine, 'record 10')],
        table: [four, nine],
        lastSeq: 10,
        chainIntact: true,
        hashAt: (s) => hashes.get(s),
      });
      assert.deepEqual([v.unchecked, v.uncheckedCheckpoints, v.checked], [6, 2, 0]);
      assert.deepEqual(v.warnings, ['2 checkpoint(s) were not checked: no public key was given']);
    });

    it("does not pass checkpoints of another key that no checkpoint of the key in use follows", () => {
      const other = tempDir();
      try {
        const stranger = loadOrCreateSigningKey(other.dir);
        const v = verifyCheckpoints({ checkpoints: [sourced(sign(9)), sourced(sign(9), 'file x')], recorded: [], table: [], verifier: stranger, lastSeq: 3, chainIntact: true, hashAt: () => undefined });
        assert.deepEqual(v.problems.map((p) => p.kind), ['foreign']);
        assert.match(v.problems[0].message, new RegExp(`none of the checkpoints could be checked with the key in use \\(${stranger.keyId}\\): 1 checkpoint\\(s\\) signed with key ${signer.keyId}; the latest of them, .* reaches record 9`));
        assert.deepEqual([v.unchecked, v.uncheckedCheckpoints], [2, 1]);
        const strangers = (seq: number) => signCheckpoint({ seq, hash: hashes.get(seq)! }, '2026-11-02T10:00:00.000Z', stranger);
        const past = verifyCheckpoints({ checkpoints: [sourced(strangers(4)), sourced(sign(9))], recorded: [], table: [], verifier: stranger, lastSeq: 10, chainIntact: true, hashAt: (s) => hashes.get(s) });
        assert.deepEqual(past.problems.map((p) => p.kind), ['foreign']);
        assert.match(past.problems[0].message, /whose own checkpoints reach only record 4; .*a cut-off end after record 4 could not be checked/);
      } finally {
        other.remove();
      }
    });

    it("notes an earlier key's checkpoints that checkpoints of the key in use follow", () => {
      const other = tempDir();
      try {
        const later = loadOrCreateSigningKey(other.dir);
        const laters = signCheckpoint({ seq: 9, hash: hashes.get(9)! }, '2026-11-03T10:00:00.000Z', later);
        const v = verifyCheckpoints({ checkpoints: [sourced(sign(4)), sourced(sign(9)), sourced(laters)], recorded: [], table: [], verifier: later, lastSeq: 10, chainIntact: true, hashAt: (s) => hashes.get(s) });
        assert.deepEqual(v.problems, []);
        assert.equal(v.checked, 1);
        assert.match(v.warnings[0], new RegExp(`2 checkpoint\\(s\\) signed with key ${signer.keyId}, up to record 9, were not checked: they are an earlier key's`));
      } finally {
        other.remove();
      }
    });

    it("fails an earlier key's checkpoint that names a record the log holds otherwise, though its signature cannot be checked", () => {
      const other = tempDir();
      try {
        const later = loadOrCreateSigningKey(other.dir);
        const laters = signCheckpoint({ seq: 10, hash: hashes.get(10)! }, '2026-11-03T10:00:00.000Z', later);
        // The log as the later key vouches for it: record 4 is no longer what the earlier key signed.
        const rewritten = (seq: number) => (seq === 4 ? 'e'.repeat(64) : hashes.get(seq));
        const v = verifyCheckpoints({ checkpoints: [sourced(sign(4)), sourced(sign(4), 'file shipped'), sourced(laters)], recorded: [], table: [], verifier: later, lastSeq: 10, chainIntact: true, hashAt: rewritten });
        assert.deepEqual(v.problems.map((p) => p.kind), ['rewritten'], 'one problem for the two copies of one checkpoint');
        assert.match(v.problems[0].message, new RegExp(`record 4 is not the record .* vouches for .*signed with key ${signer.keyId}, not the key in use \\(${later.keyId}\\), so its signature was not checked: either the log was rewritten at or before record 4 and signed again with another key, or that checkpoint is not genuine`));
      } finally {
        other.remove();
      }
    });
  });

  it('skips a line of the checkpoint file that is not a checkpoint, naming it', () => {
    const file = checkpointFileOf(tmp.dir);
    fs.writeFileSync(file, 'garbage\n{"seq":1}\n');
    assert.deepEqual(readCheckpointFile(file), { checkpoints: [], unreadable: [1, 2] });
  });
});
