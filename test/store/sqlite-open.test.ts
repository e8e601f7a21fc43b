/**
 * Opening the database for writing where that cannot be done: SQLite says only "unable to open
 * database file"; Countersign names the file or directory and why.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openReadOnly, openWritable, whyNotWritable } from '../../src/store/sqlite/connection';
import { sqliteOpenProblem } from '../../src/store/sqlite/open-problem';
import { DataDirectoryError, makeDataDirectory, openConfiguredStore } from '../../src/store/open-store';
import type { SqliteStore } from '../../src/store/sqlite';
import { anEvent } from './fixtures';

const cantOpen = Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' });
const errno = (code: string) => Object.assign(new Error(code), { code });

describe('opening the SQLite database for writing', () => {
  const file = path.resolve('/srv/countersign/data/countersign.db');

  it('names a data directory on a read-only file system, and the setting that chooses it', () => {
    const err = whyNotWritable(file, cantOpen, (target) => {
      if (target === path.dirname(file)) throw errno('EROFS');
    }) as Error & { code: string };
    assert.match(err.message, /cannot open \/srv\/countersign\/data\/countersign\.db for writing: the data directory \/srv\/countersign\/data is not writable \(it is on a read-only file system\)/);
    assert.match(err.message, /COUNTERSIGN_DATA_DIR/);
    assert.equal(err.code, 'SQLITE_CANTOPEN');
  });

  it('names a database file this user may not write', () => {
    const err = whyNotWritable(file, Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' }), (target) => {
      if (target === file) throw errno('EACCES');
    }) as Error;
    assert.match(err.message, /the database file \/srv\/countersign\/data\/countersign\.db is not writable \(this user may not write there\)/);
  });

  it('names a shared-memory file a refused start left read-only, and what to do with it', () => {
    const err = whyNotWritable(file, Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' }), (target) => {
      if (target === `${file}-shm`) throw errno('EACCES');
    }) as Error;
    assert.match(err.message, /its shared-memory file \/srv\/countersign\/data\/countersign\.db-shm is not writable \(this user may not write there\)\. Make it writable by this user or, with no Countersign running on it, delete it \(SQLite makes a new one\): a start refused on a read-only database leaves it behind\./);
  });

  it('keeps SQLite\'s words, with the path, when the directory and file are writable', () => {
    const err = whyNotWritable(file, cantOpen, () => undefined) as Error;
    assert.equal(err.message, 'cannot open /srv/countersign/data/countersign.db for writing: unable to open database file');
  });

  it('says a file system out of inodes is what stops SQLite making the -wal and -shm files, not the owner or mode', () => {
    const err = whyNotWritable(file, cantOpen, () => undefined, () => 0) as Error & { code: string };
    assert.equal(
      err.message,
      "cannot open /srv/countersign/data/countersign.db for writing: the file system holding /srv/countersign/data has no free inodes left (df -i /srv/countersign/data), so SQLite cannot make the database's -wal and -shm files beside it: delete files there or give the file system more inodes, then start again (unable to open database file)",
    );
    assert.equal(err.code, 'SQLITE_CANTOPEN');
    // A file system that keeps no count of inodes (btrfs), or one with some left: SQLite's words.
    for (const free of [undefined, 12]) assert.equal((whyNotWritable(file, cantOpen, () => undefined, () => free) as Error).message, 'cannot open /srv/countersign/data/countersign.db for writing: unable to open database file');
    // The start's words, from openWritable's error or SQLite's own.
    for (const said of [err, cantOpen]) {
      assert.equal(
        sqliteOpenProblem(said, file, undefined, () => 0)?.message,
        "Countersign cannot open the SQLite database /srv/countersign/data/countersign.db (unable to open database file): the file system holding /srv/countersign/data has no free inodes left (df -i /srv/countersign/data), so SQLite cannot make the database's -wal and -shm files beside it: delete files there or give the file system more inodes, then start again",
      );
    }
  });

  it('says a disk that is nearly full is full when a start meets an I/O error there, and a failing disk otherwise', () => {
    const ioerr = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
    const file = '/data/countersign.db';
    assert.match(sqliteOpenProblem(ioerr, file, () => 24 * 1024)?.message ?? '', /^the disk holding \/data\/countersign\.db is full or nearly so \(24 KiB free; disk I\/O error\): free some space, then start again/);
    assert.match(sqliteOpenProblem(ioerr, file, () => 50 * 1024 * 1024)?.message ?? '', /^the disk holding \/data\/countersign\.db failed a read or write \(disk I\/O error\): check the disk/);
    assert.match(sqliteOpenProblem(ioerr, file, () => undefined)?.message ?? '', /failed a read or write/);
  });

  it('tells a start that met "attempt to write a readonly database" after opening which files and directory must be writable', () => {
    const file = path.join(os.tmpdir(), `countersign-ro-${process.pid}`, 'countersign.db');
    const problem = sqliteOpenProblem(Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY_DBMOVED' }), file);
    assert.equal(
      problem?.message,
      `Countersign cannot write the SQLite database ${file} (attempt to write a readonly database): the user it runs as must be able to write that file, its -wal and -shm files beside it, and the directory ${path.dirname(file)} (SQLite makes and removes those files there); check their owner and mode (ls -l ${path.dirname(file)}), and that the disk is not mounted read-only`,
    );
  });

  it('leaves other errors as they are', () => {
    const corrupt = Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' });
    assert.equal(whyNotWritable(file, corrupt, () => undefined), corrupt);
  });

  it('opens a file whose relative name looks like a SQLite URI as that file, not as URI options', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-uri-'));
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      const name = 'file:countersign.db?mode=memory';
      const db = openWritable(name);
      db.exec('CREATE TABLE t (x)');
      db.close();
      assert.ok(fs.existsSync(path.join(dir, name)), 'the database is that file on disk, not in memory');
      const again = openReadOnly(name);
      assert.equal(again.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't'").pluck().get(), 1);
      again.close();
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('making the data directory', () => {
  // mkdir's bare "EEXIST: file already exists" or "EPERM" named neither the directory's purpose nor
  // what was in the way; the start puts COUNTERSIGN_DATA_DIR in front of these words.
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-datadir-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const refusal = (target: string, mkdir?: (d: string) => void): string => {
    const err = (() => {
      try {
        makeDataDirectory(target, mkdir);
      } catch (e) {
        return e;
      }
      return assert.fail('the directory was made');
    })();
    assert.ok(err instanceof DataDirectoryError, String(err));
    return err.message;
  };

  it('says a file given as the data directory is a file, not a directory', () => {
    const file = path.join(dir, 'countersign.yaml');
    fs.writeFileSync(file, 'x');
    assert.equal(refusal(file), `${file} is a file, not a directory: name the directory that holds (or is to hold) Countersign's database and audit signing key`);
  });

  it('names the file in the way of a directory to create', () => {
    const file = path.join(dir, 'countersign.yaml');
    fs.writeFileSync(file, 'x');
    assert.equal(refusal(path.join(file, 'data', 'more')), `${path.join(file, 'data', 'more')} cannot be created: ${file} is a file, not a directory`);
  });

  it('says this user may not create it, or that the file system is read-only', () => {
    const target = path.join(dir, 'data');
    assert.equal(refusal(target, () => { throw errno('EPERM'); }), `${target} cannot be created: this user may not create it there (EPERM)`);
    assert.equal(refusal(target, () => { throw errno('EACCES'); }), `${target} cannot be created: this user may not create it there (EACCES)`);
    assert.equal(refusal(target, () => { throw errno('EROFS'); }), `${target} cannot be created: it is on a read-only file system`);
  });

  it('makes a missing directory, and takes one that exists', () => {
    const target = path.join(dir, 'a', 'b');
    makeDataDirectory(target);
    makeDataDirectory(target);
    assert.ok(fs.statSync(target).isDirectory());
  });
});

describe('a start whose first writes fail', () => {
  it('says a full disk with the file and what to do, as a failure to open it does, from the error the writer thread gives', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-full-'));
    const opened = await openConfiguredStore({ kind: 'sqlite' }, { dataDir: dir });
    try {
      const store = opened.store as SqliteStore;
      // max_page_count stands in for a full disk: the database cannot grow past the pages it has.
      const pages = (await store.writer.pragma('page_count')) as number;
      await store.writer.pragma(`max_page_count = ${pages}`);
      const err = await store.audit.append(Array.from({ length: 200 }, () => anEvent('config.loaded', { data: { filler: 'x'.repeat(2000) } }))).then(
        () => assert.fail('the write went through'),
        (e: unknown) => e,
      );
      const said = opened.startProblem?.(err);
      assert.match(said?.message ?? String(err), new RegExp(`^the disk holding ${path.join(dir, 'countersign.db').replace(/[.]/g, '\\.')} is full \\(.*\\): free some space, then start again \\(docs/faults\\.md\\)$`));
      assert.equal(opened.startProblem?.(new Error('not the database')), undefined);
      await store.writer.pragma('max_page_count = 1073741823');
    } finally {
      await opened.store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
