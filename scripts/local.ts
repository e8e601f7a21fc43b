/**
 * `npm run local`: Countersign on its embedded defaults (SQLite under ./data, the in-process ARM
 * sandbox, no Microsoft app id so loopback only) plus the Microsoft 365 Agents Playground as the
 * Teams client. Ctrl+C stops both. The settings change what it runs with (COUNTERSIGN_CONFIG,
 * COUNTERSIGN_DATA_DIR, M365_AGENTS_PLAYGROUND_CONFIG_PATH for the Playground's people): its banner
 * says what it runs with.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startCountersign } from '../src/composition-root';
import { DEFAULT_CONFIG_PATH, readSettings } from '../src/settings';
import { localBanner } from './local-banner';
import { clearStaleLocalTrial, playgroundBrowserSetting, playgroundPortSetting, removeLocalTrial, writeLocalTrial } from './local-trial-file';
import { nodeProblem } from '../src/node-version';
import { listeningPort, portsProblem } from './local-preflight';

const PLAYGROUND_CONFIG = path.resolve(__dirname, '..', 'playground', '.m365agentsplayground.yml');
const PARENT_WATCH = pathToFileURL(path.join(__dirname, 'parent-watch.mjs')).href;

async function main(): Promise<void> {
  const wrongNode = nodeProblem();
  if (wrongNode) throw new Error(wrongNode);
  // Read here, so a wrong value is said as every refused start is.
  const PLAYGROUND_PORT = playgroundPortSetting(process.env);
  const settings = readSettings({ ...process.env, COUNTERSIGN_HOST: process.env.COUNTERSIGN_HOST || '127.0.0.1' });
  // One killed without its stop (kill -9) left its file: say so and remove it, before anything else is said of this start.
  const stale = clearStaleLocalTrial(settings.dataDir);
  if (stale) process.stderr.write(`${stale}\n`);
  const ports = await portsProblem(settings.port, settings.host, PLAYGROUND_PORT);
  if (ports) throw new Error(ports);
  // The store can no longer write (a database file deleted, say): stop both, exit 1, as `npm start` does.
  let fatal = false;
  const whenStarted: { stop?: () => Promise<void> } = {};
  const running = await startCountersign({
    settings,
    onFatal: () => {
      fatal = true;
      void whenStarted.stop?.();
    },
  });
  const cli = require.resolve('@microsoft/m365agentsplayground/cli.js');
  const playgroundConfig = path.resolve(process.env.M365_AGENTS_PLAYGROUND_CONFIG_PATH || PLAYGROUND_CONFIG);
  // The Playground ends with this process however it ends, also by kill -9 (no stop of ours then runs):
  // it watches descriptor 3, a pipe this process holds and the kernel closes (scripts/parent-watch.mjs).
  const playground = spawn(
    process.execPath,
    ['--import', PARENT_WATCH, cli, '-e', `${running.url}/api/messages`, '-c', 'msteams', '-p', String(PLAYGROUND_PORT), '--disable-telemetry'],
    {
      stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
      env: {
        ...process.env,
        TEAMSAPPTESTER_BROWSER: playgroundBrowserSetting(process.env),
        M365_AGENTS_PLAYGROUND_CONFIG_PATH: playgroundConfig,
      },
    },
  );
  // Its output is passed on; the port it says it listens on must be the one asked for (it moves to a
  // random one when that is taken between the check above and its start).
  let said = '';
  playground.stdout!.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    if (said.length < 4096) said += chunk.toString();
    const port = listeningPort(said);
    if (port !== undefined && port !== PLAYGROUND_PORT && !stopping) {
      process.stderr.write(`The Agents Playground did not get port ${PLAYGROUND_PORT} (PLAYGROUND_PORT: in use) and took ${port}; stopping. Start again with another PLAYGROUND_PORT.\n`);
      fatal = true;
      void stop();
    }
  });
  // For `npm run local:as` in another terminal, which may not have PLAYGROUND_PORT set.
  writeLocalTrial(settings.dataDir, PLAYGROUND_PORT, playground.pid);
  process.stdout.write(
    localBanner({
      configPath: settings.configPath,
      defaultConfigPath: DEFAULT_CONFIG_PATH,
      sandbox: running.deps.azure.sandbox,
      subscriptionId: running.deps.subscriptionId,
      botUrl: running.url,
      playgroundPort: PLAYGROUND_PORT,
      playgroundConfigPath: playgroundConfig,
      defaultPlaygroundConfigPath: PLAYGROUND_CONFIG,
      dataDir: settings.dataDir,
    }),
  );
  let stopping = false;
  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    removeLocalTrial(settings.dataDir);
    playground.kill('SIGTERM');
    await running.stop();
    process.exit(fatal ? 1 : 0);
  }
  whenStarted.stop = stop;
  if (fatal) void stop();
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  // A closed terminal: the same stop (the bot's checkpoint, the Playground ended), not an exit that leaves the Playground on its port.
  process.once('SIGHUP', () => void stop());
  playground.once('exit', (code) => {
    if (code !== null && code !== 0) process.stderr.write(`The Agents Playground exited with code ${code}.\n`);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`Countersign did not start: ${(err as Error).message}\n`);
  process.exit(1);
});
