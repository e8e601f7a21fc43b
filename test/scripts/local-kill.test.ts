/**
 * `npm run local` (scripts/local.ts) killed with `kill -9`, so no stop of its own runs: the Agents
 * Playground it started goes too, within seconds (it watches a pipe the kernel closes,
 * scripts/parent-watch.mjs), and the next start says the local-trial.json left behind was stale and
 * removes it. The real script and the real Playground, on loopback ports free when the test starts
 * (fixed ones met whatever else on the machine had them).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { localTrialFile } from '../../scripts/local-trial-file';
import { freePort } from '../support/free-port';

const ROOT = path.resolve(__dirname, '..', '..');
let BOT_PORT: number;
let PLAYGROUND_PORT: number;

function startLocal(dataDir: string): { child: ChildProcess; out: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(BOT_PORT), PLAYGROUND_PORT: String(PLAYGROUND_PORT), COUNTERSIGN_DATA_DIR: dataDir };
  delete env.COUNTERSIGN_CONFIG;
  delete env.COUNTERSIGN_HOST;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'local.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return { child, out: () => out };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The pid of the Agents Playground among a process's children (Linux's /proc). */
function playgroundOf(pid: number): number {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  const playground = children.find((child) => readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('agentsplayground'));
  assert.ok(playground, `no Playground among ${children.join(', ')}`);
  return playground;
}

/** Gone: no such process, or a zombie no one has reaped yet (it holds no port and runs nothing). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

describe('npm run local killed with kill -9', function () {
  this.timeout(90_000);
  let tmp: string;
  let playgroundPid: number | undefined;
  const started: ChildProcess[] = [];
  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'countersign-local-kill-'));
    BOT_PORT = await freePort();
    do {
      PLAYGROUND_PORT = await freePort();
    } while (PLAYGROUND_PORT === BOT_PORT);
  });
  after(() => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // Whatever happened above, no Playground of this test is left running.
    if (playgroundPid !== undefined && !gone(playgroundPid)) process.kill(playgroundPid, 'SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('takes its Agents Playground with it, and the next start says its local-trial.json was stale and removes it', async () => {
    const dataDir = path.join(tmp, 'data');
    const first = startLocal(dataDir);
    started.push(first.child);
    await until('the Playground listening', () => first.out().includes(`Listening on ${PLAYGROUND_PORT}`) && existsSync(localTrialFile(dataDir)), 60_000);
    const recorded = JSON.parse(readFileSync(localTrialFile(dataDir), 'utf8')) as { pid: number; playgroundPid?: number };
    assert.equal(recorded.pid, first.child.pid);
    playgroundPid = playgroundOf(first.child.pid!);
    assert.equal(gone(playgroundPid), false);

    first.child.kill('SIGKILL');
    await until('npm run local gone', () => first.child.signalCode === 'SIGKILL', 5_000);
    await until('its Playground gone', async () => gone(playgroundPid!) && !(await listening(PLAYGROUND_PORT)), 6_000);
    assert.equal(existsSync(localTrialFile(dataDir)), true, 'no stop ran to remove it');
    assert.equal(recorded.playgroundPid, playgroundPid, 'the file names the Playground');

    // The next start: refused at once here (its bot port taken), after the stale file has been dealt with.
    const taken = net.createServer().listen(BOT_PORT, '127.0.0.1');
    try {
      const second = startLocal(dataDir);
      started.push(second.child);
      const code = await new Promise<number | null>((resolve) => second.child.once('exit', resolve));
      assert.equal(code, 1, second.out());
      assert.match(
        second.out(),
        new RegExp(`^The npm run local that wrote ${localTrialFile(dataDir).replace(/[.\\/]/g, '\\$&')} \\(pid ${recorded.pid}\\) ended without stopping \\(killed\\?\\): removed the file it left\\.\\n`),
      );
      assert.equal(existsSync(localTrialFile(dataDir)), false);
    } finally {
      taken.close();
    }
  });
});
