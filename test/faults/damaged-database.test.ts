/**
 * A SQLite file SQLite itself calls damaged (a page overwritten, the file cut short while the bot was
 * stopped): the start says to restore it and that `countersign audit verify` says how much of its audit
 * log can still be read, so verify must say that, as damage (exit 2), not SQLite's words alone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { audit } from '../cli/run-audit';
import { anEvent } from '../store/fixtures';

const PAGE = 4096;

describe('audit verify on a database SQLite finds damaged', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-damaged-'));
    file = databaseFile(dir);
    const store = await openSqliteStore({ file });
    // Each record about a page long, so the log spans many pages of the file.
    for (let i = 0; i < 60; i++) await store.audit.append([anEvent('request.created', { outcome: { result: 'ok', detail: `${i} ${'x'.repeat(3000)}` } })]);
    await store.close();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('says how much of the audit log can still be read when a page of it was overwritten', async () => {
    const fd = fs.openSync(file, 'r+');
    const pages = fs.fstatSync(fd).size / PAGE;
    // A table's leaf page (type 0x0D) past the middle of the file, whatever else the schema adds
    // before it: overwritten, SQLite finds the B-tree malformed (an overflow page's bytes would only
    // be the text of a record, which verify names as edited).
    const header = Buffer.alloc(1);
    let page = Math.floor(pages * 0.6);
    while (page < pages && (fs.readSync(fd, header, 0, 1, page * PAGE), header[0] !== 0x0d)) page++;
    fs.writeSync(fd, Buffer.alloc(PAGE, 0x41), 0, PAGE, page * PAGE);
    fs.closeSync(fd);
    const run = await audit(['verify', '--data-dir', dir]);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`^Database: ${file.replace(/[.]/g, '\\.')}\\nDATABASE DAMAGED: SQLite cannot read ${file.replace(/[.]/g, '\\.')} \\(database disk image is malformed, SQLITE_CORRUPT\\): records 1 to (\\d+) of its audit log can still be read in order; the reading stops there \\(database disk image is malformed\\)\\. Restore it, with its -wal file, from a backup \\(docs/faults\\.md\\)\\.\\n$`));
    const readable = Number(/records 1 to (\d+)/.exec(run.stdout)![1]);
    assert.ok(readable > 10 && readable < 60, run.stdout);
  });

  it('says none can be read when the file was cut short (SQLite then reads none of it)', async () => {
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    const run = await audit(['verify', '--data-dir', dir]);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stdout, /^Database: .*\nDATABASE DAMAGED: SQLite cannot read .*countersign\.db \(database disk image is malformed, SQLITE_CORRUPT\): none of its audit records can be read\. Restore it, with its -wal file, from a backup/);
  });
});
