/**
 * The npm scripts that run the bot exec node: npm passes a SIGTERM on to the shell it runs a script
 * in, and without exec that shell dies of it and node, orphaned, goes on serving (no graceful stop).
 * `test/runtime/deploy-package.test.ts` sends the signal to `npm start` itself; this holds the others.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('npm scripts that run the bot', () => {
  for (const name of ['start', 'local', 'local:as']) {
    it(`${name} execs node, so a stop signal sent to npm reaches it`, () => {
      assert.match(scripts[name] ?? '', /^exec node /, `${name}: ${scripts[name]}`);
    });
  }
});
