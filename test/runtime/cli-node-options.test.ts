/**
 * The `countersign` command runs with the Node options the service runs with (V8's young generation
 * held to 16 MB semi-spaces, docs/operations-runtime.md): given on bin/countersign.js's first line,
 * which the installed command, `npx countersign` and the deployment package's bin run through, and by
 * `npm run countersign`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../ops/child';

const run = promisify(execFile);

/** The young-generation option among a command line's words. */
function semiSpace(words: string[]): string | undefined {
  return words.find((w) => w.startsWith('--max-semi-space-size='));
}

describe('the countersign command’s Node options', function () {
  this.timeout(60_000);
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const firstLine = fs.readFileSync(path.join(REPO_ROOT, 'bin', 'countersign.js'), 'utf8').split('\n', 1)[0];

  it('bin/countersign.js and npm run countersign give node the service’s young-generation cap', () => {
    const service = semiSpace(pkg.scripts.start.split(/\s+/));
    assert.ok(service, `the start script names no --max-semi-space-size: ${pkg.scripts.start}`);
    assert.match(firstLine, /^#!\/usr\/bin\/env -S node /);
    assert.equal(semiSpace(firstLine.split(/\s+/)), service);
    assert.equal(semiSpace(pkg.scripts.countersign.split(/\s+/)), service);
  });

  it('run as a program (its first line), node starts with that option and the command answers', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-cli-options-'));
    try {
      // Loaded before the command by NODE_OPTIONS: writes down the options node was started with.
      const probe = path.join(dir, 'probe.cjs');
      const out = path.join(dir, 'exec-argv.json');
      fs.writeFileSync(probe, `require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.execArgv));\n`);
      const { stdout } = await run(path.join(REPO_ROOT, 'bin', 'countersign.js'), ['--help'], {
        cwd: REPO_ROOT,
        // The node this test runs on first on PATH, as it is for the installed command.
        env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, NODE_OPTIONS: `--require=${probe}` },
      });
      assert.match(stdout, /Usage: countersign/);
      const execArgv = JSON.parse(fs.readFileSync(out, 'utf8')) as string[];
      assert.equal(semiSpace(execArgv), semiSpace(pkg.scripts.start.split(/\s+/)) ?? 'the start script names one');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
