/**
 * The signed side of `countersign audit`: exports with manifests (and audited), filters, OCSF,
 * progress on a terminal, the public key, checkpoints against a cut-off log, evidence bundles.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import Database from 'better-sqlite3';
import { checkpointFileOf, signCheckpoint } from '../../src/audit/access/checkpoints';
import { parseManifest, signManifest } from '../../src/audit/access/manifest';
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, loadOrCreateSigningKey, loadPublicKey } from '../../src/audit/access/signing';
import type { AuditRecord } from '../../src/domain/audit';
import { auditRecordHash, canonicalJson, sha256Hex } from '../../src/domain/canonical';
import { databaseFile } from '../../src/settings';
import { reportDeletedRequests } from '../../src/audit/access/deleted-requests';
import { openSqliteStore } from '../../src/store/sqlite';
import { aRequest, alice, anEvent, bob, requestRef as refWithoutReason, tempDir, timeAt } from '../store/fixtures';

/** A fixture request's reference as its records carry it: with the reason the request was made with (aRequest's). */
const requestRef = (id: string) => ({ ...refWithoutReason(id), reason: aRequest(id).reason });
import { indexesLeavingOut } from '../store/index-tamper';
import { collect } from '../store/store-contract';
import { registerAuditCommands } from '../../src/cli/audit';
import { readCliSettings } from '../../src/settings';
import { Capture, audit } from './run-audit';
import { NAMED_UNBACKED } from '../../src/cli/audit-verify';

