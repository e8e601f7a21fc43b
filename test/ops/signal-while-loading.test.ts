/**
 * A stop signal while the entry point's modules load, before main() installs its own listeners
 * (src/early-stop-signals.ts): a stop while starting, exit code 0, before anything is made, not a kill
 * by the signal's default action. The signal is sent by the process to itself at a set point of the load
 * (a preload that sends it when a given module is required), so the moment is the same at every run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXAMPLE_CONFIG } from '../support/people';
import { launchCountersign, REPO_ROOT, type CountersignProcess } from './child';

/** Sends SIGNAL_AT_LOAD to its own process when the module SIGNAL_AT_REQUIRE is first required. */
const SIGNAL_AT_REQUIRE = `data:text/javascript,${encodeURIComponent(`
import Module from 'node:module';
const load = Module._load;
let sent = false;
Module._load = function (request, ...rest) {
  if (!sent && request === process.env.SIGNAL_AT_REQUIRE) {
    sent = true;
    process.kill(process.pid, process.env.SIGNAL_AT_LOAD);
  }
  return load.call(this, request, ...rest);
};
`)}`;

describe('a stop signal while the entry point loads, before main() listens', function () {
  this.timeout(60_000);
  let dataDir: string;
  let bot: CountersignProcess | undefined;
  beforeEach(() => (dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-early-signal-'))));
  afterEach(async () => {
    bot?.kill();
    await bot?.exited;
    bot = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const cases = [
    // main.ts's own imports: the settings, loaded after its first import and before main() runs.
    { name: 'the bot entry point (npm start)', args: ['--import', 'tsx', '--import', SIGNAL_AT_REQUIRE, 'src/main.ts'], at: './settings', signal: 'SIGTERM' },
    // `countersign start` loads the command line's modules first (commander among them).
    { name: 'countersign start', args: ['--import', SIGNAL_AT_REQUIRE, 'bin/countersign.js', 'start'], at: 'commander', signal: 'SIGINT' },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.signal} while loading "${c.at}" stops it while starting, exit code 0`, async () => {
      bot = launchCountersign(
        { COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_CONFIG: EXAMPLE_CONFIG, SIGNAL_AT_REQUIRE: c.at, SIGNAL_AT_LOAD: c.signal },
        { cwd: REPO_ROOT, args: c.args },
      );
      const exit = await bot.exited;
      const said = bot.stderr.join('');
      assert.deepEqual(exit, { code: 0, signal: null }, said);
      assert.equal(said, `Countersign stopped while starting (${c.signal})\n`);
      assert.deepEqual(fs.readdirSync(dataDir), [], 'taken before anything was made: no database');
    });
  }

  it('leaves a signal its default action in a process that loads the module but never runs main() (it would not stop otherwise)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', "require('./src/early-stop-signals'); setTimeout(() => {}, 30_000); process.stdout.write('loaded\\n');"], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGTERM');
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    assert.deepEqual({ code, signal }, { code: null, signal: 'SIGTERM' });
  });
});
