/**
 * Child processes of the benchmark: each part (bot, load generator, connector, exporter) runs in
 * its own Node process, optionally pinned to a CPU with taskset, and talks to the orchestrator over
 * the IPC channel with small typed messages.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Message {
  type: string;
  [key: string]: unknown;
}

const TASKSET = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

export interface ChildOptions {
  /** CPU list for taskset (e.g. "0"); ignored where taskset is missing. */
  cpus?: string;
  env?: Record<string, string>;
  /** Show the child's stdout (default: discarded, as a service's logs would be shipped away). */
  stdout?: boolean;
  /** Run this compiled JavaScript file of the script with plain node instead of the script under tsx. */
  compiled?: string;
  /** Node options before the script (the product's children: `shippedNodeOptions()`). */
  nodeOptions?: string[];
}

/**
 * The Node options Countersign runs with as a service: those of package.json's start script (`exec
 * node <options> dist/main.js`, the App Service command too), so the product is measured as it ships.
 */
export function shippedNodeOptions(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  const node = words.indexOf('node');
  const main = words.indexOf('dist/main.js');
  if (node === -1 || main <= node) throw new Error(`package.json's start script does not read "node <options> dist/main.js": ${pkg.scripts.start}`);
  return words.slice(node + 1, main);
}

/**
 * The Node options the `countersign` command runs with: those of bin/countersign.js's first line
 * (`#!/usr/bin/env -S node <options>`), so the CLI's figures (verify, exports) measure it as it ships.
 */
export function shippedCliNodeOptions(): string[] {
  const first = fs.readFileSync(path.resolve(__dirname, '..', '..', 'bin', 'countersign.js'), 'utf8').split('\n', 1)[0];
  const words = first.split(/\s+/);
  const node = words.indexOf('node');
  if (!first.startsWith('#!') || node === -1) throw new Error(`bin/countersign.js's first line does not read "#!/usr/bin/env -S node <options>": ${first}`);
  return words.slice(node + 1);
}

export class Child {
  readonly started = process.hrtime.bigint();
  private readonly inbox: Message[] = [];
  private waiters: { type: string; resolve: (m: Message) => void; reject: (e: Error) => void }[] = [];
  private exited = false;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (m: Message) => {
      const i = this.waiters.findIndex((w) => w.type === m.type || m.type === 'error');
      if (i === -1) this.inbox.push(m);
      else {
        const [w] = this.waiters.splice(i, 1);
        if (m.type === 'error') w.reject(new Error(`${name}: ${String(m.message)}`));
        else w.resolve(m);
      }
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.waiters) w.reject(new Error(`${name} exited (code ${code}, signal ${signal}) before answering ${w.type}`));
      this.waiters = [];
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** The next message of this type (or the child's error report), within the time limit. */
  next<T extends Message>(type: string, timeoutMs = 600_000): Promise<T> {
    const i = this.inbox.findIndex((m) => m.type === type || m.type === 'error');
    if (i !== -1) {
      const [m] = this.inbox.splice(i, 1);
      return m.type === 'error' ? Promise.reject(new Error(`${this.name}: ${String(m.message)}`)) : Promise.resolve(m as T);
    }
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  send(message: Message): void {
    this.proc.send(message);
  }

  async request<T extends Message>(message: Message, replyType: string, timeoutMs?: number): Promise<T> {
    const reply = this.next<T>(replyType, timeoutMs);
    this.send(message);
    return reply;
  }

  /** Asks the child to stop, and kills it if it has not exited within the grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    if (this.proc.connected) this.proc.send({ type: 'stop' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

/** Starts `bench/children/<script>` under tsx (or its `compiled` build), pinned to `cpus` when given. */
export function startChild(script: string, options: ChildOptions = {}): Child {
  const file = path.resolve(__dirname, '..', 'children', script);
  // BENCH_CPU_PROF=<dir> BENCH_CPU_PROF_CHILD=<name>: a V8 CPU profile of that child, for finding why.
  const profile = process.env.BENCH_CPU_PROF && script.startsWith(process.env.BENCH_CPU_PROF_CHILD ?? '-')
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  // BENCH_NODE_FLAGS="<flags>" BENCH_NODE_FLAGS_CHILD=<name>: Node flags for that child (--trace-gc-nvp ...), its stdout shown.
  const extra = process.env.BENCH_NODE_FLAGS && script.startsWith(process.env.BENCH_NODE_FLAGS_CHILD ?? '-') ? process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean) : [];
  const node = [process.execPath, ...(options.nodeOptions ?? []), ...profile, ...extra, ...(options.compiled ? [options.compiled] : ['--import', 'tsx', file])];
  const [cmd, ...args] = options.cpus && TASKSET ? ['taskset', '-c', options.cpus, ...node] : node;
  const proc = spawn(cmd, args, {
    stdio: ['ignore', options.stdout || extra.length ? 'inherit' : 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, ...(options.env ?? {}) },
  });
  return new Child(script.replace(/\.ts$/, ''), proc);
}

/** Child side: answer the orchestrator's requests; an exception is reported, not swallowed. */
export function serve(handlers: Record<string, (m: Message) => Promise<Message | void> | Message | void>): void {
  process.on('message', (m: Message) => {
    const handler = handlers[m.type];
    if (m.type === 'stop' && !handler) process.exit(0);
    if (!handler) {
      process.send?.({ type: 'error', message: `no handler for ${m.type}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(m))
      .then(
        (reply) => {
          if (reply) process.send?.(reply);
        },
        (err: unknown) => process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  // An orphaned child (the orchestrator died) ends itself.
  process.on('disconnect', () => process.exit(0));
}

export function report(message: Message): void {
  process.send?.(message);
}

