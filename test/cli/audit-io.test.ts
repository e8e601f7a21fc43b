/** How the audit commands word a database they cannot open for writing. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { AuditInputError } from '../../src/cli/audit-io';
import { unreadableAsInput } from '../../src/cli/database-file';
import { whyNotWritable } from '../../src/store/sqlite/connection';

describe('audit commands: a database they cannot write', () => {
  const file = path.resolve('/srv/countersign/data/countersign.db');
  const cantOpen = Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' });

  it('keeps the store\'s words for why (a read-only file system), and says why the command needs to write', async () => {
    const readOnly = whyNotWritable(file, cantOpen, (target) => {
      if (target === path.dirname(file)) throw Object.assign(new Error('EROFS'), { code: 'EROFS' });
    });
    await assert.rejects(
      unreadableAsInput(file, () => Promise.reject(readOnly)),
      (err: Error) =>
        err instanceof AuditInputError &&
        /the data directory \/srv\/countersign\/data is not writable \(it is on a read-only file system\)/.test(err.message) &&
        /This command records what it does in the audit log, so it needs write access to the database$/.test(err.message),
    );
  });

  it('names the file and the code when the store gave no more', async () => {
    await assert.rejects(unreadableAsInput(file, () => Promise.reject(Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' }))), {
      message: `cannot write to ${file} (SQLITE_READONLY). This command records what it does in the audit log, so it needs write access to the database`,
    });
  });
});
