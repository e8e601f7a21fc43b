/**
 * Countersign as operators run it: `node --import tsx src/main.ts` in its own process, configured by
 * environment variables, logging JSON lines on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eventually } from '../support/teams';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface CountersignProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port>, read from the "Countersign is listening" line. */
  url: string;
  stdout: string[];
  stderr: string[];
  /** Parsed JSON log lines so far. */
  lines(): Record<string, unknown>[];
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running (test cleanup). */
  kill(): void;
}

/** Variables of the parent that would change what the child does; the test sets its own. */
const INHERITED_SETTINGS = /^(PORT|COUNTERSIGN_.*|Microsoft.*|AZURE_.*|ARM_SANDBOX_.*|LOG_LEVEL)$/;

/** How to start it: by default the TypeScript sources through tsx, from the repository. */
export interface Launch {
  cwd: string;
  args: string[];
  /** The program run with `args`: node (this one) unless said otherwise, e.g. npm. */
  command?: string;
}

export async function spawnCountersign(env: Record<string, string>, launch?: Launch): Promise<CountersignProcess> {
  const started = launchCountersign(env, launch);
  try {
    const listening = await started.waitForLog('Countersign is listening', 60000);
    started.url = String(listening.url).replace(/\/api\/messages$/, '');
  } catch (err) {
    started.kill();
    throw err;
  }
  return started;
}

/** The process started, not waited for (its `url` is set by spawnCountersign once it listens). */
export function launchCountersign(env: Record<string, string>, launch: Launch = { cwd: REPO_ROOT, args: ['--import', 'tsx', 'src/main.ts'] }): CountersignProcess {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !INHERITED_SETTINGS.test(k)));
  const child = spawn(launch.command ?? process.execPath, launch.args, {
    cwd: launch.cwd,
    env: { ...base, PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    stdout.push(...parts.filter((l) => l.trim()));
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const lines = () =>
    stdout.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const waitForLog = (msg: string, timeoutMs = 20000) =>
    eventually(
      `log line "${msg}"`,
      () => {
        const found = lines().find((l) => l.msg === msg);
        if (found) return found;
        if (child.exitCode !== null) throw new Error(`Countersign exited with ${child.exitCode} before logging "${msg}": ${stderr.join('').slice(-2000)}`);
        return undefined;
      },
      timeoutMs,
    );
  const process_: CountersignProcess = {
    child,
    url: '',
    stdout,
    stderr,
    lines,
    waitForLog,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  return process_;
}
