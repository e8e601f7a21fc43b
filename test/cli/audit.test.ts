import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import type { AuditRecord } from '../../src/domain/audit';
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { anEvent, requestRef, tempDir, timeAt } from '../store/fixtures';
import { audit } from './run-audit';

describe('countersign audit', function () {
  let tmp: ReturnType<typeof tempDir>;
  let dataDir: string;
  let records: AuditRecord[];

  beforeEach(async () => {
    tmp = tempDir();
    dataDir = path.join(tmp.dir, 'data');
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    records = [];
    for (let i = 0; i < 12; i++) {
      records.push(...(await store.audit.append([anEvent('request.created', { time: timeAt(i * 60), request: requestRef(`req-${i}`) })])));
    }
    await store.close();
  });
  afterEach(() => tmp.remove());

  /** Read-only storage as even root sees it: the -shm file cannot be created (a link to nowhere is in the way). */
  function cannotCreateShm(dir: string): void {
    symlinkSync(path.join(tmp.dir, 'no', 'such', 'dir', 'shm'), `${databaseFile(dir)}-shm`);
  }

  function tamper(sql: string): void {
    const db = new Database(databaseFile(dataDir));
    db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_chain;');
    db.exec(sql);
    db.close();
  }

  describe('verify', () => {
    it('reports an intact chain with its record count and head hash', async () => {
      const r = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Audit chain intact: 12 records, seq 1 to 12\./);
      assert.match(r.stdout, new RegExp(`Head hash: ${records[11].hash}`));
    });

    it('exits 2 on damage and names the first bad record', async () => {
      tamper(`UPDATE audit_log SET record = json_set(record, '$.outcome.result', 'refused') WHERE seq = 5`);
      const r = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(r.code, 2);
      assert.match(r.stdout, new RegExp(`AUDIT CHAIN DAMAGED \\(edited\\) at record 5, id ${records[4].id}:`));
      assert.match(r.stdout, /was altered after it was written/);
      assert.match(r.stdout, /Records before it are intact: 4 records, seq 1 to 4/);
    });

    it('exits 3 when the chain is intact but its append-only protection was removed', async () => {
      tamper('SELECT 1');
      const r = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(r.code, 3);
      assert.match(r.stdout, /Audit chain intact/);
      assert.match(r.stdout, /WARNING: the append-only protection of the audit log is missing or disabled \(triggers: audit_log_no_update, audit_log_no_delete, audit_log_chain\): someone changed the database schema by hand/);
    });

    it('finds the database through COUNTERSIGN_DATA_DIR, then ./data', async () => {
      assert.equal((await audit(['verify'], { COUNTERSIGN_DATA_DIR: dataDir })).code, 0);
      assert.equal((await audit(['verify'], {}, tmp.dir)).code, 0);
    });

    it('says which database is missing and where the path came from', async () => {
      const missing = path.join(tmp.dir, 'nowhere');
      const r = await audit(['verify', '--data-dir', missing]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `error: no Countersign database at ${path.join(missing, 'countersign.db')} (data directory from --data-dir); check that path: a data directory holds countersign.db once Countersign has started there\n`);
      const viaEnv = await audit(['verify'], { COUNTERSIGN_DATA_DIR: missing });
      assert.match(viaEnv.stderr, /data directory from COUNTERSIGN_DATA_DIR\); pass --data-dir <dir>, the directory Countersign runs with \(COUNTERSIGN_DATA_DIR\)\n$/);
    });

    it('says so when the file is not a Countersign database', async () => {
      const textDir = path.join(tmp.dir, 'text');
      mkdirSync(textDir);
      writeFileSync(databaseFile(textDir), 'this is a text file that someone named countersign.db by mistake, long enough');
      const text = await audit(['verify', '--data-dir', textDir]);
      assert.equal(text.code, 1);
      assert.match(text.stderr, /countersign\.db is not a SQLite database/);

      const otherDir = path.join(tmp.dir, 'other');
      mkdirSync(otherDir);
      new Database(databaseFile(otherDir)).exec('CREATE TABLE unrelated (x)').close();
      const other = await audit(['export', '--format', 'jsonl', '--data-dir', otherDir]);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /countersign\.db is not a Countersign database: it has no audit_log table/);
      for (const dir of [otherDir, textDir]) {
        const key = await audit(['public-key', '--data-dir', dir]);
        assert.equal(key.code, 1, key.stderr);
        assert.match(key.stderr, /countersign\.db is not a (Countersign|SQLite) database/);
        assert.deepEqual(readdirSync(dir), ['countersign.db'], 'no signing key is created beside a database that is not Countersign\'s');
      }
    });

    it('verifies a database on read-only storage, where no -shm file can be created', async () => {
      cannotCreateShm(dataDir);
      const r = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Audit chain intact: 12 records/);
    });

    it('says why it cannot read a database whose write-ahead log holds changes on read-only storage', async () => {
      const copy = path.join(tmp.dir, 'copy');
      mkdirSync(copy);
      const live = await openSqliteStore({ file: databaseFile(dataDir) });
      await live.audit.append([anEvent('request.created', { time: timeAt(9999) })]);
      for (const f of ['', '-wal']) writeFileSync(`${databaseFile(copy)}${f}`, readFileSync(`${databaseFile(dataDir)}${f}`));
      await live.close();
      cannotCreateShm(copy);
      const r = await audit(['verify', '--data-dir', copy]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: cannot read .*countersign\.db \(SQLITE_CANTOPEN\): its write-ahead log .*countersign\.db-wal holds changes, .*verify a copy of the data directory, with its -wal file, on writable storage/);
      assert.doesNotMatch(r.stderr, /write access/);
    });

    it('verifies an exported JSON Lines file, and names a record edited in it', async () => {
      const file = path.join(tmp.dir, 'audit.jsonl');
      assert.equal((await audit(['export', '--format', 'jsonl', '--out', file, '--data-dir', dataDir])).code, 0);
      const ok = await audit(['verify', '--file', file, '--data-dir', dataDir]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /12 records/);
      const asCsv = await audit(['verify', '--file', file, '--format', 'csv', '--data-dir', dataDir]);
      assert.equal(asCsv.code, 0, asCsv.stdout + asCsv.stderr);
      assert.match(asCsv.stdout, /NOTE: --format csv was given, but the manifest signed these very bytes as jsonl: they were read as jsonl\./);
      const lines = readFileSync(file, 'utf8').split('\n');
      lines[6] = lines[6].replace('req-6', 'req-666');
      writeFileSync(file, lines.join('\n'));
      const bad = await audit(['verify', '--file', file, '--data-dir', dataDir]);
      assert.equal(bad.code, 2);
      assert.match(bad.stdout, new RegExp(`\\(edited\\) at record 7, id ${records[6].id}`));
    });

    it('names the record after the gap as such when a record was deleted, in the database and in an export', async () => {
      const file = path.join(tmp.dir, 'all.jsonl');
      await audit(['export', '--format', 'jsonl', '--out', file, '--data-dir', dataDir]);
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.splice(4, 1);
      writeFileSync(file, lines.join('\n'));
      const exported = await audit(['verify', '--file', file, '--data-dir', dataDir]);
      assert.equal(exported.code, 2);
      assert.match(exported.stdout, new RegExp(`EXPORT DAMAGED \\(deleted\\) at record 5 \\(missing; the record after the gap is id ${records[5].id}\\):`));
      tamper('DELETE FROM audit_log WHERE seq = 9');
      const db = await audit(['verify', '--data-dir', dataDir]);
      assert.equal(db.code, 2);
      assert.match(db.stdout, new RegExp(`AUDIT CHAIN DAMAGED \\(deleted\\) at record 9 \\(missing; the record after the gap is id ${records[9].id}\\):`));
    });

    it('refuses an option that would not be used: --checkpoints with --file, an export\'s options without it (nothing reported intact unchecked)', async () => {
      const file = path.join(tmp.dir, 'audit.jsonl');
      assert.equal((await audit(['export', '--format', 'jsonl', '--out', file, '--data-dir', dataDir])).code, 0);
      // A checkpoint file that does not hold checkpoints: had it been read, the command would have said so.
      const notCheckpoints = path.join(tmp.dir, 'not-checkpoints.jsonl');
      writeFileSync(notCheckpoints, '{"a":1}\n');
      const withFile = await audit(['verify', '--file', file, '--checkpoints', notCheckpoints, '--data-dir', dataDir]);
      assert.equal(withFile.code, 1, withFile.stdout);
      assert.equal(withFile.stdout, '', 'nothing is reported intact');
      assert.match(withFile.stderr, /^error: --checkpoints is not read with --file: .*verify the database \(without --file\)/);
      for (const [option, ...value] of [['--manifest', `${file}.manifest.json`], ['--no-manifest'], ['--partial'], ['--filtered'], ['--format', 'jsonl']]) {
        const noFile = await audit(['verify', option, ...value, '--data-dir', dataDir]);
        assert.equal(noFile.code, 1, `${option}: ${noFile.stdout}`);
        assert.equal(noFile.stdout, '', `${option}: the database is not verified in place of the export`);
        assert.match(noFile.stderr, new RegExp(`^error: ${option} applies to an export file, given with --file <export>: without --file the database is verified`));
      }
    });

    it('verifies an exported CSV file', async () => {
      const file = path.join(tmp.dir, 'audit.csv');
      await audit(['export', '--format', 'csv', '--out', file, '--data-dir', dataDir]);
      const r = await audit(['verify', '--file', file, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /12 records/);
    });

    it('verifies a window exported with --from: by its manifest, or without one only when told it is partial', async () => {
      const file = path.join(tmp.dir, 'window.jsonl');
      await audit(['export', '--format', 'jsonl', '--from', timeAt(300), '--out', file, '--data-dir', dataDir]);
      const signed = await audit(['verify', '--file', file, '--data-dir', dataDir]);
      assert.equal(signed.code, 0, signed.stdout);
      assert.match(signed.stdout, /Export intact: 7 records, seq 6 to 12/);
      const strict = await audit(['verify', '--file', file, '--no-manifest']);
      assert.equal(strict.code, 2);
      assert.match(strict.stdout, /records 1 to 5 are missing/);
      assert.match(strict.stdout, /If this export starts after record 1 \(made with --from\), check it with --partial/);
      const partial = await audit(['verify', '--file', file, '--no-manifest', '--partial']);
      assert.equal(partial.code, 0, partial.stdout);
      assert.match(partial.stdout, /7 records, seq 6 to 12/);
    });

    it('verifies a filtered export without its manifest only when told it is filtered, and refuses --filtered beside a manifest', async () => {
      const file = path.join(tmp.dir, 'one-request.jsonl');
      const exported = await audit(['export', '--format', 'jsonl', '--request', 'req-3', '--out', file, '--data-dir', dataDir]);
      assert.match(exported.stderr, /^Exported 1 audit record \(seq 4 to 4\) as jsonl to /m);
      const signed = await audit(['verify', '--file', file, '--data-dir', dataDir]);
      assert.equal(signed.code, 0, signed.stdout);
      const strict = await audit(['verify', '--file', file, '--no-manifest']);
      assert.equal(strict.code, 2);
      assert.match(strict.stdout, /If it was made with --request, --type or --actor \(a filtered export\), records between its own are left out on purpose: check it with --filtered/);
      const filtered = await audit(['verify', '--file', file, '--no-manifest', '--filtered']);
      assert.equal(filtered.code, 0, filtered.stdout);
      assert.match(filtered.stdout, /Export intact: 1 record, seq 4 to 4/);
      assert.match(filtered.stdout, /Manifest: none \(--no-manifest --filtered\): each record was checked against its own hash, .*records removed from the file, or from between its own, cannot be noticed without its manifest/);
      const lines = readFileSync(file, 'utf8');
      writeFileSync(file, lines.replace('"result":"ok"', '"result":"refused"'));
      const edited = await audit(['verify', '--file', file, '--no-manifest', '--filtered']);
      assert.equal(edited.code, 2, 'each record is still checked against its own hash');
      const beside = await audit(['verify', '--file', file, '--filtered', '--data-dir', dataDir]);
      assert.equal(beside.code, 1);
      assert.match(beside.stderr, /--filtered applies without a manifest \(--no-manifest\): the manifest .* says which records the export holds/);
    });

    it('refuses, as bad input and not damage, an export of another format than the one it is checked as', async () => {
      const csv = path.join(tmp.dir, 'audit.csv');
      await audit(['export', '--format', 'csv', '--out', csv, '--data-dir', dataDir]);
      const given = await audit(['verify', '--file', csv, '--format', 'jsonl', '--no-manifest']);
      assert.equal(given.code, 1, given.stdout);
      assert.equal(given.stdout, '');
      assert.equal(given.stderr, `error: ${csv} was not checked: it looks like a CSV export (its first line is the CSV header), not JSON Lines (--format jsonl): give --format csv\n`);
      const renamed = path.join(tmp.dir, 'renamed.jsonl');
      writeFileSync(renamed, readFileSync(csv));
      const byName = await audit(['verify', '--file', renamed, '--no-manifest']);
      assert.equal(byName.code, 1, byName.stdout);
      assert.match(byName.stderr, /renamed\.jsonl was not checked: it looks like a CSV export \(its first line is the CSV header\), not JSON Lines \(as its name says\): give --format csv\n$/);
      const asCsv = await audit(['verify', '--file', renamed, '--format', 'csv', '--no-manifest']);
      assert.equal(asCsv.code, 0, asCsv.stdout + asCsv.stderr);
      const jsonl = path.join(tmp.dir, 'audit.jsonl');
      await audit(['export', '--format', 'jsonl', '--out', jsonl, '--data-dir', dataDir]);
      const asOcsf = await audit(['verify', '--file', jsonl, '--format', 'ocsf', '--no-manifest']);
      assert.equal(asOcsf.code, 1);
      assert.match(asOcsf.stderr, /it looks like a JSON Lines export \(its first line is an audit record\), not OCSF \(--format ocsf\): give --format jsonl/);
    });

    it('names a missing export file', async () => {
      const r = await audit(['verify', '--file', path.join(tmp.dir, 'nope.jsonl')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no export file at .*nope\.jsonl/);
    });
  });

  describe('export', () => {
    it('writes JSON Lines to standard output when no --out is given', async () => {
      const r = await audit(['export', '--format', 'jsonl', '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 12);
      assert.deepEqual(JSON.parse(lines[0]), records[0]);
      assert.match(r.stderr, /Exported 12 audit records \(seq 1 to 12\) as jsonl to standard output\./);
    });

    it('reads --format whatever the case of its letters, as Teams and the audit API do', async () => {
      const r = await audit(['export', '--format', 'JSONL', '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Exported 12 audit records \(seq 1 to 12\) as jsonl to standard output\./);
      const out = path.join(tmp.dir, 'upper.csv');
      assert.equal((await audit(['export', '--format', 'Csv', '--out', out, '--data-dir', dataDir])).code, 0);
      const v = await audit(['verify', '--file', out, '--format', 'CSV', '--data-dir', dataDir]);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      const bad = await audit(['export', '--format', 'XLSX', '--data-dir', dataDir]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /argument 'XLSX' is invalid\. Allowed choices are jsonl, csv, ocsf\./);
    });

    it('writes a CSV file for a time window, --from inclusive and --to exclusive', async () => {
      const out = path.join(tmp.dir, 'window.csv');
      const r = await audit(['export', '--format', 'csv', '--from', '2026-11-02T09:02:00Z', '--to', '2026-11-02T09:05', '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      const rows = parse(readFileSync(out), { columns: true }) as Record<string, string>[];
      assert.deepEqual(
        rows.map((x) => x.seq),
        ['3', '4', '5'],
      );
      assert.deepEqual(readdirSync(tmp.dir).filter((f) => f.includes('.partial')), []);
    });

    it('refuses an unknown format, naming the allowed ones', async () => {
      const r = await audit(['export', '--format', 'xml', '--data-dir', dataDir]);
      assert.equal(r.code, 1, 'a bad value is bad input');
      assert.match(r.stderr, /argument 'xml' is invalid\. Allowed choices are jsonl, csv, ocsf\./);
    });

    it('requires a format', async () => {
      const r = await audit(['export', '--data-dir', dataDir]);
      assert.equal(r.code, 64, 'a missing option is a usage error');
      assert.match(r.stderr, /required option '--format <format>' not specified/);
    });

    it('refuses a date that is not ISO-8601, or that does not exist', async () => {
      const bad = await audit(['export', '--format', 'csv', '--from', 'last tuesday', '--data-dir', dataDir]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /--from <iso>.*"last tuesday" is not a date Countersign reads/s);
      const feb30 = await audit(['export', '--format', 'csv', '--to', '2026-02-30', '--data-dir', dataDir]);
      assert.match(feb30.stderr, /"2026-02-30" is not a date Countersign reads/);
    });

    it('refuses a window whose start is not before its end', async () => {
      const r = await audit(['export', '--format', 'csv', '--from', '2026-11-03', '--to', '2026-11-02', '--data-dir', dataDir]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /--from \(2026-11-03T00:00:00.000Z\) must be before --to \(2026-11-02T00:00:00.000Z\)/);
    });

    it('names a missing database, and an output directory that does not exist', async () => {
      const noDb = await audit(['export', '--format', 'csv', '--data-dir', path.join(tmp.dir, 'empty')]);
      assert.equal(noDb.code, 1);
      assert.match(noDb.stderr, /no Countersign database at .*empty.*countersign\.db/);
      const noDir = await audit(['export', '--format', 'csv', '--out', path.join(tmp.dir, 'no', 'such', 'x.csv'), '--data-dir', dataDir]);
      assert.equal(noDir.code, 1);
      assert.match(noDir.stderr, /cannot write .*x\.csv: its directory does not exist/);
      assert.equal(existsSync(path.join(tmp.dir, 'no')), false);
    });
  });

  describe('as a process', () => {
    const run = promisify(execFile);
    const entry = path.join(__dirname, 'audit-entry.ts');

    it('exits cleanly with the result when its reader stops reading (audit verify | head -1)', async () => {
      const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), entry, 'audit', 'verify', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
      assert.equal(code, 0);
    });

    it('makes the backup and exits cleanly when the report reader stops reading (store backup | head -1)', async () => {
      const copy = path.join(tmp.dir, 'copy.db');
      const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), entry, 'store', 'backup', copy, '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
      assert.equal(code, 0, stderr);
      assert.ok(existsSync(copy), 'the copy was made');
    });

    it('says how many records may have reached a reader that closed the pipe early (audit export | head -1)', async () => {
      // Records big enough that the first batch does not fit in the pipe: its write fails once the reader is gone.
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      for (let i = 0; i < 300; i++) await store.audit.append([anEvent('request.created', { time: timeAt(1000 + i), request: requestRef(`big-${i}`), data: { note: 'x'.repeat(1000) } })]);
      await store.close();
      const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), entry, 'audit', 'export', '--format', 'jsonl', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      let first = '';
      child.stdout.on('data', (d: Buffer) => {
        first += d.toString('utf8');
        if (first.includes('\n')) child.stdout.destroy(); // head -1: one line read, the pipe closed
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(JSON.parse(first.split('\n')[0]).seq, 1, 'the reader got the first record');
      assert.equal(code, 1, stderr);
      assert.match(stderr, /error: the export to standard output broke off after up to 256 record\(s\) had been written to it \(recorded\): its reader closed it \(write EPIPE\)/);
    });

    it('exits with status 2 and names the record when the database was tampered with', async () => {
      tamper('DELETE FROM audit_log WHERE seq = 9');
      const err = await run(process.execPath, ['--require', require.resolve('tsx/cjs'), entry, 'audit', 'verify', '--data-dir', dataDir]).then(
        () => assert.fail('verify exited 0 on a damaged chain'),
        (e: { code: number; stdout: string }) => e,
      );
      assert.equal(err.code, 2);
      assert.match(err.stdout, /AUDIT CHAIN DAMAGED \(deleted\) at record 9/);
      assert.match(err.stdout, /record 9 is missing \(deleted\): record 10 .* directly follows record 8/);
    });
  });
});
