/** `countersign config check` as an operator runs it: the real command in a child process. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const fixture = (name: string) => path.join(ROOT, 'test', 'fixtures', 'config', name);

function check(file: string) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin', 'countersign.js'), 'config', 'check', file], { encoding: 'utf8', cwd: ROOT });
}

describe('countersign config check', function () {
  this.timeout(30000);

  it('accepts the shipped example and summarises it', () => {
    const r = check(path.join(ROOT, 'config', 'countersign.example.yaml'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^OK .*countersign\.example\.yaml\n  sha256 [0-9a-f]{64}\n/);
    assert.match(r.stdout, /azure: SANDBOX/);
    assert.match(r.stdout, /\n  delete resource group: when it may run: at once when approved, or later with "at <time>"; an approval stays valid 7 days; break-glass: not allowed\n/);
  });

  it('exits 1 naming the file, line, key and problem of a wrong key', () => {
    const r = check(fixture('nested-key-typo.yaml'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nested-key-typo\.yaml:\d+: commands\[\d+\]\.policy\.\w+: unknown key/);
  });

  it('exits 1 for a file that does not exist', () => {
    const r = check(fixture('no-such-file.yaml'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no-such-file\.yaml: \(top level\): cannot read the file \(ENOENT\)/);
  });
});
