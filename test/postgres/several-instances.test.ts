/**
 * Several instances for real: three Countersign processes on one PostgreSQL database, the ARM
 * sandbox and the fake Bot Connector living in the test process. Clicks, sweeps and downloads race
 * across the processes; one is killed in the middle of a deployment.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { AuditRecord } from '../../src/domain/audit';
import type { ApprovalRequest } from '../../src/domain/request';
import type { ArmSandbox } from '../../src/sandbox';
import { openPostgresStore } from '../../src/store/postgres';
import { audit } from '../cli/run-audit';
import { spawnCountersign, type CountersignProcess } from '../ops/child';
import { aRequest, anEvent, requestRef } from '../store/fixtures';
import { cardActions, cardOf, cardText, FakeConnector } from '../support/connector';
import { EXAMPLE_CONFIG } from '../support/harness';
import { createTestDatabase } from '../support/postgres';
import type { TestDatabase } from '../support/postgres';
import { startTestSandbox } from '../support/sandbox';
import { eventually, opsChannel, people, TeamsDriver } from '../support/teams';

const EXPIRED = ['CS-EXPIRED1', 'CS-EXPIRED2', 'CS-EXPIRED3', 'CS-EXPIRED4', 'CS-EXPIRED5'];

describe('three instances on one PostgreSQL database', function () {
  this.timeout(180_000);
  let db: TestDatabase;
  let su: pg.Client;
  let dataDir: string;
  let sandbox: ArmSandbox;
  let connector: FakeConnector;
  let bots: CountersignProcess[] = [];
  let teams: TeamsDriver[] = [];
  let env: Record<string, string>;

  const request = async (id: string): Promise<ApprovalRequest | undefined> => {
    const r = await su.query<{ body: string }>('SELECT body FROM requests WHERE id = $1', [id]);
    return r.rows[0] ? (JSON.parse(r.rows[0].body) as ApprovalRequest) : undefined;
  };
  const auditOf = async (id: string): Promise<AuditRecord[]> =>
    (await su.query<{ record: string }>('SELECT record FROM audit_log WHERE request_id = $1 ORDER BY seq', [id])).rows.map((r) => JSON.parse(r.record) as AuditRecord);
  const writes = (pathEnd: string) =>
    sandbox.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD' && r.path.toLowerCase().endsWith(pathEnd.toLowerCase())).map((r) => `${r.method} ${r.status}`);
  const ask = async (driver: TeamsDriver, text: string) => {
    const from = await driver.say(people.alice, text);
    // The card in the channel where she asked, not one an approver is sent in a personal chat.
    const posted = driver.since(from).find((s) => s.conversationId === opsChannel.id && cardActions(cardOf(s.activity)).length > 0);
    assert.ok(posted, `a request card for "${text}"`);
    return { requestId: cardActions(connector.card(posted.id))[0].data.requestId as string, cardId: posted.id };
  };

  before(async () => {
    db = await createTestDatabase();
    su = await db.superuser();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-multi-'));
    // One audit signing key for every instance (here a shared data directory; see docs/postgresql.md):
    // the first instance creates it and records the first audit record, then the others start.
    sandbox = await startTestSandbox({ timing: { deploymentStepMs: 20, operationMs: 20, retryAfterSeconds: 1 } });
    connector = await new FakeConnector().start();
    const caFile = path.join(dataDir, 'sandbox-ca.pem');
    fs.writeFileSync(caFile, sandbox.caPem);
    // Requests already past their time when the instances start: all three sweep at once.
    const seed = await openPostgresStore({ connection: db.connection });
    for (const id of EXPIRED) {
      // With its creation record, as Countersign writes every request (audit verify holds the rows against their records).
      const created = aRequest(id, { createdAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T01:00:00.000Z' });
      await seed.requests.insert(created, [anEvent('request.created', { time: created.createdAt, request: { ...requestRef(id), reason: created.reason } })]);
    }
    await seed.close();
    env = {
      COUNTERSIGN_STORE: 'postgres',
      COUNTERSIGN_DATABASE_URL: db.url,
      COUNTERSIGN_DATA_DIR: dataDir,
      COUNTERSIGN_CONFIG: EXAMPLE_CONFIG,
      COUNTERSIGN_EXECUTION_LEASE: '1500ms',
      COUNTERSIGN_INSTANCES: '3',
      ARM_SANDBOX_URL: sandbox.url,
      ARM_SANDBOX_CA_FILE: caFile,
      ARM_SANDBOX_SUBSCRIPTION_ID: sandbox.subscriptionId,
      LOG_LEVEL: 'info',
    };
    bots = [await spawnCountersign(env)];
    // Each instance that started is stopped by after(), even when another did not start.
    const others = await Promise.allSettled([1, 2].map(() => spawnCountersign(env)));
    for (const o of others) if (o.status === 'fulfilled') bots.push(o.value);
    const failed = others.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    teams = bots.map((b) => new TeamsDriver(b.url, connector));
  });

  after(async () => {
    for (const b of bots) b.kill();
    await Promise.all(bots.map((b) => b.exited));
    await su?.end();
    await connector?.stop();
    await sandbox?.close();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('expires each request once while all three sweep', async () => {
    for (const id of EXPIRED) {
      await eventually(`${id} expired`, async () => (await request(id))?.state === 'expired', 20_000);
      const expiries = (await auditOf(id)).filter((r) => r.type === 'request.expired');
      assert.equal(expiries.length, 1, `${id}: ${expiries.length} request.expired records`);
    }
  });

  it('turns 50 simultaneous approve clicks on three instances into one approval, one execution, one ARM write', async () => {
    const { requestId, cardId } = await ask(teams[0], 'vm restart batch-worker-01');
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => teams[i % 3].click(people.bob, cardId, 'approve')));
    assert.ok(answers.every((a) => a.status === 200), JSON.stringify(answers.map((a) => a.status)));
    await eventually('the restart succeeded', async () => (await request(requestId))?.state === 'succeeded', 40_000);
    const types = (await auditOf(requestId)).map((r) => r.type);
    const count = (t: string) => types.filter((x) => x === t).length;
    assert.equal(count('approval.granted'), 1, types.join(', '));
    assert.equal(count('request.approved'), 1);
    assert.equal(count('execution.started'), 1);
    assert.equal(count('execution.succeeded'), 1);
    assert.equal(count('approval.granted') + count('click.refused'), 50, 'every other click is an audited refusal');
    assert.deepEqual(writes('/virtualmachines/batch-worker-01/restart'), ['POST 202']);
    await eventually('the card shows SUCCEEDED', () => /SUCCEEDED/.test(cardText(connector.card(cardId))), 20_000);
    // The card's updates, whichever instance sent them: each state once at most, never going back.
    const ORDER = ['PENDING APPROVAL', 'APPROVED', 'EXECUTING', 'SUCCEEDED'];
    const shown = connector.updates(cardId).map((u) => cardText(cardOf(u.activity)));
    const ranks = shown.map((text) => ORDER.reduce((rank, label, i) => (text.includes(label) ? i : rank), -1));
    assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), `card states went back: ${ranks.join(', ')}`);
    assert.equal(shown.filter((text) => text === shown[shown.length - 1]).length, 1, 'the final card was sent once');
  });

  it('resumes a deployment on another instance after the one executing it is killed', async () => {
    sandbox.faults.slowDeployment({ stepMs: 3000 });
    const { requestId, cardId } = await ask(teams[1], 'deploy staging api-service');
    assert.equal((await teams[1].click(people.bob, cardId, 'approve')).status, 200);
    await eventually('the deployment accepted and recorded', async () => (await request(requestId))?.execution?.ref.resumeState, 30_000);
    // The instance that took the approval runs the execution.
    bots[1].child.kill('SIGKILL');
    assert.equal((await bots[1].exited).signal, 'SIGKILL');
    const done = await eventually('another instance finished it', async () => {
      const r = await request(requestId);
      return r && ['succeeded', 'failed', 'unknown'].includes(r.state) ? r : undefined;
    }, 60_000);
    assert.equal(done.state, 'succeeded', done.outcomeDetail);
    assert.equal(done.execution?.resumedAt?.length, 1, 'taken over once');
    assert.deepEqual(writes(`/deployments/countersign-${requestId}`), ['PUT 201']);
    await eventually('the card shows SUCCEEDED', () => /SUCCEEDED/.test(cardText(connector.card(cardId))), 20_000);
  });

  it('serves a download link raced on two instances once', async () => {
    const personal = { id: `a:personal-${people.erin.id}`, conversationType: 'personal' as const };
    const from = await teams[0].say(people.erin, 'audit export 2026-01-01 2030-01-01 jsonl', personal);
    const reply = teams[0].since(from).map((s) => s.activity.text).find((t) => typeof t === 'string' && t.includes('download it')) as string;
    const url = /\[download it\]\((http[^)\s]+)\)/.exec(reply ?? '')?.[1];
    assert.ok(url, `a link in ${reply}`);
    const other = url.replace(bots[0].url, bots[2].url);
    const [a, b] = await Promise.all([fetch(url), fetch(other)]);
    await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
    const statuses = [a.status, b.status];
    assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses ${statuses.join(', ')}`);
    assert.ok(statuses.some((s) => s >= 400 && s < 500), `the other is refused: ${statuses.join(', ')}`);
    const refused = (await su.query<{ record: string }>("SELECT record FROM audit_log WHERE type = 'audit.export_refused'")).rows.map((r) => JSON.parse(r.record) as AuditRecord);
    assert.deepEqual(refused.map((r) => r.outcome.reason), ['link-reused']);
  });

  it('answers a delegate, revoke delegation or audit export message sent to two instances at once with one change, and tells the other sending', async () => {
    const { carol, bob, erin } = people;
    connector.members.set(carol.id, { id: carol.id, name: carol.name, aadObjectId: carol.aadObjectId, tenantId: carol.tenantId, userRole: 'user' });
    const bot = { type: 'mention', text: '<at>Countersign</at>', mentioned: { id: 'bot-countersign', name: 'Countersign' } };
    // One activity (one id), as Teams sends it again: to instances 0 and 2 at the same moment.
    const twice = async (activity: Record<string, unknown>) => {
      const from = connector.sent.length;
      const answers = await Promise.all([teams[0].post(activity), teams[2].post(activity)]);
      assert.deepEqual(answers.map((a) => a.status), [200, 200]);
      return connector.sent.slice(from).map((x) => x.activity.text).filter((t): t is string => typeof t === 'string');
    };
    const delegated = await twice(
      teams[0].activity(bob, opsChannel, { type: 'message', text: `<at>Countersign</at> delegate <at>${carol.name}</at> for 2d`, entities: [bot, { type: 'mention', text: `<at>${carol.name}</at>`, mentioned: { id: carol.id, name: carol.name } }] }),
    );
    assert.equal(delegated.filter((t) => t.includes('Carol NoRole can now approve')).length, 1, JSON.stringify(delegated));
    assert.equal(delegated.filter((t) => t.includes('This message already delegated to Carol NoRole')).length, 1, JSON.stringify(delegated));
    const revoked = await twice(teams[0].activity(bob, opsChannel, { type: 'message', text: '<at>Countersign</at> revoke delegation', entities: [bot] }));
    assert.equal(revoked.filter((t) => t.includes('Revoked: Carol NoRole')).length, 1, JSON.stringify(revoked));
    assert.equal(revoked.filter((t) => t.includes('This message already revoked your delegation to Carol NoRole')).length, 1, JSON.stringify(revoked));
    const exported = await twice(teams[0].activity(erin, { id: `a:personal-${erin.id}`, conversationType: 'personal' }, { type: 'message', text: 'audit export 2026-01-01 2030-01-01 jsonl' }));
    assert.equal(exported.filter((t) => t.includes('[download it](')).length, 1, JSON.stringify(exported));
    assert.equal(exported.filter((t) => t.includes('This message already got a download link')).length, 1, JSON.stringify(exported));
    const types = (await su.query<{ type: string }>("SELECT type FROM audit_log WHERE type LIKE 'delegation.%' OR type = 'audit.export_link_issued' ORDER BY seq")).rows.map((r) => r.type);
    // The link of the earlier test, then these.
    assert.deepEqual(types, ['audit.export_link_issued', 'delegation.created', 'delegation.revoked', 'audit.export_link_issued']);
  });

  it('leaves one intact chain that countersign audit verify accepts', async () => {
    for (const b of bots) b.child.kill('SIGTERM');
    await Promise.all(bots.map((b) => b.exited));
    const r = await audit(['verify'], { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: db.url, COUNTERSIGN_DATA_DIR: dataDir });
    assert.match(r.stdout, /Audit chain intact: \d+ records, seq 1 to \d+\./);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