describe('countersign audit: signed exports, checkpoints, evidence', function () {
  this.timeout(20000);
  let tmp: ReturnType<typeof tempDir>;
  let dataDir: string;

  beforeEach(async () => {
    tmp = tempDir();
    dataDir = path.join(tmp.dir, 'data');
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    for (let i = 0; i < 12; i++) {
      await store.audit.append([anEvent(i % 2 ? 'approval.granted' : 'request.created', { time: timeAt(i * 60), actor: i % 3 ? alice : bob, request: requestRef(`req-${i % 3}`) })]);
    }
    await store.close();
  });
  afterEach(() => tmp.remove());

  async function records(): Promise<AuditRecord[]> {
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    try {
      return await collect(store.audit.read());
    } finally {
      await store.close();
    }
  }

  /** Tampering as someone with the file would: triggers dropped first. */
  function tamper(sql: string): void {
    const db = new Database(databaseFile(dataDir));
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_delete; DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_chain; DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;');
    db.exec(sql);
    db.close();
  }

  describe('export', () => {
    it('writes a signed manifest beside the file, and the export verifies against it', async () => {
      const out = path.join(tmp.dir, 'audit.csv');
      const r = await audit(['export', '--format', 'csv', '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      const manifest = parseManifest(readFileSync(`${out}.manifest.json`, 'utf8'), 'manifest');
      assert.equal(manifest.sha256, sha256Hex(readFileSync(out)));
      assert.deepEqual(
        { records: manifest.records, firstSeq: manifest.firstSeq, lastSeq: manifest.lastSeq, format: manifest.format, file: manifest.file, exportedBy: manifest.exportedBy },
        { records: 12, firstSeq: 1, lastSeq: 12, format: 'csv', file: 'audit.csv', exportedBy: 'cli:compliance@test-host' },
      );
      assert.equal(manifest.keyId, loadPublicKey(dataDir).keyId);
      assert.match(r.stderr, /Signed manifest: .*audit\.csv\.manifest\.json \(SHA-256 [0-9a-f]{64}, key [0-9a-f]{16}\)/);
      const v = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(v.code, 0, v.stdout);
      assert.match(v.stdout, /Export intact: 12 records, seq 1 to 12\.\nHead hash: .*\nSHA-256: [0-9a-f]{64} \(as signed\)/);
    });

    it('says what an intact export selected, as its manifest signed it, when it is made and when it is verified: a genuine export of one type passes as well as one of the whole log', async () => {
      const cases: [string[], string][] = [
        [[], 'Selection: every record of the log (no filter).'],
        [['--type', 'approval.granted'], 'Selection: only the records of type approval.granted.'],
        [['--request', 'req-1', '--from', '2026-01-01', '--to', '2099-01-01T00:00:00Z'], 'Selection: only the records from 2026-01-01T00:00:00.000Z (included), before 2099-01-01T00:00:00.000Z, of request req-1.'],
        [['--actor', alice.aadObjectId.toUpperCase(), '--type', 'request.created,approval.granted'], `Selection: only the records of actor ${alice.aadObjectId}, of type request.created, approval.granted.`],
      ];
      for (const [i, [filter, said]] of cases.entries()) {
        const out = path.join(tmp.dir, `selected-${i}.jsonl`);
        const e = await audit(['export', '--format', 'jsonl', '--out', out, '--data-dir', dataDir, ...filter]);
        assert.equal(e.code, 0, e.stderr);
        assert.ok(e.stderr.split('\n').includes(said), `${filter.join(' ')}: ${e.stderr}`);
        const v = await audit(['verify', '--file', out, '--data-dir', dataDir]);
        assert.equal(v.code, 0, v.stdout);
        assert.ok(v.stdout.split('\n').includes(said), `${filter.join(' ')}: ${v.stdout}`);
      }
    });

    it('writes exports, their manifests and evidence bundles for their owner only, whatever the umask', async function () {
      if (process.platform === 'win32') this.skip();
      const before = process.umask(0o022);
      try {
        const out = path.join(tmp.dir, 'private.csv');
        assert.equal((await audit(['export', '--format', 'csv', '--out', out, '--data-dir', dataDir])).code, 0);
        const bundle = path.join(tmp.dir, 'private-evidence');
        assert.equal((await audit(['evidence', 'req-1', '--out', bundle, '--data-dir', dataDir])).code, 0);
        const modeOf = (p: string) => (statSync(p).mode & 0o777).toString(8);
        const written = [out, `${out}.manifest.json`, bundle, ...readdirSync(bundle, { recursive: true }).map((f) => path.join(bundle, String(f)))];
        assert.deepEqual(
          written.map((p) => [path.relative(tmp.dir, p), modeOf(p)]),
          written.map((p) => [path.relative(tmp.dir, p), statSync(p).isDirectory() ? '700' : '600']),
        );
      } finally {
        process.umask(before);
      }
    });

    it('names where the key that did not sign an export or a bundle came from: the default data directory, when nothing named one', async () => {
      const out = path.join(tmp.dir, 'audit.jsonl');
      assert.equal((await audit(['export', '--format', 'jsonl', '--out', out, '--data-dir', dataDir])).code, 0);
      const bundle = path.join(tmp.dir, 'bundle');
      assert.equal((await audit(['evidence', 'req-1', '--out', bundle, '--data-dir', dataDir])).code, 0);
      // An auditor's folder whose ./data is another installation's (a trial), the export and the bundle checked with no option.
      const elsewhere = path.join(tmp.dir, 'auditor');
      const other = await openSqliteStore({ file: databaseFile(path.join(elsewhere, 'data')) });
      await other.close();
      const otherKey = loadOrCreateSigningKey(path.join(elsewhere, 'data')).keyId;
      for (const file of [out, bundle]) {
        const v = await audit(['verify', '--file', file], {}, elsewhere);
        assert.equal(v.code, 2, v.stdout);
        assert.match(v.stdout, new RegExp(`but the public key in use is ${otherKey}`));
        assert.match(v.stdout, new RegExp(`The public key in use, ${otherKey}, is the data directory's, in ${path.join(elsewhere, 'data').replace(/[/\\]/g, '.')} \\(no --public-key or --data-dir was given, so the key of the default data directory was used\\)\\. If the export comes from another installation, check it with that installation's public key: --public-key <file>\\.`));
      }
      const named = await audit(['verify', '--file', out, '--public-key', path.join(elsewhere, 'data', PUBLIC_KEY_FILE)], {}, elsewhere);
      assert.match(named.stdout, new RegExp(`The public key in use, ${otherKey}, is from --public-key .*\\. If the export`));
      assert.ok(!named.stdout.includes('no --public-key or --data-dir was given'));
      const right = await audit(['verify', '--file', out, '--data-dir', dataDir], {}, elsewhere);
      assert.equal(right.code, 0, right.stdout);
      assert.ok(!right.stdout.includes('The public key in use'), 'nothing said when the key signed it');
    });

    it('says a whole-log export of a log records were deleted from is damaged (exit 2), and verify of that export fails, naming what is missing', async () => {
      tamper('DELETE FROM audit_log WHERE seq = 5');
      for (const format of ['jsonl', 'csv'] as const) {
        const out = path.join(tmp.dir, `gap.${format}`);
        const r = await audit(['export', '--format', format, '--out', out, '--data-dir', dataDir]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /AUDIT LOG DAMAGED: the export selected the whole log and holds \d+ record\(s\) up to seq \d+, so 1 record\(s\) were missing from the log it was made from/);
        const v = await audit(['verify', '--file', out, '--data-dir', dataDir]);
        assert.equal(v.code, 2, v.stdout);
        assert.doesNotMatch(v.stdout, /Export intact/);
        assert.match(v.stdout, /were missing from the log it was made from/);
      }
      // A selection (one request's records) skips numbers by design: its file is not damaged, but the
      // log it was read from is, and the export says so (a record of the request may be the one gone).
      const one = path.join(tmp.dir, 'one.jsonl');
      const selected = await audit(['export', '--format', 'jsonl', '--request', 'req-1', '--out', one, '--data-dir', dataDir]);
      assert.equal(selected.code, 2, selected.stderr);
      assert.match(selected.stderr, /AUDIT LOG DAMAGED: the log this selection was read from holds/);
      assert.equal((await audit(['verify', '--file', one, '--data-dir', dataDir])).code, 0);
    });

    it('says a time-window export of a log a record inside the window was deleted from is damaged (exit 2), and verify of that export names it deleted', async () => {
      // Record 5 (at timeAt(240)) deleted; the window runs from record 2 (timeAt(60)) to record 10 (before timeAt(600)).
      tamper('DELETE FROM audit_log WHERE seq = 5');
      const out = path.join(tmp.dir, 'window.csv');
      const r = await audit(['export', '--format', 'csv', '--from', timeAt(60), '--to', timeAt(600), '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /AUDIT LOG DAMAGED: the export selected every record from .* up to .*, an unbroken run of the log, and holds 8 record\(s\) from seq 2 to 10, so 1 record\(s\) were missing from the log it was made from/);
      const manifest = parseManifest(readFileSync(`${out}.manifest.json`, 'utf8'), 'm');
      assert.equal(manifest.manifestVersion, 2);
      const [exported] = (await records()).filter((x) => x.type === 'audit.exported');
      assert.match(String(exported.data?.logDamaged), /1 record\(s\) were missing from the log/);
      const v = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(v.code, 2, v.stdout);
      assert.doesNotMatch(v.stdout, /Export intact/);
      assert.match(v.stdout, /EXPORT DAMAGED \(deleted\)/);
      assert.match(v.stdout, /were missing from the log it was made from/);
      // A manifest of version 1 (made before a window was read as a run) is read as it was: its gaps say nothing.
      const { signature: _s, keyId: _k, algorithm: _a, ...unsigned } = manifest;
      const older = signManifest({ ...unsigned, manifestVersion: 1 }, loadOrCreateSigningKey(dataDir));
      writeFileSync(`${out}.manifest.json`, JSON.stringify(older));
      const old = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(old.code, 0, old.stdout);
    });

    it('says a time-window export of a log records were deleted from at either end of the window is damaged (exit 2), however many', async () => {
      // The window runs from record 2 (timeAt(60)) to record 10 (before timeAt(600)); its last three, then its first two, deleted.
      tamper('DELETE FROM audit_log WHERE seq IN (8, 9, 10)');
      const last = await audit(['export', '--format', 'jsonl', '--from', timeAt(60), '--to', timeAt(600), '--out', path.join(tmp.dir, 'end.jsonl'), '--data-dir', dataDir]);
      assert.equal(last.code, 2, last.stderr);
      assert.match(last.stderr, /AUDIT LOG DAMAGED: the time window's run holds seq 2 to 7, but the log lacks seq 8, just after its last: records were deleted at the edge of the window/);
      const [exported] = (await records()).filter((x) => x.type === 'audit.exported');
      assert.match(String(exported.data?.logDamaged), /records were deleted at the edge of the window/);
      tamper('DELETE FROM audit_log WHERE seq IN (2, 3)');
      const first = await audit(['export', '--format', 'jsonl', '--from', timeAt(60), '--to', timeAt(600), '--out', path.join(tmp.dir, 'start.jsonl'), '--data-dir', dataDir]);
      assert.equal(first.code, 2, first.stderr);
      assert.match(first.stderr, /the log lacks seq 3, just before its first record, and seq 8, just after its last/);
      // A window at the log's start or end of an intact log says nothing.
      const whole = path.join(tmp.dir, 'all-window.jsonl');
      assert.equal((await audit(['export', '--format', 'jsonl', '--from', timeAt(-60), '--to', timeAt(60 * 60), '--out', whole, '--data-dir', dataDir])).code, 2, 'the log is still damaged inside');
    });

    it('says a time-window export that selected nothing from a log records were deleted from is damaged (exit 2): every record of the window may be the ones deleted', async () => {
      // Records 4 to 6 (timeAt(180) to timeAt(300)) deleted: the window of their times is now empty.
      const window = ['--from', timeAt(180), '--to', timeAt(360)];
      const intact = await audit(['export', '--format', 'jsonl', '--from', timeAt(30), '--to', timeAt(31), '--out', path.join(tmp.dir, 'none.jsonl'), '--data-dir', dataDir]);
      assert.equal(intact.code, 0, `a window with no record of an intact log is no damage: ${intact.stderr}`);
      tamper('DELETE FROM audit_log WHERE seq BETWEEN 4 AND 6');
      const out = path.join(tmp.dir, 'empty-window.jsonl');
      const r = await audit(['export', '--format', 'jsonl', ...window, '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /Exported 0 audit records as jsonl/);
      assert.match(r.stderr, /AUDIT LOG DAMAGED: the time window selected no record, but the log it was read from holds 10 record\(s\) for seq 1 to 13, so 3 were deleted from the database before the export; any of them may have been in the window/);
      const exported = (await records()).filter((x) => x.type === 'audit.exported').at(-1);
      assert.match(String(exported?.data?.logDamaged), /the time window selected no record/);
    });

    it('says an export of a request, a person or a type from a log records were deleted from is made from a damaged log (exit 2), though its own file cannot show it', async () => {
      // Record 4, Bob's approval (i = 3), deleted: an export of the approvals holds the others and reads as whole.
      tamper('DELETE FROM audit_log WHERE seq = 4');
      for (const selection of [['--type', 'approval.granted'], ['--actor', bob.aadObjectId]]) {
        const out = path.join(tmp.dir, `selection-${selection[0].slice(2)}.jsonl`);
        const r = await audit(['export', '--format', 'jsonl', ...selection, '--out', out, '--data-dir', dataDir]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /AUDIT LOG DAMAGED: the log this selection was read from holds 1[12] record\(s\) for seq 1 to 1[23], so 1 were deleted from the database before the export; any of them may have been among the records selected/);
        const exported = (await records()).filter((x) => x.type === 'audit.exported').at(-1);
        assert.match(String(exported?.data?.logDamaged), /so 1 were deleted from the database before the export/);
      }
    });

    it('records the export in the audit log with its manifest, and the log still verifies', async () => {
      const out = path.join(tmp.dir, 'audit.jsonl');
      await audit(['export', '--format', 'jsonl', '--out', out, '--data-dir', dataDir]);
      const all = await records();
      const exported = all.filter((x) => x.type === 'audit.exported');
      assert.equal(exported.length, 1);
      assert.deepEqual(exported[0].data, { via: 'cli', operator: 'compliance@test-host', manifest: JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) });
      assert.equal(exported[0].outcome.detail, '12 record(s) (seq 1 to 12) as jsonl via cli');
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(v.code, 0, v.stdout);
    });

    it('filters by request, actor and event type, and the selection verifies by its manifest', async () => {
      const out = path.join(tmp.dir, 'sel.jsonl');
      const r = await audit(['export', '--format', 'jsonl', '--request', 'req-1', '--actor', alice.aadObjectId, '--type', 'request.created,approval.granted', '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
      assert.deepEqual(
        lines.map((x) => x.seq),
        [2, 5, 8, 11].filter((s) => (s - 1) % 3 !== 0),
      );
      assert.ok(lines.every((x) => x.request?.id === 'req-1' && x.actor?.aadObjectId === alice.aadObjectId));
      const manifest = parseManifest(readFileSync(`${out}.manifest.json`, 'utf8'), 'm');
      assert.equal(manifest.contiguous, false);
      assert.deepEqual(manifest.filter, { requestId: 'req-1', actorId: alice.aadObjectId, types: ['request.created', 'approval.granted'] });
      assert.equal((await audit(['verify', '--file', out, '--data-dir', dataDir])).code, 0);
      const typeOnly = await audit(['export', '--format', 'jsonl', '--type', 'approval.granted', '--data-dir', dataDir]);
      assert.equal(typeOnly.stdout.trim().split('\n').length, 6);
      const bad = await audit(['export', '--format', 'jsonl', '--type', 'DROP TABLE', '--data-dir', dataDir]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /"DROP TABLE" is not an audit event type/);
    });

    it('exports a person\'s records with --actor whatever the case of the object id\'s letters, as typed or as stored', async () => {
      const frank = { ...bob, aadObjectId: 'c0ffee00-ca70-4ca7-8ca7-ca70ca70ca70' };
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      await store.audit.append([anEvent('request.refused', { actor: frank }), anEvent('request.refused', { actor: { ...frank, aadObjectId: frank.aadObjectId.toUpperCase() } })]);
      await store.close();
      const out = path.join(tmp.dir, 'frank.jsonl');
      const r = await audit(['export', '--format', 'jsonl', '--actor', 'C0ffee00-ca70-4ca7-8ca7-ca70ca70ca70', '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
      assert.deepEqual(lines.map((x) => [x.seq, x.actor?.aadObjectId]), [[13, frank.aadObjectId], [14, frank.aadObjectId.toUpperCase()]]);
      assert.deepEqual(parseManifest(readFileSync(`${out}.manifest.json`, 'utf8'), 'm').filter, { actorId: frank.aadObjectId });
      assert.equal((await audit(['verify', '--file', out, '--data-dir', dataDir])).code, 0);
    });

    it('refuses a --type that is no event type (with a did-you-mean) or an --actor that is no object id, exporting and recording nothing', async () => {
      const before = (await records()).length;
      const out = path.join(tmp.dir, 'typo.jsonl');
      const typo = await audit(['export', '--format', 'jsonl', '--type', 'request.created,click.refuse', '--out', out, '--data-dir', dataDir]);
      assert.equal(typo.code, 1, typo.stderr);
      assert.equal(typo.stderr, 'error: --type "click.refuse" is not an audit event type (did you mean click.refused?): nothing was exported\n');
      const unlike = await audit(['export', '--format', 'jsonl', '--type', 'clicks', '--data-dir', dataDir]);
      assert.equal(unlike.code, 1);
      assert.match(unlike.stderr, /--type "clicks" is not an audit event type \(known: config\.loaded, request\.created, .*, delegation\.refused, query\.run\)/);
      const name = await audit(['export', '--format', 'jsonl', '--actor', 'bob', '--out', out, '--data-dir', dataDir]);
      assert.equal(name.code, 1, name.stderr);
      assert.match(name.stderr, /^error: --actor "bob" is not an Entra object id: records name their actor by object id, a GUID such as 0{8}-0{4}-0{4}-0{4}-0{12} .*; nothing was exported\n$/);
      assert.equal(existsSync(out), false);
      assert.equal(existsSync(`${out}.manifest.json`), false);
      assert.equal((await records()).length, before, 'nothing recorded');
      const upper = await audit(['export', '--format', 'jsonl', '--actor', alice.aadObjectId.toUpperCase(), '--type', 'click.refused', '--data-dir', dataDir]);
      assert.equal(upper.code, 0, 'an object id in capitals is an object id');
    });

    it('writes OCSF API Activity events that verify, and catches an edited mapped field', async () => {
      const out = path.join(tmp.dir, 'audit.ocsf.jsonl');
      assert.equal((await audit(['export', '--format', 'ocsf', '--out', out, '--data-dir', dataDir])).code, 0);
      const events = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(events.length, 12);
      assert.ok(events.every((e) => e.class_uid === 6003 && e.type_uid === 600300 + (e.activity_id as number)));
      assert.equal((await audit(['verify', '--file', out, '--data-dir', dataDir])).code, 0);
      writeFileSync(out, readFileSync(out, 'utf8').replace('"name":"Bob Approver"', '"name":"Someone Else"'));
      const v = await audit(['verify', '--file', out, '--data-dir', dataDir, '--no-manifest']);
      assert.equal(v.code, 2);
      assert.match(v.stdout, /EXPORT DAMAGED \(edited\) at record 1.*\n.*the OCSF fields of record 1 \(line 1\) do not match/);
      // Both at once contradict each other, whichever comes last: refused, nothing checked.
      for (const args of [['--no-manifest', '--manifest', `${out}.manifest.json`], [`--manifest=${out}.manifest.json`, '--no-manifest']]) {
        const both = await audit(['verify', '--file', out, '--data-dir', dataDir, ...args]);
        assert.equal(both.code, 1, both.stdout);
        assert.match(both.stderr, /^error: --manifest <file> and --no-manifest contradict each other/);
        assert.equal(both.stdout, '');
      }
    });

    it('shows progress on a terminal, and none when stderr is not one', async () => {
      const tty = await audit(['export', '--format', 'jsonl', '--out', path.join(tmp.dir, 'a.jsonl'), '--data-dir', dataDir], {}, process.cwd(), { tty: true });
      assert.match(tty.stderr, /\rExporting: 12 records, up to seq 12 of 12/);
      const pipe = await audit(['export', '--format', 'jsonl', '--out', path.join(tmp.dir, 'b.jsonl'), '--data-dir', dataDir]);
      assert.doesNotMatch(pipe.stderr, /\r|Exporting:/);
    });

    it('records an export to standard output that broke off, with how much went out', async () => {
      const brokenPipe = new Writable({
        highWaterMark: 1,
        write(_chunk, _enc, done) {
          done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
        },
      });
      brokenPipe.on('error', () => undefined);
      const stderr = new Capture();
      let code = 0;
      const program = new Command('countersign').exitOverride();
      registerAuditCommands(program, { stdout: brokenPipe, stderr, settings: readCliSettings({}), cwd: tmp.dir, setExitCode: (c) => (code = c), operator: 'compliance@test-host' });
      await program.parseAsync(['audit', 'export', '--format', 'jsonl', '--data-dir', dataDir], { from: 'user' });
      assert.equal(code, 1);
      // The 12 records went to the output in one batch whose write failed: how many of them the reader took is not known.
      assert.match(stderr.text, /the export to standard output broke off after up to 12 record\(s\) had been written to it \(recorded\): its reader closed it \(write EPIPE\)/);
      const [broken] = (await records()).filter((x) => x.type === 'audit.exported');
      assert.equal(broken.outcome.result, 'error');
      assert.equal(broken.outcome.reason, 'export-incomplete');
      assert.equal(broken.data?.via, 'cli');
      assert.equal(broken.data?.recordsSent, 12);
    });

    it('names the truncation of an export by its manifest, with exit code 2', async () => {
      const out = path.join(tmp.dir, 'audit.jsonl');
      await audit(['export', '--format', 'jsonl', '--out', out, '--data-dir', dataDir]);
      const lines = readFileSync(out, 'utf8').split('\n');
      writeFileSync(out, `${lines.slice(0, 9).join('\n')}\n`);
      const v = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(v.code, 2);
      assert.match(v.stdout, /EXPORT DAMAGED \(truncated\):\n {2}the export was cut short \(truncated\): it ends at record 9, but the manifest says it runs to record 12/);
    });

    it("says so when the manifest given is another format's export, not this file's", async () => {
      const jsonl = path.join(tmp.dir, 'all.jsonl');
      const csv = path.join(tmp.dir, 'all.csv');
      await audit(['export', '--format', 'jsonl', '--out', jsonl, '--data-dir', dataDir]);
      await audit(['export', '--format', 'csv', '--out', csv, '--data-dir', dataDir]);
      const r = await audit(['verify', '--file', jsonl, '--manifest', `${csv}.manifest.json`, '--data-dir', dataDir]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /^error: the manifest .*all\.csv\.manifest\.json does not belong to .*all\.jsonl: it signed a csv export \(all\.csv\) of \d+ record\(s\) with SHA-256 [0-9a-f]{64}, and this file is jsonl with SHA-256 [0-9a-f]{64}\. Pass the export's own manifest/);
      const renamed = path.join(tmp.dir, 'renamed.jsonl');
      copyFileSync(csv, renamed);
      const same = await audit(['verify', '--file', renamed, '--manifest', `${csv}.manifest.json`, '--data-dir', dataDir]);
      assert.equal(same.code, 0, 'the very bytes it signed, under another name, still verify');
    });

    it('asks for the public key when a manifest cannot be checked without one', async () => {
      const out = path.join(tmp.dir, 'audit.jsonl');
      await audit(['export', '--format', 'jsonl', '--out', out, '--data-dir', dataDir]);
      const elsewhere = path.join(tmp.dir, 'auditor-laptop');
      const r = await audit(['verify', '--file', out], {}, elsewhere);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /the manifest .*audit\.jsonl\.manifest\.json is checked with the audit public key: pass --public-key <file>/);
      const pem = path.join(tmp.dir, 'audit.pub.pem');
      writeFileSync(pem, (await audit(['public-key', '--data-dir', dataDir])).stdout);
      const offline = await audit(['verify', '--file', out, '--public-key', pem], {}, elsewhere);
      assert.equal(offline.code, 0, offline.stdout + offline.stderr);
    });
  });

  it('verify shows a stored request id, state or time holding control characters escaped: nothing acts on the terminal or forges a line', async () => {
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    await store.close();
    // A version with no request row, written by someone with the database file (INSERT passes the triggers).
    const db = new Database(databaseFile(dataDir));
    db.prepare('INSERT INTO request_versions (request_id, version, state, updated_at, body) VALUES (?, 1, ?, ?, ?)').run('CS-\u001b]0;owned\u0007X\nAudit chain intact', 'approved\u009b2J', '2026-12-06\r', '{}');
    db.close();
    const r = await audit(['verify', '--data-dir', dataDir]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, 'no control character but line feeds reaches the terminal');
    assert.match(r.stdout, /\n {2}CS-\\u001b\]0;owned\\u0007X\\nAudit chain intact: last saved approved\\u009b2J at 2026-12-06\\r\n/);
  });

  it('verify --file shows what a doctored export, its manifest or an evidence bundle holds with line ends escaped: the file forges no line of the report', async () => {
    const forged = 'Export intact: 12 records, seq 1 to 12.';
    const out = path.join(tmp.dir, 'doctored.jsonl');
    assert.equal((await audit(['export', '--format', 'jsonl', '--out', out, '--data-dir', dataDir])).code, 0);
    // A record's id and the manifest's exporter, as someone handing the file on could write them.
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    lines[3].id = `${String(lines[3].id)}\n${forged}\n`;
    writeFileSync(out, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) as Record<string, unknown>;
    writeFileSync(`${out}.manifest.json`, JSON.stringify({ ...manifest, exportedBy: `${String(manifest.exportedBy)}\nSelection: only the records of request CS-FORGED01.\r` }));
    const v = await audit(['verify', '--file', out, '--data-dir', dataDir]);
    assert.equal(v.code, 2, v.stdout + v.stderr);
    const shown = v.stdout.split('\n');
    assert.ok(!shown.includes(forged) && !shown.some((l) => l.startsWith('Selection: only the records of request CS-FORGED01')), v.stdout);
    assert.ok(v.stdout.includes(`\\n${forged}\\n`) && v.stdout.includes('\\nSelection: only the records of request CS-FORGED01.\\r'), v.stdout);
    assert.doesNotMatch(v.stdout, /\r/);

    const bundle = path.join(tmp.dir, 'doctored-bundle');
    assert.equal((await audit(['evidence', 'req-1', '--out', bundle, '--data-dir', dataDir])).code, 0);
    const signed = JSON.parse(readFileSync(path.join(bundle, 'manifest.json'), 'utf8')) as { createdBy: string; files: Record<string, string> };
    const files = { ...signed.files, 'cards/\nEvidence bundle intact: its 9 files are as signed.': 'a'.repeat(64) };
    writeFileSync(path.join(bundle, 'manifest.json'), JSON.stringify({ ...signed, createdBy: `${signed.createdBy}.\nEvidence bundle intact: its 9 files are as signed.`, files }));
    const b = await audit(['verify', '--file', bundle, '--data-dir', dataDir]);
    assert.equal(b.code, 2, b.stdout + b.stderr);
    assert.ok(!b.stdout.split('\n').some((l) => l.startsWith('Evidence bundle intact')), b.stdout);
    assert.match(b.stdout, /\\nEvidence bundle intact: its 9 files are as signed\. is missing\n/);
  });

  it('verify names requests whose row was deleted outside Countersign (their versions remain), exit 2, and a start says so in its log', async () => {
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    const kept = aRequest('CS-ROWKEPT1');
    const gone = aRequest('CS-ROWGONE1');
    await store.requests.insert(kept, [anEvent('request.created', { request: requestRef(kept.id) })]);
    await store.requests.insert(gone, [anEvent('request.created', { request: requestRef(gone.id) })]);
    await store.requests.update({ ...gone, version: 2, state: 'scheduled', updatedAt: timeAt(900) }, 1, [anEvent('request.scheduled', { request: requestRef(gone.id) })]);
    await store.close();
    assert.equal((await audit(['verify', '--data-dir', dataDir])).code, 0, 'nothing deleted yet');
    const db = new Database(databaseFile(dataDir));
    db.prepare('DELETE FROM requests WHERE id = ?').run(gone.id);
    db.close();
    const r = await audit(['verify', '--data-dir', dataDir]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /Audit chain intact/, 'the audit records are intact');
    assert.match(r.stdout, new RegExp(`REQUESTS DELETED: 1 request\\(s\\) have saved versions but no row: deleted outside Countersign, which never deletes one \\(an approved or scheduled one will never run\\):\n  ${gone.id}: last saved scheduled at ${timeAt(900).replace(/[.]/g, '\\.')}\n`));

    // The whole table dropped: the chain is still reported (intact), and the table named.
    const copy = path.join(tmp.dir, 'copy');
    mkdirSync(copy);
    copyFileSync(databaseFile(dataDir), databaseFile(copy));
    const dropped = new Database(databaseFile(copy));
    dropped.exec('DROP TABLE requests; DROP TABLE delegations');
    dropped.close();
    const noTable = await audit(['verify', '--data-dir', copy]);
    assert.equal(noTable.code, 2, noTable.stdout + noTable.stderr);
    assert.match(noTable.stdout, /Audit chain intact[\s\S]*DATABASE DAMAGED: the table delegations is missing from the database \(dropped or renamed\): a start is refused\. Restore the database from a backup \(docs\/faults\.md\)\.\nREQUESTS DELETED: the table requests is missing from the database \(dropped\), while the saved versions remain/);

    const reopened = await openSqliteStore({ file: databaseFile(dataDir) });
    try {
      const errors: { fields: object; msg: string }[] = [];
      assert.equal(await reportDeletedRequests(reopened, { error: (fields: object, msg: string) => errors.push({ fields, msg }) } as never), 1);
      assert.deepEqual(errors[0].fields, { requests: [`${gone.id} (last saved scheduled at ${timeAt(900)})`] });
      assert.match(errors[0].msg, /^requests deleted outside Countersign: .* they will never run/);
    } finally {
      await reopened.close();
    }
  });

  it('verify holds every request row and saved version against the audit records: an edited row or an added version is named (request, field, what the row says, what the records say), exit 2', async () => {
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    const asked = aRequest('CS-ROWEDIT1');
    await store.requests.insert(asked, [anEvent('request.created', { time: timeAt(0), request: requestRef(asked.id) })]);
    const other = aRequest('CS-VERFORG1');
    await store.requests.insert(other, [anEvent('request.created', { time: timeAt(0), request: requestRef(other.id) })]);
    await store.close();
    const clean = await audit(['verify', '--data-dir', dataDir]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /\nRequests: 2 checked against their audit records \(2 row\(s\), 2 saved version\(s\)\): each backed\. Time: \d+\.\d\d s\.\n/);

    const db = new Database(databaseFile(dataDir));
    // The row set to approved, with no approval record, and another reason: the first field not backed is named.
    db.prepare('UPDATE requests SET state = ?, body = ? WHERE id = ?').run('approved', JSON.stringify({ ...asked, state: 'approved', updatedAt: timeAt(60) }), asked.id);
    // A version added under the other request, naming another requester.
    db.prepare('INSERT INTO request_versions (request_id, version, state, updated_at, body) VALUES (?, 2, ?, ?, ?)').run(other.id, 'pending', timeAt(60), JSON.stringify({ ...other, version: 2, updatedAt: timeAt(60), requester: bob, reason: 'routine' }));
    // A row whose reason alone was edited.
    db.prepare('UPDATE requests SET body = ? WHERE id = ?').run(JSON.stringify({ ...other, reason: 'agreed with the owner' }), other.id);
    db.close();
    const r = await audit(['verify', '--data-dir', dataDir]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /Audit chain intact/, 'the records themselves are intact');
    assert.match(r.stdout, /REQUESTS NOT AS RECORDED: request rows or saved versions that their audit records do not back/);
    assert.match(r.stdout, new RegExp(`\\n  ${asked.id} row \\(at version 1\\): state: the row says "approved"; the records say no request\\.approved or breakglass\\.used record by ${timeAt(60).replace(/[.]/g, '\\.')}; its records by then end with request\\.created \\(record 13\\)\\n`));
    assert.match(r.stdout, new RegExp(`\\n  ${other.id} row \\(at version 1\\): reason: the row says "agreed with the owner"; the records say "patch Tuesday" \\(record 14, request\\.created\\)\\n`));
    assert.match(r.stdout, new RegExp(`\\n  ${other.id} version 2: requester: the version says ${bob.name} \\(${bob.aadObjectId}\\); the records say ${alice.name} \\(${alice.aadObjectId}\\) asked \\(record 14, request\\.created\\)\\n`));
    assert.doesNotMatch(r.stdout, /version 1:/, 'the versions Countersign stored are backed');
    assert.match(r.stdout, /\nRequests: 2 checked against their audit records \(2 row\(s\), 3 saved version\(s\)\): 3 NOT BACKED \(named above\)\. Time: /);
  });

  it('verify names every field of a request row or saved version that its records do not back, each on a line, not only the first', async () => {
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    const asked = aRequest('CS-MANYEDIT');
    await store.requests.insert(asked, [anEvent('request.created', { time: timeAt(0), request: requestRef(asked.id) })]);
    await store.close();
    const db = new Database(databaseFile(dataDir));
    // State, requester, reason, policy version and two approvals edited at once: an edit of the state must not hide the others.
    const approval = (who: typeof bob) => ({ approver: who, at: timeAt(30), operationHash: asked.operationHash });
    const edited = { ...asked, state: 'approved', updatedAt: timeAt(60), requester: bob, reason: 'agreed with the owner', policy: { ...asked.policy, version: 'c'.repeat(64) }, approvals: [approval(bob), approval({ ...bob, aadObjectId: 'f'.repeat(8) + '-0000-0000-0000-000000000000', name: 'Mallory' })] };
    db.prepare('UPDATE requests SET state = ?, body = ? WHERE id = ?').run('approved', JSON.stringify(edited), asked.id);
    db.close();
    const r = await audit(['verify', '--data-dir', dataDir]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith(`  ${asked.id} row (at version 1): `)).map((l) => l.slice(`  ${asked.id} row (at version 1): `.length));
    assert.deepEqual(lines.map((l) => l.split(':')[0]), ['approvals', 'state', 'requester', 'reason', 'policy.version'], r.stdout);
    assert.match(lines[0], /^approvals: the row says 2 approvals by Bob Approver \(.*\) of operation hash .{12}…, Mallory \(f{8}-0000-0000-0000-000000000000\) of operation hash .{12}…; the records say no approval\.granted record by /);
    assert.match(lines[3], /^reason: the row says "agreed with the owner"; the records say "patch Tuesday" \(record 13, request\.created\)$/);
    assert.match(r.stdout, /\nRequests: 1 checked against their audit records \(1 row\(s\), 1 saved version\(s\)\): 1 NOT BACKED \(named above\)\. Time: /);
  });

  it(`verify names at most ${NAMED_UNBACKED} rows and versions not backed, counting the rest by field, and every one with --every-finding`, async () => {
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    const asked = aRequest('CS-FLOODED1');
    await store.requests.insert(asked, [anEvent('request.created', { time: timeAt(0), request: requestRef(asked.id) })]);
    await store.close();
    const db = new Database(databaseFile(dataDir));
    const add = db.prepare('INSERT INTO request_versions (request_id, version, state, updated_at, body) VALUES (?, ?, ?, ?, ?)');
    const extra = NAMED_UNBACKED + 4;
    db.transaction(() => {
      for (let v = 2; v < 2 + extra; v++) add.run(asked.id, v, 'pending', timeAt(60), JSON.stringify({ ...asked, version: v, updatedAt: timeAt(60), reason: `forged ${v}`, ...(v % 2 ? { requester: bob } : {}) }));
    })();
    db.close();
    const r = await audit(['verify', '--data-dir', dataDir]);
    assert.equal(r.code, 2, r.stderr);
    const named = r.stdout.split('\n').filter((l) => l.startsWith(`  ${asked.id} version `));
    assert.equal(new Set(named.map((l) => l.split(':')[0])).size, NAMED_UNBACKED);
    assert.match(r.stdout, new RegExp(`\\): ${extra} NOT BACKED \\(the first ${NAMED_UNBACKED} named above; the other 4, by field: (requester 2, reason 4|reason 4, requester 2); name them all with --every-finding\\)\\. Time: `));
    const all = await audit(['verify', '--data-dir', dataDir, '--every-finding']);
    assert.equal(all.code, 2, all.stderr);
    assert.equal(new Set(all.stdout.split('\n').filter((l) => l.startsWith(`  ${asked.id} version `)).map((l) => l.split(':')[0])).size, extra);
    assert.match(all.stdout, new RegExp(`: ${extra} NOT BACKED \\(named above\\)\\. Time: `));
    const file = await audit(['verify', '--file', path.join(tmp.dir, 'none.jsonl'), '--every-finding', '--data-dir', dataDir]);
    assert.equal(file.code, 1);
    assert.match(file.stderr, /--every-finding applies to the database/);
  });

  describe('export of records stored altered, hash unchanged', () => {
    /**
     * Record `seq`'s stored text given a forged actor before its real one (JSON.parse keeps the last,
     * SQLite's json_extract the first): its hash still checks. The database verification names it;
     * the export must say it in every format, not only the one that copies the stored text.
     */
    function repeatActor(seq: number): void {
      tamper(`UPDATE audit_log SET record = replace(record, '{"actor":', '{"actor":{"aadObjectId":"mallory","name":"Mallory"},"actor":') WHERE seq = ${seq}`);
    }

    for (const format of ['jsonl', 'csv', 'ocsf'] as const) {
      it(`says so as ${format} (exit 2), signs it into the manifest and records it; audit verify --file of the export then fails`, async () => {
        repeatActor(2);
        const out = path.join(tmp.dir, `audit.${format}`);
        const r = await audit(['export', '--format', format, '--out', out, '--data-dir', dataDir]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /Exported 12 audit records \(seq 1 to 12\)/);
        assert.match(
          r.stderr,
          /AUDIT LOG DAMAGED: 1 record\(s\) \(seq 2\) are stored in the log as text that is not the canonical form they were sealed in \(a member repeated or reordered, or spacing added\), their hash unchanged: their stored text was edited in the database after they were sealed/,
        );
        const manifest = parseManifest(readFileSync(`${out}.manifest.json`, 'utf8'), 'manifest');
        assert.equal(manifest.logDamage?.length, 1);
        assert.match(manifest.logDamage![0], /^1 record\(s\) \(seq 2\) are stored in the log as text that is not the canonical form/);
        const exported = (await records()).filter((x) => x.type === 'audit.exported').at(-1);
        assert.match(String(exported?.outcome.detail), /; AUDIT LOG DAMAGED: records were stored altered in the log$/);
        assert.match(String(exported?.data?.logDamaged), /\(seq 2\) are stored in the log as text that is not the canonical form/);
        const v = await audit(['verify', '--file', out, '--data-dir', dataDir]);
        assert.equal(v.code, 2, v.stdout);
        if (format === 'jsonl') {
          // Its line is the stored text: edited, and the manifest's finding besides.
          assert.match(v.stdout, /EXPORT DAMAGED \(edited\)[\s\S]*line 2 of the export \(record 2\) was edited[\s\S]*Also \(log-damaged\): .*1 record\(s\) \(seq 2\) are stored in the log as text that is not the canonical form/);
        } else {
          // Its file holds the record as its hash vouches for: only the signed manifest can say it.
          assert.match(v.stdout, /Export intact as signed: 12 records[\s\S]*AUDIT LOG DAMAGED: its signed manifest records that the audit log it was exported from was not intact \(each finding says what the export holds\):\n {2}1 record\(s\) \(seq 2\) are stored in the log as text that is not the canonical form/);
        }
      });
    }

    it('names the first 20 records and counts the rest', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      for (let i = 0; i < 30; i++) await store.audit.append([anEvent('request.created', { time: timeAt(1000 + i), actor: bob, request: requestRef(`req-more-${i}`) })]);
      await store.close();
      tamper(`UPDATE audit_log SET record = replace(record, '{"actor":', '{"actor":null,"actor":') WHERE seq > 12`);
      const r = await audit(['export', '--format', 'csv', '--out', path.join(tmp.dir, 'many.csv'), '--data-dir', dataDir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /AUDIT LOG DAMAGED: 30 record\(s\) \(seq 13, 14, .*, 31, 32 and 10 more\) are stored in the log as text that is not the canonical form/);
    });

    it('says so of a large CSV export, whose later batches the worker thread encodes', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      // Past 32 batches of 256 the export hands its batches to a worker thread (output.ts).
      for (let done = 0; done < 9000; done += 1000) {
        await store.audit.append(Array.from({ length: 1000 }, (_, k) => anEvent('request.created', { time: timeAt(2000 + done + k), actor: alice, request: requestRef(`req-w-${done + k}`) })));
      }
      await store.close();
      repeatActor(9000);
      const r = await audit(['export', '--format', 'csv', '--out', path.join(tmp.dir, 'large.csv'), '--data-dir', dataDir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /Exported 9012 audit records/);
      assert.match(r.stderr, /AUDIT LOG DAMAGED: 1 record\(s\) \(seq 9000\) are stored in the log as text that is not the canonical form/);
    });

    it('says nothing of an intact log, escaped text included (exit 0)', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      await store.audit.append([anEvent('request.created', { time: timeAt(20000), actor: { ...alice, name: 'A "quoted" \\ name \u2028 😀' }, request: requestRef('req-escaped') })]);
      await store.close();
      for (const format of ['jsonl', 'csv', 'ocsf']) {
        const r = await audit(['export', '--format', format, '--out', path.join(tmp.dir, `intact.${format}`), '--data-dir', dataDir]);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /DAMAGED/);
      }
    });
  });

  describe('verify --file without a manifest', () => {
    /** An export of the 12 records, a checkpoint (record 13) and one more record. */
    async function exportWithCheckpoint(): Promise<{ out: string; pem: string }> {
      assert.equal((await audit(['checkpoint', '--data-dir', dataDir])).code, 0);
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      await store.audit.append([anEvent('request.created', { time: timeAt(20000), actor: alice, request: requestRef('req-9') })]);
      await store.close();
      const out = path.join(tmp.dir, 'audit.jsonl');
      assert.equal((await audit(['export', '--format', 'jsonl', '--out', out, '--data-dir', dataDir])).code, 0);
      const pem = path.join(tmp.dir, 'audit.pub.pem');
      writeFileSync(pem, (await audit(['public-key', '--data-dir', dataDir])).stdout);
      return { out, pem };
    }

    /** Rewrites the export as a forger without the key would: record `seq` changed, every hash after it computed again. */
    function forge(file: string, seq: number, change: (r: AuditRecord & Record<string, unknown>) => void): void {
      let prevHash: string | undefined;
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => {
        const r = JSON.parse(line) as AuditRecord & Record<string, unknown>;
        if (r.seq === seq) change(r);
        if (prevHash) r.prevHash = prevHash;
        const { hash: _old, ...rest } = r;
        prevHash = auditRecordHash(rest);
        return canonicalJson({ ...rest, hash: prevHash });
      });
      writeFileSync(file, `${lines.join('\n')}\n`);
    }

    it('is asked for: a manifest missing beside the export is refused as bad input, not passed over', async () => {
      const { out } = await exportWithCheckpoint();
      rmSync(`${out}.manifest.json`);
      const r = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^error: no manifest beside .*audit\.jsonl \(looked for .*audit\.jsonl\.manifest\.json\): pass the export's manifest with --manifest <file>, or check the records alone with --no-manifest/);
    });

    it('checks the signed checkpoints the export carries: records rewritten and hashed again are caught', async () => {
      const { out, pem } = await exportWithCheckpoint();
      const intact = await audit(['verify', '--file', out, '--no-manifest', '--public-key', pem]);
      assert.equal(intact.code, 0, intact.stdout + intact.stderr);
      assert.match(intact.stdout, /Manifest: none \(--no-manifest\): the records were checked only against each other\. Anyone can hash edited records again/);
      assert.match(intact.stdout, /Checkpoints: 1 in the file; 1 signed with key \S+ checked: records up to 12 are the ones Countersign signed\./);

      forge(out, 5, (r) => (r.actor = bob));
      const forged = await audit(['verify', '--file', out, '--no-manifest', '--public-key', pem]);
      assert.equal(forged.code, 2, forged.stdout);
      // An edit not hashed again: the records do not check out, and the line says so, not that a key is missing.
      const edited = path.join(tmp.dir, 'edited.jsonl');
      writeFileSync(edited, readFileSync(out, 'utf8').replace('"Bob Approver"', '"Someone Else"'));
      const plain = await audit(['verify', '--file', edited, '--no-manifest', '--public-key', pem]);
      assert.equal(plain.code, 2, plain.stdout);
      assert.match(plain.stdout, /Checkpoints: not checked: the records do not check out \(below\)/);
      assert.doesNotMatch(plain.stdout, /no public key|none in the file/);
      assert.match(forged.stdout, /EXPORT DAMAGED \(rewritten\):\n  record 12 is not the record the checkpoint in record 13 \(signed at .*\) vouches for .*: the records were rewritten at or before record 12 and hashed again\./);

      // The checkpoint itself edited to match: its signature no longer does.
      const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord & { data: { checkpoint: { hash: string } } });
      const twelve = lines.find((r) => r.seq === 12)!.hash;
      forge(out, 13, (r) => ((r as unknown as { data: { checkpoint: { hash: string } } }).data.checkpoint.hash = twelve));
      const resigned = await audit(['verify', '--file', out, '--no-manifest', '--public-key', pem]);
      assert.equal(resigned.code, 2, resigned.stdout);
      assert.match(resigned.stdout, /EXPORT DAMAGED \(forged\):\n  the checkpoint in record 13, for record 12, has a signature that does not match it: it was forged or edited/);
    });

    it('does not take checkpoints naming a key other than the one given as a pass: a key id can be written by anyone', async () => {
      const { out, pem } = await exportWithCheckpoint();
      forge(out, 5, (r) => (r.actor = bob));
      forge(out, 13, (r) => ((r as unknown as { data: { checkpoint: { keyId: string } } }).data.checkpoint.keyId = 'deadbeefdeadbeef'));
      const v = await audit(['verify', '--file', out, '--no-manifest', '--public-key', pem]);
      assert.equal(v.code, 2, v.stdout);
      assert.match(v.stdout, /EXPORT DAMAGED \(foreign\):\n  1 checkpoint\(s\) in the file name key deadbeefdeadbeef, not the key given \(\S+\), and reach record 12, further than any checkpoint of the key given: their signatures could not be checked/);
    });

    it('says when nothing in the file is signed, or its checkpoints could not be checked for want of a key', async () => {
      const { out } = await exportWithCheckpoint();
      const elsewhere = path.join(tmp.dir, 'auditor-laptop');
      const noKey = await audit(['verify', '--file', out, '--no-manifest'], {}, elsewhere);
      assert.equal(noKey.code, 0, noKey.stdout + noKey.stderr);
      assert.match(noKey.stdout, /Checkpoints: 1 in the file; 1 not checked: no public key \(pass --public-key <file>\)\./);
      const plain = path.join(tmp.dir, 'plain.jsonl');
      // Records 1 to 12, before the checkpoint was recorded: a whole chain from its start, nothing in it signed.
      assert.equal((await audit(['export', '--format', 'jsonl', '--to', timeAt(800), '--out', plain, '--data-dir', dataDir])).code, 0);
      const none = await audit(['verify', '--file', plain, '--no-manifest', '--data-dir', dataDir]);
      assert.equal(none.code, 0, none.stdout);
      assert.match(none.stdout, /Checkpoints: none in the file, so nothing in it is signed\./);
    });
  });

  describe('public-key', () => {
    it('prints the PEM public key and its id, the same each time', async () => {
      const first = await audit(['public-key', '--data-dir', dataDir]);
      assert.equal(first.code, 0, first.stderr);
      const key = createPublicKey(first.stdout);
      assert.equal(key.asymmetricKeyType, 'ed25519');
      assert.match(first.stderr, /Key id: [0-9a-f]{16} \(Ed25519\)/);
      assert.equal((await audit(['public-key', '--data-dir', dataDir])).stdout, first.stdout);
      if (process.platform !== 'win32') {
        assert.equal(statSync(path.join(dataDir, PRIVATE_KEY_FILE)).mode & 0o777, 0o600);
      }
    });

    it('writes an empty public key file again from the signing key, saying so, and verify then checks with it', async () => {
      assert.equal((await audit(['checkpoint', '--data-dir', dataDir])).code, 0);
      const pubFile = path.join(dataDir, PUBLIC_KEY_FILE);
      const pem = readFileSync(pubFile, 'utf8');
      writeFileSync(pubFile, ''); // as a crash during a plain write of it could leave it
      const broken = await audit(['verify', '--data-dir', dataDir]);
      assert.notEqual(broken.code, 0);
      assert.match(broken.stderr, /print it with countersign audit public-key/, 'the advice that now works');
      const printed = await audit(['public-key', '--data-dir', dataDir]);
      assert.equal(printed.code, 0, printed.stderr);
      assert.equal(printed.stdout, pem);
      assert.match(printed.stderr, new RegExp(`^Repaired ${pubFile.replace(/[.\\/]/g, '\\$&')}: it was empty, and is written again from the signing key ${PRIVATE_KEY_FILE.replace(/\./g, '\\.')}\\.\nKey id: `));
      assert.equal(readFileSync(pubFile, 'utf8'), pem);
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      assert.equal((await audit(['public-key', '--data-dir', dataDir])).stderr.includes('Repaired'), false, 'repaired once');
    });

    it('refuses to print a public key file holding another key, and leaves it as it is', async () => {
      const own = loadOrCreateSigningKey(dataDir);
      const other = path.join(tmp.dir, 'other-key');
      const foreign = loadOrCreateSigningKey(other);
      const pubFile = path.join(dataDir, PUBLIC_KEY_FILE);
      copyFileSync(path.join(other, PUBLIC_KEY_FILE), pubFile);
      const r = await audit(['public-key', '--data-dir', dataDir]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '', 'no key printed');
      assert.match(r.stderr, new RegExp(`^error: .*audit-signing-key\\.pub\\.pem holds the public key ${foreign.keyId}, not the public half of the signing key ${own.keyId} .*: one of the two files was replaced\\. It is left as it is, as evidence: .*move audit-signing-key\\.pub\\.pem aside .*; the signing key's public half is not printed until then\\n$`));
      assert.equal(readFileSync(pubFile, 'utf8'), foreign.publicKeyPem);
    });
  });

  describe('checkpoints', () => {
    it('writes one on demand, and verify checks the log against it', async () => {
      const c = await audit(['checkpoint', '--data-dir', dataDir]);
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stderr, /Checkpoint of record 12 \(hash [0-9a-f]{64}\) signed with key [0-9a-f]{16}; kept in the checkpoint table, .*audit-checkpoints\.jsonl and the audit log/);
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(v.code, 0, v.stdout);
      assert.match(v.stdout, /Audit chain intact: 13 records/);
      assert.match(v.stdout, /Checkpoints: 1 checked \(3 copies\); the latest, signed at .* names record 12\./);
    });

    it('catches a log whose tail was cut off, from the checkpoint table', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      tamper('DELETE FROM audit_log WHERE seq > 9');
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(v.code, 2);
      assert.match(v.stdout, /Hash chain consistent \(each record links to the one before it\): 9 records, seq 1 to 9; but the signed checkpoints below show that the log was changed, so it is NOT intact\./);
      assert.match(v.stdout, /AUDIT LOG DAMAGED \(checkpoint, truncated\): the audit log was cut short \(truncated\): it ends at record 9, but the checkpoint signed at .* \(from the checkpoint table\) names its own audit.checkpoint record 13, so records 10 to 13 at least are missing/);
    });

    it('says, beside an intact verdict, each loss of records an operator accepted: who, when, why and what was missing then', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      assert.doesNotMatch((await audit(['verify', '--data-dir', dataDir])).stdout, /lost|loss/);
      // The end cut off with its checkpoint rows: only the checkpoint file shows it, and the loss is accepted.
      tamper('DELETE FROM audit_log WHERE seq > 9; DELETE FROM audit_checkpoints');
      const accepted = await audit(['accept-loss', '--data-dir', dataDir, '--reason', 'disk failed, INC-4721']);
      assert.equal(accepted.code, 0, accepted.stderr);
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.match(v.stdout, /^Audit chain intact: 11 records, seq 1 to 11\.$/m);
      assert.match(
        v.stdout,
        /\nNOTE: records were lost from this log, and the loss was accepted \(countersign audit accept-loss\) once: it is intact as recorded, not whole\. Each acceptance, recorded in the log:\n {2}record 10, \S+, by compliance@test-host: "disk failed, INC-4721"\n {4}found then: the audit log ends at record 9, but the checkpoint of record 12 signed at \S+ \(in the checkpoint file .*audit-checkpoints\.jsonl\) reaches record 12: records 10 to 12 at least are missing/,
      );
    });

    it('names a checkpoint row whose signature was edited as forged, not as rows deleted', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      tamper("DROP TRIGGER IF EXISTS audit_checkpoints_no_update; UPDATE audit_checkpoints SET signature = 'AAAA' || substr(signature, 5) WHERE seq = 12");
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(v.code, 2, v.stdout);
      assert.match(v.stdout, /AUDIT LOG DAMAGED \(checkpoint, forged\): the checkpoint signed at .* \(from the checkpoint table\) for record 12 has a signature that does not match it/);
      assert.doesNotMatch(v.stdout, /\(checkpoint, missing\)|rows were deleted/);
      tamper('DELETE FROM audit_checkpoints WHERE seq = 12');
      const deleted = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(deleted.code, 2, deleted.stdout);
      assert.match(deleted.stdout, /\(checkpoint, missing\): the checkpoint table lost the checkpoint of record 12 that record 13 recorded: rows were deleted from it/);
      assert.doesNotMatch(deleted.stdout, /forged/);
    });

    it('signs nothing of a log its checkpoints show cut short: checkpoint refuses (exit 2), export writes what is left, says so and signs it into the manifest', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]); // of record 12; its own record is 13
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      await store.audit.append([anEvent('request.created', { request: requestRef('CS-LATER011') }), anEvent('request.created', { request: requestRef('CS-LATER012') })]);
      await store.close();
      // What the reviewer did: the end of the log cut off past the last checkpoint, the triggers put back.
      tamper(`DELETE FROM audit_log WHERE seq >= 11; CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`);
      const checkpointsBefore = readFileSync(checkpointFileOf(dataDir), 'utf8');
      const c = await audit(['checkpoint', '--data-dir', dataDir]);
      assert.equal(c.code, 2, c.stderr);
      assert.equal(c.stdout, '');
      assert.match(c.stderr, /^AUDIT LOG DAMAGED: the audit log ends at record 10, but the checkpoint of record 12 signed at .* \(in the checkpoint table\) reaches record 13: records 11 to 13 at least are missing \(the database was emptied, replaced or cut short\)\.\nAUDIT LOG DAMAGED: .* \(in the checkpoint file .*audit-checkpoints\.jsonl\) reaches record 12/);
      assert.match(c.stderr, /\nNothing was signed or recorded: run countersign audit verify, then restore the database from a backup, or record the loss with countersign audit accept-loss\.\n$/);
      assert.equal(readFileSync(checkpointFileOf(dataDir), 'utf8'), checkpointsBefore, 'no checkpoint written to the file');
      assert.equal((await records()).length, 10, 'nothing recorded');

      const out = path.join(tmp.dir, 'cut.jsonl');
      const e = await audit(['export', '--format', 'jsonl', '--out', out, '--data-dir', dataDir]);
      assert.equal(e.code, 2, e.stderr);
      assert.match(e.stderr, /Exported 10 audit records \(seq 1 to 10\)[\s\S]*\nAUDIT LOG DAMAGED: the audit log ends at record 10, but the checkpoint of record 12 .* reaches record 13: records 11 to 13 at least are missing .*\.\nAUDIT LOG DAMAGED: .*\nThe export holds what is left of the log, and its manifest says so \(audit verify --file reports it\); run countersign audit verify on the database\.\n$/);
      // Not recorded in the damaged log: a record there would take a lost one's seq, and the next
      // export would find the log rewritten, not cut short.
      assert.match(e.stderr, /This export is not recorded in the audit log: the log is damaged \(below\)/);
      assert.equal((await records()).length, 10, 'nothing appended to the damaged log');
      const again = await audit(['export', '--format', 'jsonl', '--out', path.join(tmp.dir, 'cut-2.jsonl'), '--data-dir', dataDir]);
      assert.match(again.stderr, /records 11 to 13 at least are missing/, 'the second export finds the same cut');
      const manifest = parseManifest(readFileSync(`${out}.manifest.json`, 'utf8'), 'm');
      assert.equal(manifest.logDamage?.length, 2, 'the table and the file each name the cut');
      assert.match(manifest.logDamage![0], /^the audit log ends at record 10, but the checkpoint of record 12/);
      const v = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(v.code, 2, v.stdout);
      assert.match(v.stdout, /\nExport intact as signed: 10 records, seq 1 to 10\.\nHead hash: [0-9a-f]{64}\nSHA-256: [0-9a-f]{64} \(as signed\)\nAUDIT LOG DAMAGED: its signed manifest records that the audit log it was exported from was not intact \(each finding says what the export holds\):\n  the audit log ends at record 10, but the checkpoint of record 12 .* records 11 to 13 at least are missing/);
      // Taken out of the manifest, the finding takes its signature with it.
      const { logDamage: _gone, ...without } = manifest;
      writeFileSync(`${out}.manifest.json`, JSON.stringify(without));
      const edited = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(edited.code, 2, edited.stdout);
      assert.match(edited.stdout, /EXPORT DAMAGED \(bad-signature\)/);
      writeFileSync(`${out}.manifest.json`, JSON.stringify({ ...manifest, logDamage: 'none' }));
      const shape = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(shape.code, 1, shape.stdout);
      assert.match(shape.stderr, /is not a manifest: logDamage is not a list of texts/);

      // The evidence of a request in it says the same (it did already): written, and exit 2.
      const ev = await audit(['evidence', 'req-1', '--out', path.join(tmp.dir, 'ev-cut'), '--data-dir', dataDir]);
      assert.equal(ev.code, 2, ev.stderr);
      assert.match(ev.stderr, /WARNING: verification found problems/);
    });

    it('signs nothing of a log whose chain is broken in the middle (a record deleted, edited or reordered): checkpoint names it as verify does, exit 2', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]); // of record 12; its own record is 13
      const original = readFileSync(databaseFile(dataDir));
      const cases: [string, RegExp][] = [
        ['DELETE FROM audit_log WHERE seq = 5', /AUDIT CHAIN DAMAGED \(deleted\) at record 5 \(missing; the record after the gap is id [^)]+\):\n {2}\S/],
        [`UPDATE audit_log SET record = replace(record, '"outcome":{"result":"ok"', '"outcome":{"result":"failed"') WHERE seq = 7`, /AUDIT CHAIN DAMAGED \(edited\) at record 7, id \S+:\n {2}\S/],
        ['UPDATE audit_log SET seq = -4 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = -4', /AUDIT CHAIN DAMAGED \(reordered\) at record 4, id \S+:\n  record 4 .* is out of order: it stands where record 3 should be/],
      ];
      for (const [sql, named] of cases) {
        writeFileSync(databaseFile(dataDir), original);
        tamper(sql);
        const v = await audit(['verify', '--data-dir', dataDir]);
        assert.equal(v.code, 2, v.stdout);
        const checkpointsBefore = readFileSync(checkpointFileOf(dataDir), 'utf8');
        const recordsBefore = (await records()).length;
        const c = await audit(['checkpoint', '--data-dir', dataDir]);
        assert.equal(c.code, 2, `${sql}: ${c.stderr}`);
        assert.equal(c.stdout, '');
        assert.match(c.stderr, named, `${sql}: ${c.stderr}`);
        assert.equal(c.stderr.match(/AUDIT CHAIN DAMAGED[^\n]*/)?.[0], v.stdout.match(/AUDIT CHAIN DAMAGED[^\n]*/)?.[0], 'named as audit verify names it');
        assert.match(c.stderr, /\nNothing was signed or recorded: run countersign audit verify, then restore the database from a backup, or record the loss with countersign audit accept-loss\.\n$/);
        assert.equal(readFileSync(checkpointFileOf(dataDir), 'utf8'), checkpointsBefore, 'no checkpoint written to the file');
        assert.equal((await records()).length, recordsBefore, 'nothing recorded');
      }
    });

    it('refuses to sign beside a checkpoint file only another key signed (the wrong data directory), as the bot\'s start does', async () => {
      const other = tempDir();
      try {
        const theirs = loadOrCreateSigningKey(other.dir);
        const head = (await records()).at(-1)!;
        writeFileSync(checkpointFileOf(dataDir), `${canonicalJson(signCheckpoint({ seq: head.seq, hash: head.hash }, timeAt(999), theirs))}\n`);
        for (const args of [['checkpoint'], ['export', '--format', 'jsonl', '--out', path.join(tmp.dir, 'x.jsonl')]]) {
          const r = await audit([...args, '--data-dir', dataDir]);
          assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
          assert.match(r.stderr, new RegExp(`audit-checkpoints\\.jsonl holds checkpoints signed with key ${theirs.keyId}, and .* holds key [0-9a-f]{16}: run it with the data directory of the Countersign installation that holds key ${theirs.keyId} .*Nothing was signed or recorded\\.`));
        }
        assert.equal(existsSync(path.join(tmp.dir, 'x.jsonl')), false);
        assert.equal((await records()).length, 12, 'nothing recorded');
      } finally {
        other.remove();
      }
    });

    it('writes no logDamage into the manifest of an intact log', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const out = path.join(tmp.dir, 'fine.jsonl');
      assert.equal((await audit(['export', '--format', 'jsonl', '--out', out, '--data-dir', dataDir])).code, 0);
      assert.equal('logDamage' in JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')), false);
      assert.equal((await audit(['checkpoint', '--data-dir', dataDir])).code, 0);
    });

    it('still catches it when the checkpoint table was emptied too, from the checkpoint file', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      tamper('DELETE FROM audit_log WHERE seq > 9; DELETE FROM audit_checkpoints;');
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(v.code, 2);
      assert.match(v.stdout, new RegExp(`truncated\\): .* \\(from ${checkpointFileOf(dataDir).replace(/[.\\/]/g, '\\$&')}\\) names record 12`));
      assert.match(v.stdout, /WARNING: the append-only protection of the checkpoint table is missing, disabled or changed \(triggers: audit_checkpoints_no_delete\)/);
    });

    it('still catches it when the local file was cut too, from a copy shipped elsewhere', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const shipped = path.join(tmp.dir, 'shipped-checkpoints.jsonl');
      copyFileSync(checkpointFileOf(dataDir), shipped);
      tamper('DELETE FROM audit_log WHERE seq > 9; DELETE FROM audit_checkpoints;');
      writeFileSync(checkpointFileOf(dataDir), '');
      const local = await audit(['verify', '--data-dir', dataDir]);
      assert.match(local.stdout, /Checkpoints: none yet/);
      const v = await audit(['verify', '--data-dir', dataDir, '--checkpoints', shipped]);
      assert.equal(v.code, 2);
      assert.match(v.stdout, /truncated\): .*shipped-checkpoints\.jsonl\) names record 12/);
    });

    it('says its checkpoints came from this host only: a log cut back to an earlier checkpoint shows only against a copy kept elsewhere', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]); // of record 12; its own record is 13
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      await store.audit.append([anEvent('request.created', { request: requestRef('CS-LATER001') })]);
      await store.close();
      await audit(['checkpoint', '--data-dir', dataDir]); // of record 14; its own record is 15
      const shipped = path.join(tmp.dir, 'shipped-checkpoints.jsonl');
      copyFileSync(checkpointFileOf(dataDir), shipped);
      // Without the key: the later checkpoint deleted from the table, the file and the chain, with the records after the first.
      const schema = new Database(databaseFile(dataDir));
      const triggers = schema.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN ('audit_log_no_delete', 'audit_log_no_update', 'audit_log_chain', 'audit_checkpoints_no_delete')").all() as { sql: string }[];
      schema.close();
      tamper(`DELETE FROM audit_log WHERE seq > 13; DELETE FROM audit_checkpoints WHERE seq > 12;\n${triggers.map((t) => `${t.sql};`).join('\n')}`);
      writeFileSync(checkpointFileOf(dataDir), `${readFileSync(checkpointFileOf(dataDir), 'utf8').split('\n')[0]}\n`);
      const local = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(local.code, 0, local.stdout);
      assert.match(local.stdout, /NOTE: the checkpoints checked are all copies this installation keeps \(its database, its data directory\); a log cut back to an earlier checkpoint is caught only against a copy kept elsewhere: countersign audit verify --checkpoints <file>\.\n/);
      const v = await audit(['verify', '--data-dir', dataDir, '--checkpoints', shipped]);
      assert.equal(v.code, 2, v.stdout);
      assert.match(v.stdout, /truncated\): .*shipped-checkpoints\.jsonl\) names record 14/);
      assert.doesNotMatch(v.stdout, /all copies this installation keeps/);
    });

    /** The data directory's key pair replaced by a new one (the key id of the new one). */
    function replaceKey(): string {
      const other = path.join(tmp.dir, `other-key-${Date.now()}`);
      const key = loadOrCreateSigningKey(other);
      for (const f of [PRIVATE_KEY_FILE, 'audit-signing-key.pub.pem']) copyFileSync(path.join(other, f), path.join(dataDir, f));
      return key.keyId;
    }

    it('does not pass a cut-off log whose checkpoints another key signed, and names both keys', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const signedWith = loadPublicKey(dataDir).keyId;
      const pem = path.join(tmp.dir, 'right.pub.pem');
      copyFileSync(path.join(dataDir, 'audit-signing-key.pub.pem'), pem);
      tamper('DELETE FROM audit_log WHERE seq > 9');
      const inUse = replaceKey();
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(v.code, 2, v.stdout);
      assert.doesNotMatch(v.stdout, /none yet/);
      assert.match(v.stdout, /; but its signed checkpoints were signed with another key than the one given, so they cannot vouch for it, and it is NOT shown intact: check it with the public key of the installation that wrote it/);
      assert.doesNotMatch(v.stdout, /show that the log was changed/, 'a wrong key is not taken for a changed log');
      assert.match(v.stdout, new RegExp(`AUDIT LOG DAMAGED \\(checkpoint, foreign\\): none of the checkpoints could be checked with the key in use \\(${inUse}\\): 1 checkpoint\\(s\\) signed with key ${signedWith}; .* reaches record 13`));
      assert.match(v.stdout, new RegExp(`The key in use is ${inUse} \\(the data directory's, in .*\\)\\. .*countersign audit verify --public-key <file>`));
      const wrongPem = path.join(tmp.dir, 'wrong.pub.pem');
      copyFileSync(path.join(dataDir, 'audit-signing-key.pub.pem'), wrongPem);
      const wrong = await audit(['verify', '--data-dir', dataDir, '--public-key', wrongPem]);
      assert.equal(wrong.code, 2);
      assert.match(wrong.stdout, /The key in use is [0-9a-f]{16} \(from --public-key .*wrong\.pub\.pem\)/);
      const right = await audit(['verify', '--data-dir', dataDir, '--public-key', pem]);
      assert.equal(right.code, 2);
      assert.match(right.stdout, /\(checkpoint, truncated\)/);
    });

    it("passes an earlier key's checkpoints that checkpoints of the key in use follow, noting them", async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const earlier = loadPublicKey(dataDir).keyId;
      const inUse = replaceKey();
      // A checkpoint of the new key is signed only through accept-loss --key-lost: a plain one is refused.
      const plain = await audit(['checkpoint', '--data-dir', dataDir]);
      assert.equal(plain.code, 1);
      assert.match(plain.stderr, new RegExp(`is signed with key ${earlier} \\(its latest checkpoint, of record 12\\), and .* holds key ${inUse}: run it with the data directory of the Countersign installation that holds key ${earlier} .*Nothing was signed or recorded\\.`));
      const lost = await audit(['accept-loss', '--data-dir', dataDir, '--key-lost', '--reason', 'the old key was lost with its host']);
      assert.equal(lost.code, 0, lost.stderr);
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(v.code, 0, v.stdout);
      assert.match(v.stdout, /Checkpoints: 1 checked \(3 copies\); .* names record 14\./);
      assert.match(v.stdout, new RegExp(`NOTE: 1 checkpoint\\(s\\) signed with key ${earlier}, up to record 13, were not checked: they are an earlier key's, followed by checkpoints of the key in use \\(${inUse}\\) up to record 15`));
    });

    it('does not pass a log rewritten and signed again with a new key: the shipped checkpoints of the old key contradict it', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const shipped = path.join(tmp.dir, 'shipped-checkpoints.jsonl');
      copyFileSync(checkpointFileOf(dataDir), shipped);
      const earlier = loadPublicKey(dataDir).keyId;
      // Without the private key: record 6 rewritten, every hash after it recomputed, the key pair replaced, a new checkpoint signed.
      const db = new Database(databaseFile(dataDir));
      const rows = db.prepare('SELECT seq, record FROM audit_log ORDER BY seq').all() as { seq: number; record: string }[];
      db.close();
      let prevHash: string | undefined;
      const updates: string[] = [];
      for (const row of rows) {
        const r = JSON.parse(row.record) as AuditRecord & Record<string, unknown>;
        if (row.seq === 6) r.actor = bob;
        if (prevHash) r.prevHash = prevHash;
        const { hash: _old, ...rest } = r;
        const hash = auditRecordHash(rest);
        prevHash = hash;
        const text = canonicalJson({ ...rest, hash }).replaceAll("'", "''");
        const actorId = r.actor?.aadObjectId ? `'${r.actor.aadObjectId}'` : 'NULL';
        updates.push(`UPDATE audit_log SET prev_hash = '${rest.prevHash}', hash = '${hash}', actor_id = ${actorId}, record = '${text}' WHERE seq = ${row.seq};`);
      }
      // The append-only triggers are put back after, so that nothing but the checkpoints can tell.
      const schema = new Database(databaseFile(dataDir));
      const triggers = schema.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('audit_log', 'audit_checkpoints')").all() as { name: string; sql: string }[];
      schema.close();
      const drop = triggers.map((t) => `DROP TRIGGER IF EXISTS ${t.name};`).join('\n');
      tamper(`${drop}\n${updates.join('\n')}\n${triggers.map((t) => `${t.sql};`).join('\n')}`);
      const inUse = replaceKey();
      await audit(['checkpoint', '--data-dir', dataDir]);
      const v = await audit(['verify', '--data-dir', dataDir, '--checkpoints', shipped]);
      assert.equal(v.code, 2, v.stdout);
      assert.doesNotMatch(v.stdout, /Audit chain intact/);
      assert.match(v.stdout, new RegExp(`AUDIT LOG DAMAGED \\(checkpoint, rewritten\\): record 12 is not the record .* signed with key ${earlier}, not the key in use \\(${inUse}\\)`));
      assert.match(v.stdout, /NOTE: the key in use is the data directory's own; whoever can change the log there can replace that key too/);
    });

    it('warns of a checkpoint trigger created again with a body that refuses nothing', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const db = new Database(databaseFile(dataDir));
      db.exec('DROP TRIGGER audit_checkpoints_no_delete; CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints BEGIN SELECT 1; END;');
      db.close();
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(v.code, 3, v.stdout);
      assert.match(v.stdout, /WARNING: the append-only protection of the checkpoint table is missing, disabled or changed \(triggers: audit_checkpoints_no_delete \(changed\)\)/);
    });

    it('makes no key for public-key in a data directory whose log another key signed', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const signedWith = loadPublicKey(dataDir).keyId;
      for (const f of [PRIVATE_KEY_FILE, 'audit-signing-key.pub.pem']) rmSync(path.join(dataDir, f));
      const pk = await audit(['public-key', '--data-dir', dataDir]);
      assert.equal(pk.code, 1);
      assert.match(pk.stderr, new RegExp(`holds no audit signing key \\(${PRIVATE_KEY_FILE}\\) or public key .*, and the audit database .* is signed with key ${signedWith}: run this with the data directory of the Countersign installation that holds it .*No key was created\\.`));
      assert.equal(existsSync(path.join(dataDir, PRIVATE_KEY_FILE)), false);
    });

    it('names a damaged public key file of the data directory as the reason its checkpoints went unchecked, and how to write it again', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const pub = path.join(dataDir, PUBLIC_KEY_FILE);
      writeFileSync(pub, 'garbage\n');
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(v.code, 1, v.stdout);
      // Not "no public key was given": there was one, damaged; the private key beside it can write it again.
      assert.match(v.stderr, new RegExp(`^error: each of the 1 checkpoint\\(s\\) found \\(3 copies\\) is checked with the audit public key, and the data directory's public key file ${pub.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be used \\(.* is not a PEM public key: .*\\): run countersign audit public-key --data-dir \\S+, which writes it again from the signing key, or pass --public-key <file> \\(print it with countersign audit public-key\\)`));
      assert.match(v.stdout, /NOTE: 1 checkpoint\(s\) were not checked: the data directory's public key file cannot be used/);
      const repaired = await audit(['public-key', '--data-dir', dataDir]);
      assert.equal(repaired.code, 0, repaired.stderr);
      const again = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
    });

    it('says which file was replaced when the public key file holds another key than the signing key that signed the checkpoints', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const own = loadPublicKey(dataDir).keyId;
      const other = loadOrCreateSigningKey(path.join(tmp.dir, 'other-key'));
      copyFileSync(path.join(tmp.dir, 'other-key', PUBLIC_KEY_FILE), path.join(dataDir, PUBLIC_KEY_FILE));
      const v = await audit(['verify', '--data-dir', dataDir]);
      // The verdict stands: the key in use cannot vouch for the checkpoints.
      assert.equal(v.code, 2, v.stdout);
      assert.match(v.stdout, /AUDIT LOG DAMAGED \(checkpoint, foreign\)/);
      assert.match(v.stdout, new RegExp(`NOTE: the data directory's signing key ${PRIVATE_KEY_FILE.replace(/\./g, '\\.')} is key ${own}, which signed these checkpoints, while its public key file ${PUBLIC_KEY_FILE.replace(/\./g, '\\.')} holds key ${other.keyId}: one of the two files was replaced\\.`));
      // Given a key, nothing is said of the data directory's files.
      const given = await audit(['verify', '--data-dir', dataDir, '--public-key', path.join(tmp.dir, 'other-key', PUBLIC_KEY_FILE)]);
      assert.doesNotMatch(given.stdout, /one of the two files was replaced/);
    });

    it('asks for the public key when there are checkpoints but no key to check them, counting checkpoints as the note does', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      await audit(['checkpoint', '--data-dir', dataDir]);
      for (const f of [PRIVATE_KEY_FILE, 'audit-signing-key.pub.pem']) rmSync(path.join(dataDir, f));
      const v = await audit(['verify'], { COUNTERSIGN_DATA_DIR: dataDir });
      assert.equal(v.code, 1);
      // Two checkpoints, each in the table, the file and a record: six copies.
      assert.match(v.stderr, /each of the 2 checkpoint\(s\) found \(6 copies\) is checked with the audit public key: pass --public-key <file>/);
      assert.match(v.stdout, /Checkpoints: none checked \(2 checkpoint\(s\) found, 6 copies\)\.\nNOTE: 2 checkpoint\(s\) were not checked: no public key was given/);
      rmSync(checkpointFileOf(dataDir));
      const dbOnly = await audit(['verify'], { COUNTERSIGN_DATA_DIR: dataDir });
      assert.match(dbOnly.stderr, /each of the 2 checkpoint\(s\) found \(4 copies\)/);
      assert.match(dbOnly.stdout, /Checkpoints: none checked \(2 checkpoint\(s\) found, 4 copies\)\.\nNOTE: 2 checkpoint\(s\) were not checked/);
      assert.doesNotMatch(v.stdout, /none yet/);
      tamper(`UPDATE audit_log SET record = replace(record, '"result":"ok"', '"result":"refused"') WHERE seq = 5`);
      const damaged = await audit(['verify'], { COUNTERSIGN_DATA_DIR: dataDir });
      assert.equal(damaged.code, 2, 'the damage found is reported as such all the same');
      assert.match(damaged.stdout, /AUDIT CHAIN DAMAGED \(edited\) at record 5/);
    });

    it('names a checkpoint path that is a directory, its own or one given', async () => {
      const given = path.join(tmp.dir, 'a-directory');
      mkdirSync(given);
      const v = await audit(['verify', '--data-dir', dataDir, '--checkpoints', given]);
      assert.equal(v.code, 1, v.stdout);
      assert.match(v.stderr, /^error: cannot read the checkpoint file .*a-directory: it is a directory, not a file/);
      const own = checkpointFileOf(dataDir);
      rmSync(own, { force: true });
      mkdirSync(own);
      try {
        const w = await audit(['verify', '--data-dir', dataDir]);
        assert.equal(w.code, 1, w.stdout);
        assert.match(w.stderr, /^error: cannot read the checkpoint file .*audit-checkpoints\.jsonl: it is a directory, not a file/);
      } finally {
        rmSync(own, { recursive: true, force: true });
      }
    });

    it('refuses a --checkpoints file that holds no checkpoints, naming it', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const notes = path.join(tmp.dir, 'README.md');
      writeFileSync(notes, '# Notes\n\nNot a checkpoint.\n');
      const v = await audit(['verify', '--data-dir', dataDir, '--checkpoints', notes]);
      assert.equal(v.code, 1, v.stdout);
      assert.match(v.stderr, /error: .*README\.md holds no checkpoints \(none of its 2 line\(s\) is a checkpoint\), so nothing was checked against it/);
      const empty = path.join(tmp.dir, 'empty.jsonl');
      writeFileSync(empty, '');
      assert.match((await audit(['verify', '--data-dir', dataDir, '--checkpoints', empty])).stderr, /empty\.jsonl holds no checkpoints \(it is empty\)/);
      const some = path.join(tmp.dir, 'some.jsonl');
      writeFileSync(some, `${readFileSync(checkpointFileOf(dataDir), 'utf8')}garbage\n`);
      const partly = await audit(['verify', '--data-dir', dataDir, '--checkpoints', some]);
      assert.equal(partly.code, 0, partly.stderr);
      assert.match(partly.stdout, /NOTE: line 2 of .*some\.jsonl is not a checkpoint and was skipped/);
      writeFileSync(some, `junk\n${readFileSync(checkpointFileOf(dataDir), 'utf8')}garbage\n`);
      assert.match((await audit(['verify', '--data-dir', dataDir, '--checkpoints', some])).stdout, /NOTE: lines 1, 3 of .*some\.jsonl are not checkpoints and were skipped/);
    });

    it('catches a log rewritten from the start into another valid chain', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const original = await records();
      const store = await openSqliteStore({ file: path.join(tmp.dir, 'forged.db') });
      for (const r of original.slice(0, 12)) await store.audit.append([{ ...r, outcome: { result: 'ok', detail: 'nothing happened' } }]);
      await store.close();
      copyFileSync(path.join(tmp.dir, 'forged.db'), databaseFile(dataDir));
      const v = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(v.code, 2);
      // The records hold together: the first line must not read as a pass.
      assert.doesNotMatch(v.stdout, /Audit chain intact/);
      assert.match(v.stdout, /Hash chain consistent \(each record links to the one before it\): 12 records, seq 1 to 12; but the signed checkpoints below show that the log was changed, so it is NOT intact\./);
      assert.match(v.stdout, /\(checkpoint, rewritten\): record 12 is not the record the checkpoint .* vouches for/);
    });
  });

  describe('evidence', () => {
    it("says what approvers were shown, keeps approvals held when the claim refused the request as a whole, and lists the request's other refusals", async () => {
      const id = 'CS-EVDD0007';
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      const v1 = aRequest(id, { risk: 'high', environment: 'production' });
      await store.requests.insert(v1, [anEvent('request.created', { request: requestRef(id), data: { expectationHash: 'e'.repeat(64), risk: 'high', environment: 'production' } })]);
      const v2 = { ...v1, version: 2, state: 'approved' as const, approvals: [{ approver: bob, at: timeAt(900), operationHash: v1.operationHash }] };
      await store.requests.update(v2, 1, [anEvent('approval.granted', { actor: bob, request: requestRef(id) }), anEvent('request.approved', { request: requestRef(id) })]);
      // Someone who may not see it probes its id (src/app/person-refusals.ts writes such a record).
      const mallory = { aadObjectId: '00000009-0000-4000-8000-000000000000', tenantId: bob.tenantId, name: 'Mallory' };
      await store.audit.append([anEvent('request.refused', { time: timeAt(950), actor: mallory, request: requestRef(id), outcome: { result: 'refused', reason: 'not-allowed-to-see', detail: `There is no request ${id} that you can see.` }, data: { command: 'status', readOnly: true, requestId: id } })]);
      const v3 = { ...v2, version: 3, state: 'failed' as const, outcomeDetail: 'Not executed: the policy changed after it was approved.' };
      await store.requests.update(v3, 2, [anEvent('approval.revoked', { actor: undefined, request: requestRef(id), outcome: { result: 'refused', reason: 'policy-tightened', detail: v3.outcomeDetail } })]);
      await store.close();

      const out = path.join(tmp.dir, 'bundle-whole');
      const r = await audit(['evidence', id, '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      const summary = readFileSync(path.join(out, 'SUMMARY.md'), 'utf8');
      assert.match(summary, /\nShown to approvers on its card: risk band high; environment production\.\n/);
      assert.match(summary, /\(record \d+\): held\n- the request as a whole was refused at .* \(approval\.revoked, record \d+, policy-tightened: Not executed: the policy changed after it was approved\.\): it refused the request, not any one approval, so none was withdrawn\.\n/);
      assert.doesNotMatch(summary, /withdrawn at/);
      assert.ok(summary.includes(`## Other refusals about this request\n- Mallory (${mallory.aadObjectId}) at ${timeAt(950)}: status refused (not-allowed-to-see)\n`), summary);
    });

    it('writes everything about one request, signed, and records the export', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      const v1 = aRequest('CS-EVDD0001', { whatIf: { status: 'Succeeded', changes: [{ resourceId: '/subscriptions/s/resourceGroups/rg-prod/providers/Microsoft.Web/sites/api', changeType: 'Modify', changedPaths: ['properties.httpsOnly'] }] } });
      await store.requests.insert(v1, [anEvent('request.created', { request: requestRef('CS-EVDD0001') })]);
      const v2 = { ...v1, version: 2, state: 'approved' as const, approvals: [{ approver: bob, at: timeAt(900), operationHash: v1.operationHash }] };
      await store.requests.update(v2, 1, [anEvent('approval.granted', { actor: bob, request: requestRef('CS-EVDD0001') }), anEvent('request.approved', { request: requestRef('CS-EVDD0001') })]);
      const v3 = {
        ...v2,
        version: 3,
        state: 'succeeded' as const,
        execution: { startedAt: timeAt(901), finishedAt: timeAt(960), ref: { correlationId: 'corr-9', pollUrl: 'https://management.azure.com/op/1?sig=SECRET', resumeState: '{"secret":1}', resourceIds: ['/subscriptions/s/resourceGroups/rg-prod/providers/Microsoft.Resources/deployments/countersign-CS-EVDD0001'] } },
      };
      await store.requests.update(v3, 2, [anEvent('execution.started', { request: requestRef('CS-EVDD0001') }), anEvent('execution.succeeded', { request: requestRef('CS-EVDD0001'), execution: { correlationId: 'corr-9', operationIds: ['op-1'], status: 'succeeded' } })]);
      await store.close();
      await audit(['checkpoint', '--data-dir', dataDir]);

      const out = path.join(tmp.dir, 'bundle');
      const r = await audit(['evidence', 'CS-EVDD0001', '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Evidence for CS-EVDD0001: 5 audit records, 3 card versions/);
      assert.deepEqual(readdirSync(path.join(out, 'cards')), ['v01-pending.json', 'v02-approved.json', 'v03-succeeded.json']);
      assert.match(readFileSync(path.join(out, 'cards', 'v01-pending.json'), 'utf8'), /PENDING APPROVAL/);
      assert.match(readFileSync(path.join(out, 'cards', 'v03-succeeded.json'), 'utf8'), /SUCCEEDED/);
      assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'what-if.json'), 'utf8')), v1.whatIf);
      const arm = JSON.parse(readFileSync(path.join(out, 'arm.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(arm.correlationIds, ['corr-9']);
      assert.deepEqual(arm.operationIds, ['op-1']);
      assert.equal(arm.pollUrl, 'https://management.azure.com/op/1');
      for (const f of readdirSync(out, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())) {
        assert.doesNotMatch(readFileSync(path.join(f.parentPath, f.name), 'utf8'), /SECRET|"secret"/, `${f.name} holds an operational secret`);
      }
      const verification = JSON.parse(readFileSync(path.join(out, 'verification.json'), 'utf8')) as { chain: { ok: boolean }; checkpoints: { checked: number }; events: { ok: boolean; count: number } };
      assert.equal(verification.chain.ok, true);
      assert.equal(verification.events.ok, true);
      assert.equal(verification.events.count, 5);
      assert.ok(verification.checkpoints.checked > 0);
      // Drawn from the approval.granted record, with what became of it.
      const granted = (await records()).find((x) => x.type === 'approval.granted' && x.request?.id === 'CS-EVDD0001');
      assert.ok(granted);
      assert.match(readFileSync(path.join(out, 'SUMMARY.md'), 'utf8'), new RegExp(`## Who approved\n- Bob Approver \\(${bob.aadObjectId}\\) at ${granted.time.replace(/\./g, '\\.')}, for operation hash ${v1.operationHash} \\(record ${granted.seq}\\): held\n`));

      const events = await audit(['verify', '--file', path.join(out, 'events.jsonl'), '--data-dir', dataDir]);
      assert.equal(events.code, 0, events.stdout);
      const bundle = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { files: Record<string, string>; signature: string; keyId: string };
      for (const [name, hash] of Object.entries(bundle.files)) assert.equal(sha256Hex(readFileSync(path.join(out, name), 'utf8')), hash, name);
      const { signature, ...body } = bundle;
      assert.equal(loadPublicKey(dataDir).verify('evidence', canonicalJson(body), signature), true);

      const exported = (await records()).filter((x) => x.type === 'audit.exported');
      assert.equal(exported.length, 1);
      assert.equal((exported[0].data as { via: string }).via, 'evidence');
      assert.equal((exported[0].data as { requestId: string }).requestId, 'CS-EVDD0001');
    });

    it('names each card file inside the bundle whatever version and state a stored request version holds (a database edited to name a path)', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      await store.requests.insert(aRequest('CS-EVDD0011'), [anEvent('request.created', { request: requestRef('CS-EVDD0011') })]);
      await store.close();
      // Edited by someone with write access to the database: a version added whose number names a path out of the bundle.
      const db = new Database(databaseFile(dataDir));
      db.prepare(`INSERT INTO request_versions (request_id, version, state, updated_at, body) SELECT request_id, 2, state, updated_at, json_set(body, '$.version', '/../../../../escaped') FROM request_versions WHERE request_id = 'CS-EVDD0011'`).run();
      db.close();
      const out = path.join(tmp.dir, 'deep', 'er', 'bundle');
      mkdirSync(path.dirname(out), { recursive: true });
      await audit(['evidence', 'CS-EVDD0011', '--out', out, '--data-dir', dataDir]);
      const written = readdirSync(tmp.dir, { recursive: true }).map(String).filter((f) => f.includes('escaped'));
      assert.deepEqual(written.map((f) => path.dirname(f)), [path.join('deep', 'er', 'bundle', 'cards')], 'the card is written in the bundle\'s cards folder, and nowhere else');
    });

    it('is still made for a request with a version Countersign cannot draw, its card file saying why', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      await store.requests.insert(aRequest('CS-EVDD0012'), [anEvent('request.created', { request: requestRef('CS-EVDD0012') })]);
      await store.close();
      // A version added in the database with a state Countersign never writes.
      const db = new Database(databaseFile(dataDir));
      db.prepare(`INSERT INTO request_versions (request_id, version, state, updated_at, body) SELECT request_id, 2, 'approved', updated_at, json_set(json_set(body, '$.version', 2), '$.state', 'bogus') FROM request_versions WHERE request_id = 'CS-EVDD0012'`).run();
      db.close();
      const out = path.join(tmp.dir, 'bundle-bogus');
      const r = await audit(['evidence', 'CS-EVDD0012', '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /NOT BACKED BY THE AUDIT CHAIN: version 2 \(bogus\) is not backed by the audit chain: its state "bogus" is not one Countersign writes/);
      assert.deepEqual(readdirSync(path.join(out, 'cards')), ['v01-pending.json', 'v02-bogus.json']);
      const note = (JSON.parse(readFileSync(path.join(out, 'cards', 'v02-bogus.json'), 'utf8')) as { note: string }).note;
      assert.match(note, /^Countersign could not draw the card of version 2 \(state "bogus"\): .*written into the database by other means; versions\.jsonl holds it as stored\.$/);
      const checked = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(checked.code, 2, 'the bundle records a version the chain does not back');
      assert.match(checked.stdout, /Evidence bundle intact: its \d+ files are as signed/, 'the bundle is signed as written');
    });

    it('marks a stored version the audit chain does not back (added in the database), and keeps those it backs as they are', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      const v1 = aRequest('CS-EVDD0013');
      await store.requests.insert(v1, [anEvent('request.created', { request: requestRef('CS-EVDD0013') })]);
      const v2 = { ...v1, version: 2, state: 'rejected' as const, updatedAt: timeAt(60), rejection: { by: bob, at: timeAt(60) } };
      await store.requests.update(v2, 1, [anEvent('request.rejected', { time: timeAt(60), actor: bob, request: requestRef('CS-EVDD0013') })]);
      await store.close();
      const genuine = await audit(['evidence', 'CS-EVDD0013', '--out', path.join(tmp.dir, 'genuine'), '--data-dir', dataDir]);
      assert.equal(genuine.code, 0, genuine.stderr);
      assert.doesNotMatch(genuine.stderr, /NOT BACKED/);
      assert.match(readFileSync(path.join(tmp.dir, 'genuine', 'SUMMARY.md'), 'utf8'), /Stored versions: each of the 2 is backed by this request's audit records\./);

      // Added by someone with write access to the database (the triggers refuse edits, not new rows): the
      // request approved by Mallory before its rejection, and a later version of it run with Bob's approval.
      const db = new Database(databaseFile(dataDir));
      const add = db.prepare(`INSERT INTO request_versions (request_id, version, state, updated_at, body) VALUES ('CS-EVDD0013', ?, ?, ?, ?)`);
      const mallory = { ...bob, name: 'Mallory [x](https://evil.example)', aadObjectId: 'mallory-oid' };
      const approved = { ...v1, version: 3, state: 'approved', updatedAt: timeAt(30), approvals: [{ approver: mallory, at: timeAt(30), operationHash: v1.operationHash }] };
      add.run(3, 'approved', approved.updatedAt, JSON.stringify(approved));
      const ran = { ...v1, version: 4, state: 'succeeded', updatedAt: timeAt(90), approvals: [{ approver: bob, at: timeAt(30), operationHash: v1.operationHash }] };
      add.run(4, 'succeeded', ran.updatedAt, JSON.stringify(ran));
      const edited = { ...v1, version: 5, state: 'pending', updatedAt: timeAt(95), parameters: { vm: 'db-01', resourceGroup: 'rg-prod' } };
      add.run(5, 'pending', edited.updatedAt, JSON.stringify(edited));
      db.close();

      const out = path.join(tmp.dir, 'forged');
      const r = await audit(['evidence', 'CS-EVDD0013', '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /NOT BACKED BY THE AUDIT CHAIN: version 3 \(approved\) is not backed by the audit chain: the audit log holds no approval by Mallory/);
      assert.match(r.stderr, /NOT BACKED BY THE AUDIT CHAIN: version 4 \(succeeded\) is not backed by the audit chain: the audit log holds no approval by Bob/);
      assert.match(r.stderr, /NOT BACKED BY THE AUDIT CHAIN: version 5 \(pending\) is not backed by the audit chain: its operation is not the one the request was created with/);
      assert.doesNotMatch(r.stderr, /version [12] /, 'the versions the chain backs are not marked');
      const verification = JSON.parse(readFileSync(path.join(out, 'verification.json'), 'utf8')) as { versions: { count: number; ok: boolean; problems: string[] } };
      assert.equal(verification.versions.count, 5);
      assert.equal(verification.versions.ok, false);
      assert.deepEqual(verification.versions.problems.map((p) => p.split(' ').slice(0, 2).join(' ')), ['version 3', 'version 4', 'version 5']);
      const summary = readFileSync(path.join(out, 'SUMMARY.md'), 'utf8');
      assert.match(summary, /Stored versions: NOT BACKED BY THE AUDIT CHAIN \(versions\.jsonl and cards\/ hold them as stored; they are not this request's history\): `version 3 \(approved\)/);
      assert.match(summary, /`version 3 \(approved\)[^`]*Mallory \[x\]\(https:\/\/evil\.example\)[^`]*`/, 'a name from the forged row is shown as itself, not as a live link');
      // The bundle is signed as written, and checking it says what it recorded.
      const checked = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(checked.code, 2, checked.stdout);
      assert.match(checked.stdout, /Stored versions: version 3 \(approved\) is not backed/);
    });

    it('marks a stored version whose risk band or environment is not the one its approvers were shown, as its request.created records them', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      const v1 = { ...aRequest('CS-EVDD0014'), risk: 'critical' as const, environment: 'production' };
      await store.requests.insert(v1, [anEvent('request.created', { request: requestRef('CS-EVDD0014'), data: { risk: 'critical', environment: 'production' } })]);
      await store.close();
      const genuine = await audit(['evidence', 'CS-EVDD0014', '--out', path.join(tmp.dir, 'shown'), '--data-dir', dataDir]);
      assert.equal(genuine.code, 0, genuine.stderr);
      // Added in the database: the same request, its card made to read as a low-risk change in staging.
      const db = new Database(databaseFile(dataDir));
      const milder = { ...v1, version: 2, updatedAt: timeAt(30), risk: 'low', environment: 'staging' };
      db.prepare(`INSERT INTO request_versions (request_id, version, state, updated_at, body) VALUES ('CS-EVDD0014', 2, 'pending', ?, ?)`).run(milder.updatedAt, JSON.stringify(milder));
      db.close();
      const out = path.join(tmp.dir, 'milder');
      const r = await audit(['evidence', 'CS-EVDD0014', '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /NOT BACKED BY THE AUDIT CHAIN: version 2 \(pending\) is not backed by the audit chain: its risk "low" is not the one its approvers were shown \("critical"\); its environment "staging" is not the one its approvers were shown \("production"\)/);
      const verification = JSON.parse(readFileSync(path.join(out, 'verification.json'), 'utf8')) as { versions: { problems: string[] } };
      assert.deepEqual(verification.versions.problems.map((p) => p.split(' ').slice(0, 2).join(' ')), ['version 2']);
    });

    it('marks the request\'s row when it was edited in the database, its saved versions intact, as audit verify does', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      const v1 = aRequest('CS-EVDD0015');
      await store.requests.insert(v1, [anEvent('request.created', { request: requestRef('CS-EVDD0015') })]);
      await store.close();
      const db = new Database(databaseFile(dataDir));
      db.prepare("UPDATE requests SET body = json_set(body, '$.reason', 'edited by hand') WHERE id = 'CS-EVDD0015'").run();
      db.close();

      const verified = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(verified.code, 2, verified.stdout);
      assert.match(verified.stdout, /CS-EVDD0015 row \(at version 1\): reason/);
      const out = path.join(tmp.dir, 'row-edited');
      const r = await audit(['evidence', 'CS-EVDD0015', '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /NOT BACKED BY THE AUDIT CHAIN: the request's row \(at version 1, pending\) is not backed by the audit chain: .*reason/);
      const verification = JSON.parse(readFileSync(path.join(out, 'verification.json'), 'utf8')) as { versions: { ok: boolean; problems: string[] } };
      assert.equal(verification.versions.ok, false);
      assert.match(readFileSync(path.join(out, 'SUMMARY.md'), 'utf8'), /the request's row \(at version 1, pending\)/);
    });

    it('reads no bundle file through a link out of its folder, nor a device or a pipe, and takes only regular files for --file, --manifest and --public-key', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      await store.requests.insert(aRequest('CS-EVDD0003'), [anEvent('request.created', { request: requestRef('CS-EVDD0003') })]);
      await store.close();
      const out = path.join(tmp.dir, 'bundle3');
      assert.equal((await audit(['evidence', 'CS-EVDD0003', '--out', out, '--data-dir', dataDir])).code, 0);
      // The same bytes, outside the folder, behind a link: what the link leads to is not the bundle's.
      const summary = path.join(out, 'SUMMARY.md');
      const outside = path.join(tmp.dir, 'SUMMARY-outside.md');
      writeFileSync(outside, readFileSync(summary));
      rmSync(summary);
      symlinkSync(outside, summary);
      // A device in place of a card (a link to /dev/zero, read without end, would fill the memory).
      const card = path.join(out, 'cards', 'v01-pending.json');
      rmSync(card);
      symlinkSync('/dev/null', card);
      const linked = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(linked.code, 2, linked.stdout + linked.stderr);
      assert.match(linked.stdout, /EVIDENCE BUNDLE DAMAGED:\n  cards\/v01-pending\.json is a character device, not a file, so it was not read\n  SUMMARY\.md is a link out of the bundle's folder \(to .*SUMMARY-outside\.md\), so it was not read\n/);
      // Its records: a link out of the folder is not read either.
      const events = path.join(out, 'events.jsonl');
      const eventsOutside = path.join(tmp.dir, 'events-outside.jsonl');
      writeFileSync(eventsOutside, readFileSync(events));
      rmSync(events);
      symlinkSync(eventsOutside, events);
      const records = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(records.code, 2, records.stdout + records.stderr);
      assert.match(records.stdout, /EVIDENCE BUNDLE DAMAGED: events\.jsonl is a link out of the bundle's folder \(to .*events-outside\.jsonl\), so its records were not checked\./);
      // An export, a manifest or a key that is not a regular file is refused before it is read.
      const exported = path.join(tmp.dir, 'SUMMARY-outside.md');
      for (const [args, said] of [
        [['--file', '/dev/null', '--no-manifest'], /^error: \/dev\/null is a character device, not a file: --file takes an export file/],
        [['--file', exported, '--manifest', '/dev/null'], /^error: cannot read the manifest \/dev\/null: it is a character device, not a file/],
        [['--file', exported, '--no-manifest', '--public-key', '/dev/null'], /^error: the public key \/dev\/null is a character device, not a file/],
      ] as const) {
        const r = await audit(['verify', ...args, '--data-dir', dataDir]);
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
        assert.match(r.stderr, said, args.join(' '));
      }
    });

    it('checks a bundle with verify --file <folder> (or its manifest.json): every file against the signed list, then its records', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      await store.requests.insert(aRequest('CS-EVDD0002'), [anEvent('request.created', { request: requestRef('CS-EVDD0002') })]);
      await store.close();
      const out = path.join(tmp.dir, 'bundle2');
      assert.equal((await audit(['evidence', 'CS-EVDD0002', '--out', out, '--data-dir', dataDir])).code, 0);
      const whole = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(whole.code, 0, whole.stdout + whole.stderr);
      assert.match(whole.stdout, new RegExp(`^Evidence bundle: ${out.replace(/[.]/g, '\\.')}, request CS-EVDD0002, made .* signed with key [0-9a-f]{16}\\.\nEvidence bundle intact: its 8 files are as signed\\.\nSource: .*events\\.jsonl[\\s\\S]*Export intact: 1 record,`));
      assert.equal((await audit(['verify', '--file', path.join(out, 'manifest.json'), '--data-dir', dataDir])).code, 0, 'its manifest.json names the bundle too');

      // What the reviewer did: the card and the summary edited, a file added. The records are untouched.
      const card = path.join(out, 'cards', 'v01-pending.json');
      writeFileSync(card, readFileSync(card, 'utf8').replace('Alice Requester', 'Mallory Outside'));
      writeFileSync(path.join(out, 'NOTE.md'), 'approved by the CAB');
      writeFileSync(path.join(out, 'constructor'), 'a name every object has');
      const edited = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(edited.code, 2, edited.stdout);
      assert.match(edited.stdout, /EVIDENCE BUNDLE DAMAGED:\n  cards\/v01-pending\.json was changed: its SHA-256 is not the one signed\n  NOTE\.md is not one of the bundle's files \(added since it was signed\)\n  constructor is not one of the bundle's files/);
      assert.match(edited.stdout, /Export intact: 1 record,/, 'the records are checked as well, and hold');

      // A manifest edited to match: its signature no longer does.
      const manifestFile = path.join(out, 'manifest.json');
      const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: Record<string, string> };
      m.files['cards/v01-pending.json'] = sha256Hex(readFileSync(card, 'utf8'));
      m.files['NOTE.md'] = sha256Hex('approved by the CAB');
      m.files['constructor' as string] = sha256Hex('a name every object has');
      writeFileSync(manifestFile, JSON.stringify(m));
      const forged = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(forged.code, 2);
      assert.match(forged.stdout, /EVIDENCE BUNDLE DAMAGED:\n  the manifest's signature does not match it: the manifest was edited\nSource:/);
      rmSync(path.join(out, 'events.jsonl'));
      assert.match((await audit(['verify', '--file', out, '--data-dir', dataDir])).stdout, /  events\.jsonl is missing/);

      // A folder that is no bundle, and export-only options on a bundle: input errors.
      const plain = await audit(['verify', '--file', path.join(out, 'cards'), '--data-dir', dataDir]);
      assert.equal(plain.code, 1);
      assert.match(plain.stderr, /cards is a folder: --file takes an export file, or an evidence bundle's folder \(one holding manifest\.json\)/);
      const asExport = await audit(['verify', '--file', out, '--format', 'csv', '--data-dir', dataDir]);
      assert.equal(asExport.code, 1);
      assert.match(asExport.stderr, /--format applies to an export file; .* is an evidence bundle, checked against its own manifest\.json/);
    });

    it('says a bundle made from a damaged log is as signed and attests a damaged log (exit 2), from its own verification.json', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      const request = aRequest('CS-EVDD0009');
      await store.requests.insert(request, [anEvent('request.created', { request: requestRef('CS-EVDD0009') })]);
      await store.requests.update({ ...request, version: 2, state: 'rejected' }, 1, [anEvent('request.rejected', { actor: bob, request: requestRef('CS-EVDD0009') })]);
      await store.audit.append([anEvent('request.created', { request: requestRef('CS-LATER009') })]);
      await store.close();
      const rejected = (await records()).find((x) => x.type === 'request.rejected')!;
      // What the reviewer did: the rejection deleted, the triggers dropped for it.
      tamper(`DELETE FROM audit_log WHERE seq = ${rejected.seq}`);
      const out = path.join(tmp.dir, 'b9');
      const made = await audit(['evidence', 'CS-EVDD0009', '--out', out, '--data-dir', dataDir]);
      assert.equal(made.code, 2, made.stderr);
      assert.match(made.stderr, /WARNING: verification found problems; see verification\.json/);
      const v = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(v.code, 2, v.stdout);
      assert.match(
        v.stdout,
        new RegExp(
          `Evidence bundle intact: its \\d+ files are as signed\\.\nAUDIT LOG DAMAGED: this bundle's signed verification\\.json records that the audit log it was made from was not intact when it was made, so the bundle may lack records of request CS-EVDD0009 \\(its events\\.jsonl holds only what was left\\):\n  Audit chain: DAMAGED: record ${rejected.seq} is missing \\(deleted\\)`,
        ),
      );
      assert.match(v.stdout, /Export intact: 1 record,[\s\S]*\nAUDIT LOG DAMAGED: this bundle attests an audit log that was not intact when it was made \(see above\): it may not be the whole record of request CS-EVDD0009\.\n$/, 'the records it holds are as signed');
      // An intact log's bundle says nothing of the kind.
      const fine = path.join(tmp.dir, 'b9-other');
      const other = await openSqliteStore({ file: databaseFile(dataDir) });
      await other.requests.insert(aRequest('CS-EVDD0010'), [anEvent('request.created', { request: requestRef('CS-EVDD0010') })]);
      await other.close();
      await audit(['evidence', 'CS-EVDD0010', '--out', fine, '--data-dir', dataDir]);
      writeFileSync(path.join(fine, 'verification.json'), readFileSync(path.join(out, 'verification.json')));
      const swapped = await audit(['verify', '--file', fine, '--data-dir', dataDir]);
      assert.equal(swapped.code, 2);
      assert.match(swapped.stdout, /verification\.json was changed: its SHA-256 is not the one signed/);
      assert.doesNotMatch(swapped.stdout, /AUDIT LOG DAMAGED/, 'a verification.json not as signed is not quoted');
    });

    it('hands out every record of a request or person when an index was made to leave some out, and verify, the bundle and its check say the index is damaged (exit 2)', async () => {
      await audit(['checkpoint', '--data-dir', dataDir]);
      const checkpoints = path.join(tmp.dir, 'shipped-checkpoints.jsonl');
      copyFileSync(checkpointFileOf(dataDir), checkpoints);
      const all = await records();
      const ofRequest = all.filter((x) => x.request?.id === 'req-1');
      const ofAlice = all.filter((x) => x.actor?.aadObjectId === alice.aadObjectId);
      const named = { requests: all.filter((x) => x.request).length, actors: all.filter((x) => x.actor).length };
      // What the reviewer did: a request's record and one of Alice's left out of the indexes, their definitions put back.
      indexesLeavingOut(databaseFile(dataDir), { request: [ofRequest[1].seq], actor: [ofAlice[2].seq] });

      const v = await audit(['verify', '--checkpoints', checkpoints, '--data-dir', dataDir]);
      assert.equal(v.code, 2, v.stdout);
      assert.match(v.stdout, /Audit chain intact: 13 records, seq 1 to 13\./);
      assert.match(v.stdout, new RegExp(`AUDIT LOG DAMAGED \\(index\\): the index audit_log_actor_folded holds ${named.actors - 1} entries for the ${named.actors} records that name an actor: 1 of them is missing from it`));
      assert.match(v.stdout, new RegExp(`AUDIT LOG DAMAGED \\(index\\): the index audit_log_request holds ${named.requests - 1} entries for the ${named.requests} records that name a request: 1 of them is missing from it, hidden from whatever reads one request's records through it\\. The records themselves are as verified; rebuild the index \\(REINDEX audit_log_request\\)`));

      const out = path.join(tmp.dir, 'bundle-idx');
      const made = await audit(['evidence', 'req-1', '--out', out, '--data-dir', dataDir]);
      assert.equal(made.code, 2, made.stderr);
      assert.match(made.stderr, new RegExp(`Evidence for req-1: ${ofRequest.length} audit records`));
      assert.deepEqual(readFileSync(path.join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as AuditRecord).seq), ofRequest.map((x) => x.seq));
      assert.match(readFileSync(path.join(out, 'SUMMARY.md'), 'utf8'), /Indexes of the audit log: DAMAGED: the index audit_log_actor_folded holds \d+ entries/);
      const checked = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(checked.code, 2, checked.stdout);
      assert.match(checked.stdout, /AUDIT LOG DAMAGED: this bundle's signed verification\.json records[^\n]*\n  Index: the index audit_log_actor_folded holds \d+ entries[^\n]*\n  Index: the index audit_log_request holds \d+ entries/);

      for (const [option, value, expected] of [['--request', 'req-1', ofRequest], ['--actor', alice.aadObjectId, ofAlice]] as const) {
        const exported = await audit(['export', '--format', 'jsonl', option, value, '--data-dir', dataDir]);
        assert.equal(exported.code, 0, exported.stderr);
        assert.deepEqual(exported.stdout.trim().split('\n').map((l) => (JSON.parse(l) as AuditRecord).seq), expected.map((x) => x.seq), `${option} exports every such record`);
      }
    });

    it('does not take another request\'s signed records in a bundle as its own', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      for (const id of ['CS-EVDD0004', 'CS-EVDD0005']) await store.requests.insert(aRequest(id), [anEvent('request.created', { request: requestRef(id) })]);
      await store.close();
      const [mine, theirs] = [path.join(tmp.dir, 'b4'), path.join(tmp.dir, 'b5')];
      assert.equal((await audit(['evidence', 'CS-EVDD0004', '--out', mine, '--data-dir', dataDir])).code, 0);
      assert.equal((await audit(['evidence', 'CS-EVDD0005', '--out', theirs, '--data-dir', dataDir])).code, 0);
      for (const f of ['events.jsonl', 'events.jsonl.manifest.json']) copyFileSync(path.join(theirs, f), path.join(mine, f));
      const swapped = await audit(['verify', '--file', mine, '--data-dir', dataDir]);
      assert.equal(swapped.code, 2, swapped.stdout);
      assert.match(swapped.stdout, /EVIDENCE BUNDLE DAMAGED:\n  events\.jsonl\.manifest\.json was changed: its SHA-256 is not the one signed\n[\s\S]*Export intact: 1 record,[\s\S]*EVIDENCE BUNDLE DAMAGED: events\.jsonl is the export of request CS-EVDD0005's records, not of request CS-EVDD0004's\.\n$/);
    });

    it('takes only the very records it was made with: not a filtered export of the request, nor an older bundle\'s', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      const r = aRequest('CS-EVDD0007');
      await store.requests.insert(r, [anEvent('request.created', { request: requestRef('CS-EVDD0007') })]);
      await store.close();
      const older = path.join(tmp.dir, 'b7-older');
      assert.equal((await audit(['evidence', 'CS-EVDD0007', '--out', older, '--data-dir', dataDir])).code, 0);
      const again = await openSqliteStore({ file: databaseFile(dataDir) });
      await again.requests.update({ ...r, version: 2, state: 'cancelled' }, 1, [anEvent('request.cancelled', { actor: alice, request: requestRef('CS-EVDD0007') })]);
      await again.close();
      const bundle = path.join(tmp.dir, 'b7');
      assert.equal((await audit(['evidence', 'CS-EVDD0007', '--out', bundle, '--data-dir', dataDir])).code, 0);
      assert.equal((await audit(['verify', '--file', bundle, '--data-dir', dataDir])).code, 0);

      // A signed export of the request's records of one type (leaving the cancel out), in their place.
      const filtered = path.join(tmp.dir, 'b7-filtered');
      mkdirSync(filtered);
      for (const f of readdirSync(bundle, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())) {
        const to = path.join(filtered, path.relative(bundle, path.join(f.parentPath, f.name)));
        mkdirSync(path.dirname(to), { recursive: true });
        copyFileSync(path.join(f.parentPath, f.name), to);
      }
      for (const f of ['events.jsonl', 'events.jsonl.manifest.json']) rmSync(path.join(filtered, f));
      const exported = await audit(['export', '--format', 'jsonl', '--request', 'CS-EVDD0007', '--type', 'request.created', '--out', path.join(filtered, 'events.jsonl'), '--data-dir', dataDir]);
      assert.equal(exported.code, 0, exported.stderr);
      const some = await audit(['verify', '--file', filtered, '--data-dir', dataDir]);
      assert.equal(some.code, 2, some.stdout);
      assert.match(some.stdout, /EVIDENCE BUNDLE DAMAGED:\n  events\.jsonl\.manifest\.json was changed: its SHA-256 is not the one signed\n/);
      assert.match(some.stdout, /EVIDENCE BUNDLE DAMAGED: events\.jsonl is an export of only some of request CS-EVDD0007's records \(filtered by types \["request\.created"\]\), not of all of them\.\n$/);

      // The older bundle's records of the same request, complete when it was made.
      for (const f of ['events.jsonl', 'events.jsonl.manifest.json']) copyFileSync(path.join(older, f), path.join(bundle, f));
      const stale = await audit(['verify', '--file', bundle, '--data-dir', dataDir]);
      assert.equal(stale.code, 2, stale.stdout);
      assert.match(stale.stdout, /EVIDENCE BUNDLE DAMAGED:\n  events\.jsonl\.manifest\.json was changed: its SHA-256 is not the one signed\n/);
    });

    it('checks a bundle made before its manifest listed its records\' manifest, saying what that leaves unchecked', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      await store.requests.insert(aRequest('CS-EVDD0008'), [anEvent('request.created', { request: requestRef('CS-EVDD0008') })]);
      await store.close();
      const out = path.join(tmp.dir, 'b8');
      assert.equal((await audit(['evidence', 'CS-EVDD0008', '--out', out, '--data-dir', dataDir])).code, 0);
      // As the earlier version signed it: every file but the records and their manifest.
      const manifestFile = path.join(out, 'manifest.json');
      const { signature: _old, ...body } = JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: Record<string, string>; signature: string };
      delete body.files['events.jsonl.manifest.json'];
      writeFileSync(manifestFile, JSON.stringify({ ...body, signature: loadOrCreateSigningKey(dataDir).sign('evidence', canonicalJson(body)) }));
      const r = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /Evidence bundle intact: its 7 files are as signed\.\n[\s\S]*Note: this bundle's manifest does not list events\.jsonl\.manifest\.json \(it was made by a Countersign before 2026-12-06\), so its records are tied to it only by the request they name/);
    });

    it('takes the request id as people type it in chat, as the export does', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      const request = aRequest('CS-PYRTN13S');
      await store.requests.insert(request, [anEvent('request.created', { request: requestRef('CS-PYRTN13S') })]);
      await store.close();
      // What an evidence run killed while writing this folder left: removed, and said.
      const gone = spawnSync(process.execPath, ['-e', '']).pid!;
      const left = path.join(tmp.dir, `evidence-CS-PYRTN13S.partial-${gone}`);
      mkdirSync(path.join(left, 'cards'), { recursive: true });
      const r = await audit(['evidence', 'cs-pyrtnl3s.', '--data-dir', dataDir], {}, tmp.dir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`^Removed ${left.replace(/[.]/g, '\\.')}, left by an earlier command that did not finish\\.\n`));
      assert.ok(!existsSync(left));
      assert.match(r.stderr, /Evidence for CS-PYRTN13S: 1 audit record, 1 card version, written to .*evidence-CS-PYRTN13S\./);
      const e = await audit(['export', '--format', 'jsonl', '--request', 'cs-pyrtn13s', '--data-dir', dataDir]);
      assert.equal(e.code, 0, e.stderr);
      const lines = e.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
      assert.deepEqual(lines.map((x) => [x.type, x.request?.id]), [['request.created', 'CS-PYRTN13S']]);
    });

    it('keeps a bundle recorded by a run killed before it was moved into place, and leaves one this database did not record', async () => {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      await store.requests.insert(aRequest('CS-EVDD0006'), [anEvent('request.created', { request: requestRef('CS-EVDD0006') })]);
      await store.close();
      const first = path.join(tmp.dir, 'first');
      assert.equal((await audit(['evidence', 'CS-EVDD0006', '--out', first, '--data-dir', dataDir])).code, 0);
      const exportId = (JSON.parse(readFileSync(path.join(first, 'events.jsonl.manifest.json'), 'utf8')) as { exportId: string }).exportId;
      // What a run killed between its audit.exported record and the move leaves, and one killed just before its record.
      const target = path.join(tmp.dir, 'bundle');
      const gone = spawnSync(process.execPath, ['-e', '']).pid!;
      renameSync(first, `${target}.partial-${gone}.${exportId}`);
      const unrecorded = `${target}.partial-${gone}.019a0000-0000-7000-8000-000000000000`;
      mkdirSync(path.join(unrecorded, 'cards'), { recursive: true });
      const r = await audit(['evidence', 'CS-EVDD0006', '--out', target, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      const kept = `${target}.recorded-${exportId}`;
      assert.ok(r.stderr.includes(`Kept ${kept}: an earlier evidence run, recorded as ${exportId}, was stopped before it was moved to ${target}.\n`), r.stderr);
      assert.ok(r.stderr.includes(`Left ${unrecorded} as it is: it is a complete evidence bundle naming 019a0000-0000-7000-8000-000000000000, which this database has no record of`), r.stderr);
      assert.ok(existsSync(unrecorded), 'not removed on this database\'s word');
      const v = await audit(['verify', '--file', kept, '--data-dir', dataDir]);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      assert.ok(existsSync(path.join(target, 'manifest.json')));
    });

    it('refuses a request nobody asked for, and an output folder that exists', async () => {
      const none = await audit(['evidence', 'CS-NOPE', '--out', path.join(tmp.dir, 'x'), '--data-dir', dataDir]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /there is no request CS-NOPE and no audit record names it/);
      const garbage = await audit(['evidence', 'garbage!', '--out', path.join(tmp.dir, 'x'), '--data-dir', dataDir]);
      assert.match(garbage.stderr, /there is no request "garbage!" and no audit record names it/);
      // An export of such a request would be empty, signed and recorded: refused instead, nothing recorded.
      const before = await audit(['export', '--format', 'jsonl', '--type', 'audit.exported', '--data-dir', dataDir]);
      for (const typo of ['CS-ZZZZZZZZ', 'garbage!']) {
        const e = await audit(['export', '--format', 'jsonl', '--request', typo, '--data-dir', dataDir]);
        assert.equal(e.code, 1, e.stdout);
        assert.match(e.stderr, new RegExp(`there is no request ${typo === 'garbage!' ? '"garbage!"' : typo} and no audit record names it: nothing was exported or recorded`));
        assert.equal(e.stdout, '');
      }
      const after = await audit(['export', '--format', 'jsonl', '--type', 'audit.exported', '--data-dir', dataDir]);
      const count = (out: string) => out.split('\n').filter(Boolean).length;
      assert.equal(count(after.stdout), count(before.stdout) + 1, 'only the checking export itself was recorded in between');
      assert.equal(existsSync(path.join(tmp.dir, 'x')), false);
      const taken = await audit(['evidence', 'req-1', '--out', tmp.dir, '--data-dir', dataDir]);
      assert.equal(taken.code, 1);
      assert.match(taken.stderr, /already exists: choose another --out/);
    });
  });
});
