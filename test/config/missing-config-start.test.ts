/**
 * A start whose config file is not there, through each way the bot is started (`countersign start`,
 * the bot's own entry point that `npm start` runs, `npm run local`): each says which file, where its
 * name came from (COUNTERSIGN_CONFIG or the default under the working directory), that it is missing
 * and what to do, exits 1, and makes nothing (no data directory).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/free-port';

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'config', 'countersign.example.yaml');
const TEMPLATES = path.join(ROOT, 'config', 'templates');

interface Run {
  code: number | null;
  stderr: string;
}

function run(args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.COUNTERSIGN_CONFIG;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...base, PORT: '0', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** The three ways the bot is started, from a given working directory. */
const ENTRY_POINTS: Record<string, string[]> = {
  'countersign start': [path.join(ROOT, 'bin', 'countersign.js'), 'start'],
  'the bot entry point (npm start)': ['--import', 'tsx', path.join(ROOT, 'src', 'main.ts')],
  'npm run local': ['--import', 'tsx', path.join(ROOT, 'scripts', 'local.ts')],
};

describe('a start whose config file is missing', function () {
  this.timeout(120_000);
  let tmp: string;
  let dataDir: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'countersign-missing-config-'));
    dataDir = path.join(tmp, 'data');
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  for (const [name, args] of Object.entries(ENTRY_POINTS)) {
    it(`${name}: names the COUNTERSIGN_CONFIG file as missing, where its name came from, and how to make it from the example`, async () => {
      const file = path.join(tmp, 'etc', 'countersign.yaml');
      // PLAYGROUND_PORT for npm run local, which checks its ports first: a free one (it stops before starting the Playground).
      const r = await run(args, { COUNTERSIGN_CONFIG: file, COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(await freePort()) }, ROOT);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stderr,
        `Countersign did not start: the config file ${file} is missing: its name came from COUNTERSIGN_CONFIG (a relative name is taken from the working directory, ${ROOT}). ` +
          `Set COUNTERSIGN_CONFIG to your config file, or make that file from the example: copy ${EXAMPLE} to ${file} (and ${TEMPLATES} to ${path.join(tmp, 'etc', 'templates')}: ` +
          `the example's deploy commands name their templates relative to the config file), then edit it. What each key means: docs/configuration.md; countersign config check <file> checks a config without starting.\n`,
      );
      assert.equal(existsSync(dataDir), false, 'nothing is made for a start refused');
    });
  }

  it('says the default was looked for under the working directory, when COUNTERSIGN_CONFIG is not set', async () => {
    const r = await run(ENTRY_POINTS['countersign start'], { COUNTERSIGN_DATA_DIR: dataDir }, tmp);
    assert.equal(r.code, 1, r.stderr);
    const file = path.join(tmp, 'config', 'countersign.example.yaml');
    assert.equal(
      r.stderr,
      `Countersign did not start: the config file ${file} is missing: COUNTERSIGN_CONFIG is not set, so the bot looked for the default, config/countersign.example.yaml, in the working directory ${tmp}. ` +
        `Start it from the folder Countersign is installed in (${ROOT}), where the example is; or copy ${EXAMPLE} to a file of your own (and ${TEMPLATES} to a templates folder beside it: ` +
        `the example's deploy commands name their templates relative to the config file), edit it, and set COUNTERSIGN_CONFIG to it. What each key means: docs/configuration.md; countersign config check <file> checks a config without starting.\n`,
    );
    assert.equal(existsSync(dataDir), false);
  });
});
