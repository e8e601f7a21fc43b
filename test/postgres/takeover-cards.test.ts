/**
 * Two Countersign processes on one PostgreSQL database: the one running a deployment goes away
 * (killed, or stopped gracefully) and the other takes the execution over. The request's card keeps
 * showing how the deployment goes, from the instance that follows it now, then how it ended.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { ApprovalRequest } from '../../src/domain/request';
import type { ArmSandbox } from '../../src/sandbox';
import { spawnCountersign, type CountersignProcess } from '../ops/child';
import { cardActions, cardOf, cardText, FakeConnector } from '../support/connector';
import { EXAMPLE_CONFIG } from '../support/harness';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestSandbox } from '../support/sandbox';
import { eventually, opsChannel, people, TeamsDriver } from '../support/teams';

describe('PostgreSQL: the cards of an execution another instance took over', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let su: pg.Client;
  let dataDir: string;
  let sandbox: ArmSandbox;
  let connector: FakeConnector;
  let bots: CountersignProcess[] = [];
  let env: Record<string, string>;

  const request = async (id: string): Promise<ApprovalRequest | undefined> => {
    const r = await su.query<{ body: string }>('SELECT body FROM requests WHERE id = $1', [id]);
    return r.rows[0] ? (JSON.parse(r.rows[0].body) as ApprovalRequest) : undefined;
  };

  before(async () => {
    db = await createTestDatabase();
    su = await db.superuser();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-takeover-'));
    sandbox = await startTestSandbox({ timing: { deploymentStepMs: 20, operationMs: 20, retryAfterSeconds: 1 } });
    connector = await new FakeConnector().start();
    const caFile = path.join(dataDir, 'sandbox-ca.pem');
    fs.writeFileSync(caFile, sandbox.caPem);
    env = {
      COUNTERSIGN_STORE: 'postgres',
      COUNTERSIGN_DATABASE_URL: db.url,
      COUNTERSIGN_DATA_DIR: dataDir,
      COUNTERSIGN_CONFIG: EXAMPLE_CONFIG,
      COUNTERSIGN_EXECUTION_LEASE: '1500ms',
      COUNTERSIGN_INSTANCES: '2',
      ARM_SANDBOX_URL: sandbox.url,
      ARM_SANDBOX_CA_FILE: caFile,
      ARM_SANDBOX_SUBSCRIPTION_ID: sandbox.subscriptionId,
      LOG_LEVEL: 'info',
    };
  });

  beforeEach(async () => {
    // The first instance creates the shared signing key; the second starts after it.
    bots = [await spawnCountersign(env)];
    bots.push(await spawnCountersign(env));
  });

  afterEach(async () => {
    connector.updateDelayMs = () => 0;
    for (const b of bots) b.kill();
    await Promise.all(bots.map((b) => b.exited));
  });

  after(async () => {
    await su?.end();
    await connector?.stop();
    await sandbox?.close();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Asks on instance 0 and approves there; resolves once ARM accepted the deployment and instance 0 recorded it. */
  const deployingOnFirst = async (service: string) => {
    const teams = new TeamsDriver(bots[0].url, connector);
    const from = await teams.say(people.alice, `deploy staging ${service}`);
    const posted = teams.since(from).find((s) => s.conversationId === opsChannel.id && cardActions(cardOf(s.activity)).length > 0);
    assert.ok(posted, 'a request card');
    const cardId = posted.id;
    const requestId = cardActions(connector.card(cardId))[0].data.requestId as string;
    assert.equal((await teams.click(people.bob, cardId, 'approve')).status, 200);
    await eventually('the deployment accepted and recorded', async () => (await request(requestId))?.execution?.ref.resumeState, 30_000);
    return { requestId, cardId };
  };

  /** Stops instance 0, as `how` says, once ARM accepted its deployment; resolves when the other instance took the execution over, with the time it did. */
  const stopFirst = async (how: 'killed' | 'stopped gracefully', requestId: string): Promise<number> => {
    if (how === 'killed') {
      // Killed while one of its card updates is on its way to Teams (slow to answer here), holding its claim on the card.
      const travelling = new Promise<void>((resolve) => (connector.updateDelayMs = () => (resolve(), 1500)));
      await travelling;
      bots[0].child.kill('SIGKILL');
    } else {
      bots[0].child.kill('SIGTERM');
    }
    await bots[0].exited;
    const taken = await eventually('the other instance took the execution over', () => bots[1].lines().find((l) => l.requestId === requestId && String(l.msg).startsWith('execution taken over')), 40_000);
    // Its log says whose it was and how it came free: a lease let go by the stop, or one that expired.
    if (how === 'killed') assert.equal(taken.msg, 'execution taken over from another instance, whose lease expired');
    else {
      assert.equal(taken.msg, 'execution taken over from another instance, which let its lease go');
      assert.ok(bots[0].lines().some((l) => l.requestId === requestId && l.msg === 'execution let go at the stop: another instance takes it over, or the next start resumes it'));
    }
    return Date.parse(String(taken.time));
  };

  // A graceful stop lets executions run on for 20 s before it lets their leases go: that deployment lasts longer.
  for (const [how, stepMs] of [
    ['killed', 4000],
    ['stopped gracefully', 14_000],
  ] as const) {
    it(`shows the deployment's progress, then its outcome, after the instance running it is ${how}`, async () => {
      sandbox.faults.slowDeployment({ stepMs });
      const { requestId, cardId } = await deployingOnFirst('api-service');
      const takenAt = await stopFirst(how, requestId);
      await eventually('the card shows SUCCEEDED', () => /SUCCEEDED/.test(cardText(connector.card(cardId))), 60_000);
      assert.equal((await request(requestId))?.state, 'succeeded');
      // What the card showed from the takeover on, in the order Teams applied it.
      const brief = (text: string) => [/EXECUTING|SUCCEEDED/.exec(text)?.[0], /Running: \d of 2 operations done/.exec(text)?.[0], /Resumed/.test(text) ? 'resumed' : undefined].filter(Boolean).join(', ');
      const shown = connector.updates(cardId).filter((u) => u.at >= takenAt).map((u) => ({ after: u.at - takenAt, text: cardText(cardOf(u.activity)) }));
      const told = shown.map((u) => `${u.after} ms: ${brief(u.text)}`).join('\n');
      const progress = shown.find((u) => /EXECUTING/.test(u.text) && /Resumed/.test(u.text) && /of 2 operations done/.test(u.text));
      assert.ok(progress, `the deployment's progress shown by the instance that took it over:\n${told}`);
      // Right after the takeover: within two of the deployment's steps, not only at its end.
      assert.ok(progress.after < 2 * stepMs, told);
      assert.match(shown.at(-1)?.text ?? '', /SUCCEEDED/, told);
    });
  }
});
