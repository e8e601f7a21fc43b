/** The local trial's own settings, read as the bot's are: empty is not set, a wrong value is named. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clearStaleLocalTrial, DEFAULT_PLAYGROUND_PORT, localTrialFile, playgroundBrowserSetting, playgroundPortSetting, runningLocalTrial, writeLocalTrial } from '../../scripts/local-trial-file';

describe("the local trial's settings", () => {
  it('takes PLAYGROUND_PORT as a port from 1 to 65535, empty as not set, and names it with the value otherwise', () => {
    assert.equal(playgroundPortSetting({}), DEFAULT_PLAYGROUND_PORT);
    assert.equal(playgroundPortSetting({ PLAYGROUND_PORT: '' }), DEFAULT_PLAYGROUND_PORT);
    assert.equal(playgroundPortSetting({ PLAYGROUND_PORT: '56160' }), 56160);
    for (const wrong of ['abc', '70000', '0', '-1', '5616.5', ' 56160']) {
      assert.throws(() => playgroundPortSetting({ PLAYGROUND_PORT: wrong }), { message: `PLAYGROUND_PORT: must be a port number from 1 to 65535, got "${wrong}"` });
    }
  });

  it('hands the Playground TEAMSAPPTESTER_BROWSER=none when it is empty or not set (it opens a browser for anything but "none")', () => {
    assert.equal(playgroundBrowserSetting({}), 'none');
    assert.equal(playgroundBrowserSetting({ TEAMSAPPTESTER_BROWSER: '' }), 'none');
    assert.equal(playgroundBrowserSetting({ TEAMSAPPTESTER_BROWSER: 'chrome' }), 'chrome');
  });

  describe('a local-trial.json at the next start', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-local-trial-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    // A pid no process has: one that ran and ended.
    const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

    it('is left alone when its owner runs (this process here), or when there is none', () => {
      assert.equal(clearStaleLocalTrial(dir), undefined);
      writeLocalTrial(dir, 41450, deadPid());
      assert.equal(clearStaleLocalTrial(dir), undefined);
      assert.deepEqual(runningLocalTrial(dir), { playgroundPort: 41450 });
    });

    it('is removed, saying so, when the npm run local that wrote it is gone (kill -9), or when it is unreadable', () => {
      const owner = deadPid();
      writeFileSync(localTrialFile(dir), JSON.stringify({ playgroundPort: 41450, pid: owner, playgroundPid: deadPid() }));
      assert.equal(runningLocalTrial(dir), undefined);
      assert.equal(clearStaleLocalTrial(dir), `The npm run local that wrote ${localTrialFile(dir)} (pid ${owner}) ended without stopping (killed?): removed the file it left.`);
      assert.equal(existsSync(localTrialFile(dir)), false);
      writeFileSync(localTrialFile(dir), '{"playgroundPo');
      assert.equal(clearStaleLocalTrial(dir), `${localTrialFile(dir)} was not one npm run local writes (cut short when it was written?): removed it.`);
      assert.equal(existsSync(localTrialFile(dir)), false);
    });

    it('names the Playground the dead owner started when a process with its pid still runs', () => {
      const owner = deadPid();
      writeFileSync(localTrialFile(dir), JSON.stringify({ playgroundPort: 41450, pid: owner, playgroundPid: process.pid }));
      assert.equal(
        clearStaleLocalTrial(dir),
        `The npm run local that wrote ${localTrialFile(dir)} (pid ${owner}) ended without stopping (killed?): removed the file it left. ` +
          `A process has the pid its Agents Playground had (${process.pid}): if port 41450 is said to be in use, that Playground still runs: stop it (kill ${process.pid}).`,
      );
    });

    it("takes a Playground that ended but was never reaped (a zombie: its parent died, and a CI container's first process reaps nothing) as gone", async () => {
      // `sh` starts a short `sleep` in the background and then becomes a long one, which never reaps the
      // short one when it ends (the shell cannot have reaped it before: it still ran): a zombie for seconds.
      const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 10'], { stdio: ['ignore', 'pipe', 'ignore'] });
      try {
        const zombiePid = Number((await once(parent.stdout!, 'data'))[0].toString().trim());
        const state = (): string => {
          const stat = readFileSync(`/proc/${zombiePid}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        };
        for (let i = 0; i < 200 && state() !== 'Z'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(state(), 'Z', 'the background process is a zombie');
        const owner = deadPid();
        writeFileSync(localTrialFile(dir), JSON.stringify({ playgroundPort: 41450, pid: owner, playgroundPid: zombiePid }));
        assert.equal(clearStaleLocalTrial(dir), `The npm run local that wrote ${localTrialFile(dir)} (pid ${owner}) ended without stopping (killed?): removed the file it left.`);
      } finally {
        parent.kill('SIGKILL');
      }
    });
  });
});
