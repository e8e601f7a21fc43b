/**
 * The data directory is 0700 and the database 0600, the bot's user's alone: the CLI run as another
 * user is told whose they are and how to run it as that user, not a bare EACCES.
 */
import assert from 'node:assert/strict';
import { Capture } from './run-audit';
import type { AuditCliIo } from '../../src/cli/audit-io';
import { permissionProblem, reportingInputErrors } from '../../src/cli/failure-report';
import { readCliSettings } from '../../src/settings';

const denied = (file: string, code = 'EACCES') => Object.assign(new Error(`${code}: permission denied, stat '${file}'`), { code, path: file });
const PASSWD = 'root:x:0:0:root:/root:/bin/bash\ncountersign:x:998:998::/var/lib/countersign:/usr/sbin/nologin\n';

describe('the CLI meeting a data directory another user owns', () => {
  it('says whose it is, its mode, and to run the command as that user', () => {
    const said = permissionProblem(denied('/var/lib/countersign/data/countersign.db'), (p) => {
      if (p === '/var/lib/countersign/data') return { uid: 998, mode: 0o40700 };
      throw denied(p);
    }, () => PASSWD);
    assert.match(said ?? '', /^this user( \(.+\))? may not read \/var\/lib\/countersign\/data\/countersign\.db \(EACCES\); \/var\/lib\/countersign\/data is mode 0700, owned by countersign \(uid 998\)\. Countersign makes its data directory 0700 and its database 0600, for the user the bot runs as alone: run countersign as that user \(sudo -u countersign countersign …, see docs\/cli\.md\), or give --data-dir a copy this user may read\.$/);
  });

  it('names the uid alone when no name is known, and says nothing of other errors', () => {
    const said = permissionProblem(denied('/data/countersign.db', 'EPERM'), () => ({ uid: 1234, mode: 0o40750 }), () => PASSWD);
    assert.match(said ?? '', /\(EPERM\); \/data is mode 0750, owned by uid 1234\. .*sudo -u <the bot's user> countersign/);
    assert.equal(permissionProblem(Object.assign(new Error('gone'), { code: 'ENOENT', path: '/x' })), undefined);
    assert.equal(permissionProblem(new Error('no code')), undefined);
  });

  it('is reported as one line and exit 1, not thrown', async () => {
    const stdout = new Capture();
    const stderr = new Capture();
    let code = 0;
    const io: AuditCliIo = { stdout, stderr, settings: readCliSettings({}), cwd: process.cwd(), setExitCode: (c) => (code = c), operator: 'ops@test-host' };
    await reportingInputErrors(io, async () => {
      throw denied('/nowhere/at/all/countersign.db');
    });
    assert.equal(code, 1);
    assert.match(stderr.text, /^error: this user( \(.+\))? may not read \/nowhere\/at\/all\/countersign\.db \(EACCES\); \/ is mode \d{4}, owned by .*run countersign as that user/);
    assert.equal(stderr.text.split('\n').length, 2, 'one line');
  });
});
