/**
 * The npm scripts that run the bot exec node: npm passes a SIGTERM on to the shell it runs a script
 * in, and without exec that shell dies of it and node, orphaned, goes on serving (no graceful stop).
 * `test/runtime/deploy-package.test.ts` sends the signal to `npm start` itself; this holds the others.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('npm scripts that run the bot', () => {
  for (const name of ['start', 'local', 'local:as']) {
    it(`${name} execs node, so a stop signal sent to npm reaches it`, () => {
      assert.match(scripts[name] ?? '', /^exec node /, `${name}: ${scripts[name]}`);
    });
  }
});

describe('npm start in a checkout not built yet', function () {
  this.timeout(60_000);

  it('says to run npm run build, exit 1, instead of node\'s "Cannot find module" stack; goes on once dist/main.js is there', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-npm-start-'));
    try {
      writeFileSync(path.join(dir, 'package.json'), readFileSync('package.json'));
      const prestart = () => spawnSync('npm', ['run', '--silent', 'prestart'], { cwd: dir, encoding: 'utf8' });
      const missing = prestart();
      assert.equal(missing.status, 1, missing.stderr);
      assert.equal(missing.stderr.trim(), 'npm start runs the compiled build, dist/main.js, which is not there: run npm run build first (npm run local runs the sources)');
      mkdirSync(path.join(dir, 'dist'));
      writeFileSync(path.join(dir, 'dist', 'main.js'), '');
      assert.equal(prestart().status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
