/** The Node Countersign runs on, checked first by every entry point: the bot, the `countersign` command, the local trial. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nodeProblem } from '../../src/node-version';

const ROOT = path.resolve(__dirname, '..', '..');
/** Preloaded to make a process report Node 20. */
const ON_NODE_20 = ['--require', path.join(ROOT, 'test', 'fixtures', 'runtime', 'node-20.cjs')];
const ADVICE = 'this terminal runs Node 20.20.2; Countersign needs Node 24 (its database driver is built for it). Run eval "$(scripts/node24.sh)" in this terminal first (docs/operations-runtime.md).';

describe('the Node Countersign runs on', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-node-version-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('tells another Node than 24 how to put Node 24 first, and lets Node 24 through', () => {
    assert.equal(nodeProblem('24.22.3'), undefined);
    assert.equal(nodeProblem('20.20.2'), ADVICE);
    assert.match(nodeProblem('26.0.0') ?? '', /runs Node 26\.0\.0; Countersign needs Node 24/);
  });

  it('scripts/node24.sh takes another 24.x only: another line is refused, naming the variable, before anything is installed', () => {
    for (const version of ['20.20.2', 'v24.22.3', '24']) {
      const cache = path.join(dir, 'cache');
      const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'node24.sh')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, COUNTERSIGN_NODE24_VERSION: version, COUNTERSIGN_NODE24_DIR: cache } });
      assert.equal(r.status, 1, version);
      assert.equal(r.stderr, `COUNTERSIGN_NODE24_VERSION: must be a Node 24 version such as 24.22.3 (Countersign runs on Node 24 only), got "${version}"\n`);
      assert.equal(r.stdout, '');
      assert.equal(fs.existsSync(cache), false, version);
    }
  });

  it('stops the bot on Node 20 with that advice, before its data directory is made', () => {
    const data = path.join(dir, 'data');
    const r = spawnSync(process.execPath, [...ON_NODE_20, '--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PORT: '0', COUNTERSIGN_DATA_DIR: data },
      // A bot that went on would run until stopped.
      timeout: 20_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `Countersign did not start: ${ADVICE}\n`);
    assert.equal(fs.existsSync(data), false);
  });

  it('stops the countersign command on Node 20 with that advice, before it reads anything', () => {
    const data = path.join(dir, 'data');
    const r = spawnSync(process.execPath, [...ON_NODE_20, path.join(ROOT, 'bin', 'countersign.js'), 'audit', 'verify', '--data-dir', data], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `countersign: ${ADVICE}\n`);
    assert.equal(fs.existsSync(data), false);
  });
});
