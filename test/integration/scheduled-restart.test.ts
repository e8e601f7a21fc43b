/**
 * A scheduled request across restarts and instances, at the network boundary: approved in one run of
 * Countersign, run by the next one started after its time; and with two instances on one database,
 * both sweeping at the time, sent to Azure once.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../src/log/context';
import { loadConfig } from '../../src/config/load';
import { startCountersign, type RunningCountersign } from '../../src/main';
import type { ArmSandbox } from '../../src/sandbox';
import { databaseFile, readSettings } from '../../src/settings';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { TestClock } from '../support/app-fakes';
import { cardText, FakeConnector } from '../support/connector';
import { EXAMPLE_CONFIG } from '../support/people';
import { gatewayFor, startTestSandbox } from '../support/sandbox';
import { eventually, people, TeamsDriver } from '../support/teams';

const HOUR = 3_600_000;

describe('a scheduled request across restarts and instances (bot in process, ARM sandbox, controlled clock)', function () {
  this.timeout(30000);
  let sandbox: ArmSandbox;
  let connector: FakeConnector;
  let dataDir: string;
  let store: SqliteStore;
  let clock: TestClock;
  const running: RunningCountersign[] = [];

  const quiet = () => pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() })) as pino.Logger & Logger;
  async function start(): Promise<RunningCountersign> {
    const settings = readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dataDir });
    const bot = await startCountersign({ settings, config: loadConfig(EXAMPLE_CONFIG), azure: gatewayFor(sandbox, 5), log: quiet(), store, clock, sweepIntervalMs: 3_600_000 });
    running.push(bot);
    return bot;
  }

  /** Asks for the delete at a time two hours ahead and has Bob approve it; returns the request and card ids. */
  async function scheduledIn(bot: RunningCountersign): Promise<{ requestId: string; cardId: string }> {
    const teams = new TeamsDriver(bot.url, connector);
    const at = new Date(clock.now().getTime() + 2 * HOUR).toISOString();
    const from = await teams.say(people.alice, `delete resource group staging-old at ${at}`);
    const cardId = teams.since(from).find((s) => s.kind === 'reply' && /PENDING/.test(JSON.stringify(s.activity)))!.id;
    await teams.click(people.bob, cardId, 'approve');
    const requestId = (await store.requests.list({ states: ['scheduled'] }))[0]?.id;
    assert.ok(requestId, 'approved and scheduled');
    return { requestId, cardId };
  }

  const deletes = () => sandbox.requests.filter((r) => r.method === 'DELETE' && /\/resourcegroups\/staging-old(\?|$)/i.test(r.path)).length;

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-scheduled-'));
    sandbox = await startTestSandbox();
    connector = await new FakeConnector().start();
    store = await openSqliteStore({ file: databaseFile(dataDir) });
    clock = new TestClock(new Date());
  });
  afterEach(async () => {
    for (const bot of running.splice(0)) await bot.stop();
    await store.close();
    await connector.stop();
    await sandbox.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('is run by the next start after its time when Countersign was down at the time', async () => {
    const first = await start();
    const { requestId, cardId } = await scheduledIn(first);
    await first.stop();
    running.splice(0);
    clock.advance(3 * HOUR);
    const second = await start();
    await eventually('run after the restart', async () => (await store.requests.get(requestId))?.state === 'succeeded', 15000);
    await second.executor.idle();
    await second.notifier.idle();
    assert.equal(deletes(), 1);
    assert.match(cardText(connector.card(cardId)), /SUCCEEDED/);
  });

  it('is sent to Azure once when two instances sweep at its time', async () => {
    const a = await start();
    const b = await start();
    const { requestId } = await scheduledIn(a);
    clock.advance(2 * HOUR);
    await Promise.all([a.app.sweepScheduled(), b.app.sweepScheduled(), a.app.sweepScheduled()]);
    await eventually('run once', async () => (await store.requests.get(requestId))?.state === 'succeeded', 15000);
    await a.executor.idle();
    await b.executor.idle();
    assert.equal(deletes(), 1);
  });
});
