/**
 * Where `countersign audit export` writes. It used to overwrite any file without a word, and so could
 * replace the live audit database (verify then found "database disk image is malformed") or the
 * signed checkpoint file with an export. Now a file that exists is replaced only with --force, and
 * the data directory's own files never, whatever path or link leads to them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkpointFileOf } from '../../src/audit/access/checkpoints';
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from '../../src/audit/access/signing';
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { anEvent, requestRef, tempDir, timeAt } from '../store/fixtures';
import { audit } from './run-audit';

describe('countersign audit export: the files it may write', function () {
  this.timeout(20000);
  let tmp: ReturnType<typeof tempDir>;
  let dataDir: string;
  let own: Record<string, Buffer>;

  beforeEach(async () => {
    tmp = tempDir();
    dataDir = path.join(tmp.dir, 'data');
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    for (let i = 0; i < 5; i++) await store.audit.append([anEvent('request.created', { time: timeAt(i * 60), request: requestRef(`req-${i}`) })]);
    await store.close();
    assert.equal((await audit(['checkpoint', '--data-dir', dataDir])).code, 0);
    own = ownFiles();
  });
  afterEach(() => tmp.remove());

  /** The data directory's files as they are now: the database, the checkpoint file, both keys. */
  function ownFiles(): Record<string, Buffer> {
    return Object.fromEntries(readdirSync(dataDir).map((f) => [f, readFileSync(path.join(dataDir, f))]));
  }

  /** The database still verifies, with the records it had (a refused export records nothing). */
  async function assertTrailIntact(records: number): Promise<void> {
    const v = await audit(['verify', '--data-dir', dataDir]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, new RegExp(`Audit chain intact: ${records} records`));
  }

  const exportTo = (...args: string[]) => audit(['export', '--format', 'jsonl', '--data-dir', dataDir, ...args]);
  // The checkpoint written in beforeEach is record 6.
  const RECORDS = 6;

  describe('an --out or manifest file that exists', () => {
    it('refuses a named pipe (or a device) even with --force: it would be replaced by a regular file holding the records', async () => {
    const fifo = path.join(tmp.dir, 'pipe');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const r = await audit(['export', '--format', 'jsonl', '--out', fifo, '--force', '--data-dir', dataDir]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /--out .*pipe is a named pipe \(FIFO\), not a regular file: .*not even with --force/);
    assert.ok(lstatSync(fifo).isFIFO(), 'the pipe is still there');
  });

  it('refuses to replace the --out file, naming it and --force, and exports and records nothing', async () => {
      const out = path.join(tmp.dir, 'audit.jsonl');
      writeFileSync(out, 'the auditor\'s notes\n');
      const r = await exportTo('--out', out);
      assert.equal(r.code, 1, 'bad input, as a directory that does not exist');
      assert.equal(r.stderr, `error: --out ${out} already exists: pass --force to replace it, or choose another --out\n`);
      assert.equal(readFileSync(out, 'utf8'), 'the auditor\'s notes\n');
      assert.deepEqual(readdirSync(tmp.dir).sort(), ['audit.jsonl', 'data']);
      await assertTrailIntact(RECORDS);
    });

    it('refuses when only the manifest beside it exists, and writes neither', async () => {
      const out = path.join(tmp.dir, 'audit.jsonl');
      writeFileSync(`${out}.manifest.json`, '{}');
      const r = await exportTo('--out', out);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `error: the manifest ${out}.manifest.json already exists: pass --force to replace it, or name another with --manifest\n`);
      assert.deepEqual(readdirSync(tmp.dir).sort(), ['audit.jsonl.manifest.json', 'data']);
      const named = await exportTo('--out', out, '--manifest', path.join(tmp.dir, 'audit.jsonl.manifest.json'));
      assert.match(named.stderr, /^error: --manifest .*audit\.jsonl\.manifest\.json already exists: pass --force to replace it, or choose another --manifest\n$/);
    });

    it('counts a link to nowhere as a file that exists', async () => {
      const out = path.join(tmp.dir, 'audit.jsonl');
      symlinkSync(path.join(tmp.dir, 'nowhere.jsonl'), out);
      const r = await exportTo('--out', out);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /already exists: pass --force/);
    });

    it('replaces both with --force, and the new export verifies against its new manifest', async () => {
      const out = path.join(tmp.dir, 'audit.jsonl');
      writeFileSync(out, 'old\n');
      writeFileSync(`${out}.manifest.json`, '{}');
      const r = await exportTo('--out', out, '--force');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, RECORDS);
      const v = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      assert.deepEqual(readdirSync(tmp.dir).sort(), ['audit.jsonl', 'audit.jsonl.manifest.json', 'data'], 'no temporary file is left');
    });

    it('removes what an export killed while writing to the same --out left, and says so', async () => {
      const out = path.join(tmp.dir, 'audit.jsonl');
      const gone = spawnSync(process.execPath, ['-e', '']).pid!;
      writeFileSync(`${out}.partial-${gone}`, 'half an export');
      writeFileSync(`${out}.manifest.json.partial-${gone}`, '{');
      const r = await exportTo('--out', out);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`^Removed ${out}\\.partial-${gone}, left by an earlier export that did not finish\\.\nRemoved ${out}\\.manifest\\.json\\.partial-${gone}, `));
      assert.deepEqual(readdirSync(tmp.dir).sort(), ['audit.jsonl', 'audit.jsonl.manifest.json', 'data']);
    });

    it('keeps an export killed after it was recorded but before it was moved, with its manifest, and leaves one this database did not record', async () => {
      const first = path.join(tmp.dir, 'first.jsonl');
      assert.equal((await exportTo('--out', first)).code, 0);
      const exportId = (JSON.parse(readFileSync(`${first}.manifest.json`, 'utf8')) as { exportId: string }).exportId;
      // What a process killed between the audit.exported record and the move leaves: the whole
      // file, named after its record; and one killed just before its record, under an id never recorded.
      const out = path.join(tmp.dir, 'audit.jsonl');
      const gone = spawnSync(process.execPath, ['-e', '']).pid!;
      renameSync(first, `${out}.partial-${gone}.${exportId}`);
      rmSync(`${first}.manifest.json`);
      const unrecorded = '019a0000-0000-7000-8000-000000000000';
      writeFileSync(`${out}.partial-${gone}.${unrecorded}`, 'an export never recorded');
      const r = await exportTo('--out', out);
      assert.equal(r.code, 0, r.stderr);
      const kept = `${out}.recorded-${exportId}`;
      assert.match(r.stderr, new RegExp(`Kept ${kept.replace(/[.]/g, '\\.')}: an earlier export, recorded as ${exportId}, was stopped before it was moved to ${out.replace(/[.]/g, '\\.')}; its signed manifest \\(from its audit\\.exported record\\) is ${kept.replace(/[.]/g, '\\.')}\\.manifest\\.json\\.\n`));
      // Not recorded in this database (another data directory's, or killed just before its record): left, and said.
      assert.ok(r.stderr.includes(`Left ${out}.partial-${gone}.${unrecorded} as it is: it is a complete export naming ${unrecorded}, which this database has no record of`), r.stderr);
      assert.deepEqual(readdirSync(tmp.dir).sort(), ['audit.jsonl', 'audit.jsonl.manifest.json', `audit.jsonl.partial-${gone}.${unrecorded}`, `audit.jsonl.recorded-${exportId}`, `audit.jsonl.recorded-${exportId}.manifest.json`, 'data']);
      const v = await audit(['verify', '--file', kept, '--data-dir', dataDir]);
      assert.equal(v.code, 0, v.stdout + v.stderr);
    });

    it('with --force replaces a link standing at --out, and leaves the file it pointed to as it was', async () => {
      const kept = path.join(tmp.dir, 'kept.jsonl');
      writeFileSync(kept, 'kept\n');
      const out = path.join(tmp.dir, 'audit.jsonl');
      symlinkSync(kept, out);
      symlinkSync(kept, `${out}.manifest.json`);
      assert.equal((await exportTo('--out', out, '--force')).code, 0);
      assert.equal(readFileSync(kept, 'utf8'), 'kept\n');
      assert.equal((await audit(['verify', '--file', out, '--data-dir', dataDir])).code, 0);
    });

    it('refuses --out and --manifest naming one file, and a directory', async () => {
      const out = path.join(tmp.dir, 'audit.jsonl');
      const same = await exportTo('--out', out, '--manifest', out, '--force');
      assert.equal(same.code, 1);
      assert.equal(same.stderr, `error: --manifest ${out} is the same file as --out ${out}: choose another --manifest\n`);
      const dir = await exportTo('--out', tmp.dir, '--force');
      assert.equal(dir.code, 1);
      assert.equal(dir.stderr, `error: --out ${tmp.dir} is a directory, not a file: choose another --out\n`);
    });
  });

  describe("the data directory's own files", () => {
    it('never replaces the audit database, not even with --force (the reported case)', async () => {
      const db = databaseFile(dataDir);
      for (const force of [[], ['--force']]) {
        const r = await exportTo('--out', db, ...force);
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr,
          `error: --out ${db} is the audit database of the data directory ${dataDir}: an export never writes over the data directory's own files, not even with --force; choose another --out\n`,
        );
      }
      assert.deepEqual(ownFiles(), own);
      await assertTrailIntact(RECORDS);
    });

    it('never replaces the checkpoint file or the signing keys, as --out or as the manifest', async () => {
      const cases: [string[], RegExp][] = [
        [['--out', checkpointFileOf(dataDir)], /--out .* is the signed checkpoint file of the data directory/],
        [['--out', path.join(tmp.dir, 'a.jsonl'), '--manifest', path.join(dataDir, PRIVATE_KEY_FILE)], /--manifest .* is the audit signing key of/],
        [['--out', path.join(tmp.dir, 'b.jsonl'), '--manifest', path.join(dataDir, PUBLIC_KEY_FILE)], /--manifest .* is the audit public key of/],
        // The manifest beside it would be countersign.db.manifest.json, no file of the store's: --out is what is refused.
        [['--out', path.join(dataDir, 'countersign.db-journal')], /--out .* is the audit database's rollback journal of/],
      ];
      for (const [args, refusal] of cases) {
        const r = await exportTo(...args, '--force');
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.stderr, refusal);
        assert.match(r.stderr, /not even with --force/);
      }
      assert.deepEqual(ownFiles(), own);
      assert.deepEqual(readdirSync(tmp.dir).sort(), ['data']);
      await assertTrailIntact(RECORDS);
    });

    it("never replaces the write-ahead log or shared-memory index of a running bot's database", async () => {
      const running = await openSqliteStore({ file: databaseFile(dataDir) });
      try {
        await running.audit.append([anEvent('request.created', { time: timeAt(999) })]);
        for (const suffix of ['-wal', '-shm']) {
          const r = await exportTo('--out', `${databaseFile(dataDir)}${suffix}`, '--force');
          assert.equal(r.code, 1);
          assert.match(r.stderr, suffix === '-wal' ? /is the audit database's write-ahead log of/ : /is the audit database's shared-memory index of/);
        }
      } finally {
        await running.close();
      }
      await assertTrailIntact(RECORDS + 1);
    });

    it('sees through a relative path, a link to the file, a link to the directory and a hard link', async () => {
      const db = databaseFile(dataDir);
      symlinkSync(db, path.join(tmp.dir, 'db-link'));
      symlinkSync(dataDir, path.join(tmp.dir, 'data-link'));
      linkSync(checkpointFileOf(dataDir), path.join(tmp.dir, 'checkpoints-copy.jsonl'));
      mkdirSync(path.join(tmp.dir, 'elsewhere'));
      // Not there yet, through a link: the -wal of a stopped bot.
      symlinkSync(`${db}-wal`, path.join(tmp.dir, 'wal-link'));
      const ways: [string, string, RegExp][] = [
        [path.join(tmp.dir, 'elsewhere'), '../data/countersign.db', /is the audit database of/],
        [tmp.dir, 'db-link', /is the audit database of .* \(.*countersign\.db\)/],
        [tmp.dir, 'data-link/audit-checkpoints.jsonl', /is the signed checkpoint file of/],
        [tmp.dir, 'checkpoints-copy.jsonl', /is the signed checkpoint file of/],
        [tmp.dir, 'wal-link', /is the audit database's write-ahead log of/],
      ];
      for (const [cwd, out, refusal] of ways) {
        const r = await audit(['export', '--format', 'jsonl', '--out', out, '--force', '--data-dir', dataDir], {}, cwd);
        assert.equal(r.code, 1, out);
        assert.match(r.stderr, refusal, out);
      }
      assert.deepEqual(ownFiles(), own);
      await assertTrailIntact(RECORDS);
    });

    it('still writes an export of another name into the data directory', async () => {
      const out = path.join(dataDir, 'audit-2026.jsonl');
      const r = await exportTo('--out', out);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await audit(['verify', '--file', out, '--data-dir', dataDir])).code, 0);
    });
  });
});
