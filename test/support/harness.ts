/**
 * The whole of Countersign for a test: the real bot over HTTP on an ephemeral loopback port, its
 * SQLite store in a temp folder, the real ARM SDK against the ARM sandbox, and the fake Bot
 * Connector recording what Teams would show.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createAzureGateway, sandboxCredential } from '../../src/azure';
import type { Logger } from '../../src/app/context';
import type { Clock, Store } from '../../src/app/ports';
import { openSqliteStore } from '../../src/store/sqlite';
import { databaseFile } from '../../src/settings';
import { loadConfig, parseConfig, type CountersignConfig } from '../../src/config/load';
import { startCountersign, type RunningCountersign } from '../../src/main';
import { startArmSandbox, type ArmSandbox } from '../../src/sandbox';
import { readSettings } from '../../src/settings';
import { FakeConnector } from './connector';
import { TeamsDriver } from './teams';

export const EXAMPLE_CONFIG = path.resolve(__dirname, '..', '..', 'config', 'countersign.example.yaml');

/** A clock tests can move forward. */
export class TestClock implements Clock {
  constructor(private current = new Date()) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface Harness {
  bot: RunningCountersign;
  sandbox: ArmSandbox;
  connector: FakeConnector;
  teams: TeamsDriver;
  clock: TestClock;
  dataDir: string;
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** YAML text replacing the example config (written next to the example templates). */
  configText?: string;
  config?: CountersignConfig;
  env?: Record<string, string>;
  sweepIntervalMs?: number;
  /** Wraps the SQLite store (fault injection). */
  wrapStore?: (store: Store) => Store;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-test-'));
  const sandbox = await startArmSandbox({ timing: { deploymentStepMs: 5, operationMs: 5, retryAfterSeconds: 0 } });
  const connector = await new FakeConnector().start();
  const clock = new TestClock();
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const log = pino({ level: 'debug' }, sink) as pino.Logger & Logger;
  const config = options.config ?? (options.configText ? parseConfig(options.configText, EXAMPLE_CONFIG) : loadConfig(EXAMPLE_CONFIG));
  const azure = createAzureGateway({
    subscriptionId: sandbox.subscriptionId,
    credential: sandboxCredential(),
    endpoint: sandbox.url,
    caPem: sandbox.caPem,
    sandbox: true,
    pollIntervalMs: 5,
  });
  const settings = readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dataDir, LOG_LEVEL: 'debug', ...(options.env ?? {}) });
  const raw = await openSqliteStore({ file: databaseFile(dataDir), busyTimeoutMs: settings.storeLockWaitMs });
  const store = options.wrapStore ? options.wrapStore(raw) : raw;
  const bot = await startCountersign({ settings, config, azure, clock, log, store, ...(options.sweepIntervalMs ? { sweepIntervalMs: options.sweepIntervalMs } : {}) });
  const teams = new TeamsDriver(bot.url, connector);
  return {
    bot,
    sandbox,
    connector,
    teams,
    clock,
    dataDir,
    logs,
    async stop() {
      await bot.executor.idle();
      await bot.stop();
      await raw.close();
      await connector.stop();
      await sandbox.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
