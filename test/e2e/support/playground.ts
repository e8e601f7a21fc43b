/**
 * The Microsoft 365 Agents Playground as a child process on a free loopback port, pointed at the bot,
 * with the people of playground/.m365agentsplayground.yml. Its page acts only as the current user;
 * other people click through its invoke endpoint, which honours `from`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const PLAYGROUND_CONFIG = path.resolve(__dirname, '..', '..', '..', 'playground', '.m365agentsplayground.yml');

export interface PlaygroundConversations {
  personalChat: { id: string; name: string };
  groupChats: { id: string; name: string; members: string[] }[];
}

export interface Playground {
  url: string;
  /** Everything it printed, for a failure message. */
  output(): string;
  /** The conversations as it runs them (ids come from its config, read back from the running process). */
  conversations(): Promise<PlaygroundConversations>;
  /** A card click by someone other than the page's user: the Playground forwards it to the bot as `from`. */
  invoke(click: { from: string; conversationId: string; replyToId: string; verb: string; data: Record<string, unknown> }): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startPlayground(options: { botUrl: string; configFile?: string; startTimeoutMs?: number }): Promise<Playground> {
  const port = await freePort();
  const cli = require.resolve('@microsoft/m365agentsplayground/cli.js');
  const child = spawn(process.execPath, [cli, '-e', `${options.botUrl}/api/messages`, '-c', 'msteams', '-p', String(port), '--disable-telemetry'], {
    env: { ...process.env, TEAMSAPPTESTER_BROWSER: 'none', M365_AGENTS_PLAYGROUND_CONFIG_PATH: options.configFile ?? PLAYGROUND_CONFIG },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const url = `http://127.0.0.1:${port}`;
  const playground: Playground = {
    url,
    output: () => output,
    async conversations() {
      const res = await fetch(`${url}/_internal/v1/config`);
      if (!res.ok) throw new Error(`the Playground's config endpoint answered ${res.status}`);
      return ((await res.json()) as { config: PlaygroundConversations }).config;
    },
    async invoke(click) {
      const res = await fetch(`${url}/_conversation/v1/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'adaptiveCard/action',
          from: { id: click.from },
          conversation: { id: click.conversationId },
          replyToId: click.replyToId,
          value: { action: { type: 'Action.Execute', verb: click.verb, data: click.data } },
        }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    },
    stop: () => stopProcess(child),
  };
  try {
    await waitForOutput(child, () => output, /Listening on \d+/, options.startTimeoutMs ?? 60000);
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  return playground;
}

function waitForOutput(child: ChildProcess, output: () => string, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`the Playground did not print "${pattern.source}" within ${timeoutMs} ms:\n${output()}`)), timeoutMs);
    const onData = () => {
      if (pattern.test(output())) finish();
    };
    const onExit = (code: number | null) => finish(new Error(`the Playground exited (${code}) before listening:\n${output()}`));
    const finish = (err?: Error) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
    onData();
  });
}

/** SIGTERM, then SIGKILL if it has not gone within five seconds. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}
