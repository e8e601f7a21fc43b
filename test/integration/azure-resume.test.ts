/**
 * A graceful stop in the middle of a long deployment: Countersign waits its grace period, then stops
 * following the deployment and releases the lease, so the next start resumes it at once (no waiting
 * for the lease to expire), following the same ARM operation to the end.
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
import { cardText, FakeConnector } from '../support/connector';
import { EXAMPLE_CONFIG } from '../support/people';
import { gatewayFor, startTestSandbox } from '../support/sandbox';
import { eventually, people, TeamsDriver } from '../support/teams';

describe('a graceful stop while a deployment runs (bot in process, ARM sandbox)', function () {
  this.timeout(30000);
  let sandbox: ArmSandbox;
  let connector: FakeConnector;
  let dataDir: string;
  let store: SqliteStore;
  const running: RunningCountersign[] = [];

  const quiet = () => pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() })) as pino.Logger & Logger;
  async function start(): Promise<RunningCountersign> {
    const settings = readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_EXECUTION_LEASE: '60s' });
    const bot = await startCountersign({ settings, config: loadConfig(EXAMPLE_CONFIG), azure: gatewayFor(sandbox, 20), log: quiet(), store, shutdownGraceMs: 200 });
    running.push(bot);
    return bot;
  }

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-resume-'));
    sandbox = await startTestSandbox();
    connector = await new FakeConnector().start();
    store = await openSqliteStore({ file: databaseFile(dataDir) });
  });
  afterEach(async () => {
    for (const bot of running.splice(0)) await bot.stop();
    await store.close();
    await connector.stop();
    await sandbox.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('releases the lease at shutdown, and the next start follows the same deployment to the end', async () => {
    const first = await start();
    const teams = new TeamsDriver(first.url, connector);
    const from = await teams.say(people.alice, 'deploy staging api-service');
    const cardId = teams.since(from).find((s) => s.kind === 'reply')!.id;
    sandbox.faults.slowDeployment({ stepMs: 600 });
    await teams.click(people.bob, cardId, 'approve');
    const requestId = await eventually('the request claimed', async () => (await store.requests.list({ states: ['executing'] }))[0]?.id);
    await eventually('ARM accepted the deployment', async () => (await store.requests.get(requestId))?.execution?.ref.resumeState);

    await first.stop();
    running.splice(0);
    const left = await store.requests.get(requestId);
    assert.equal(left?.state, 'executing');
    assert.ok(Date.parse(left!.execution!.lease!.expiresAt) <= Date.now(), 'the lease was released, not left to expire in 60 s');
    assert.equal(sandbox.state.deployment('staging-api-service', `countersign-${requestId}`)?.provisioningState, 'Running');

    const second = await start();
    await eventually('the deployment is followed to the end', async () => (await store.requests.get(requestId))?.state === 'succeeded', 15000);
    await second.executor.idle();
    await second.notifier.idle();
    const puts = sandbox.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/countersign-${requestId}`));
    assert.equal(puts.length, 1, 'the deployment was sent once');
    const types: string[] = [];
    for await (const e of store.audit.read({ requestId })) types.push(e.type);
    assert.ok(types.includes('execution.resumed'), types.join(', '));
    assert.match(cardText(connector.card(cardId)), /SUCCEEDED/);
  });
});
