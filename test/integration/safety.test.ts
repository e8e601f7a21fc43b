/**
 * What must never happen: a double execution under racing clicks, a decision taken from forged
 * card data, an activity from a foreign tenant acting, or a step that happened without its audit
 * record.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { ApprovalRequest } from '../../src/domain/request';
import { databaseFile } from '../../src/settings';
import { actorOf } from '../support/people';
import type { CountersignStore as Store } from '../../src/store/countersign-store';
import { verifyChain } from '../../src/audit/verify/verify';
import { cardText } from '../support/connector';
import { auditOf, requestVia, settled } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';
import { REFUSAL_BUDGET } from '../../src/app/refusal-budget';
import { indexesLeavingOut } from '../store/index-tamper';
import { collect } from '../store/store-contract';




const deploymentPuts = (h: Harness) => h.sandbox.requests.filter((r) => r.method === 'PUT' && /\/deployments\/countersign-/i.test(r.path));

describe('safety (bot over HTTP, fake Bot Connector, ARM sandbox)', function () {
  this.timeout(30000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('executes exactly once when 20 approve clicks arrive at the same moment', async () => {
    const { cardId, requestId } = await requestVia(h, 'deploy production api-service');
    const clickers = [people.bob, people.dave];
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => h.teams.click(clickers[i % 2], cardId, 'approve')));
    assert.ok(answers.every((a) => a.status === 200));
    await settled(h);
    assert.equal(deploymentPuts(h).length, 1, 'one deployment was sent to ARM');
    const events = await auditOf(h, { requestId });
    assert.equal(events.filter((e) => e.type === 'execution.started').length, 1);
    assert.equal(events.filter((e) => e.type === 'approval.granted').length, 1);
    assert.equal(events.filter((e) => e.type === 'click.refused').length, 19, 'every other click is refused and recorded');
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'succeeded');
  });

  it('runs nothing for a row edited in the database to approved, and says its audit trail does not back it', async () => {
    const { requestId } = await requestVia(h, 'delete resource group staging-old');
    // What someone with write access to the database file could do: the row alone, not the audit chain.
    const db = new Database(databaseFile(h.dataDir));
    const row = db.prepare('SELECT version, body FROM requests WHERE id = ?').get(requestId) as { version: number; body: string };
    const body = JSON.parse(row.body) as ApprovalRequest;
    const forged = { ...body, state: 'approved', version: row.version + 1, approvals: [{ approver: actorOf(people.bob), at: new Date().toISOString(), operationHash: body.operationHash }] };
    db.prepare("UPDATE requests SET state = 'approved', version = ?, body = ? WHERE id = ?").run(forged.version, JSON.stringify(forged), requestId);
    db.close();
    // A start runs approved requests that were never claimed (catch-up).
    const before = h.sandbox.requests.length;
    await h.bot.app.catchUp();
    await settled(h);
    assert.deepEqual(h.sandbox.requests.slice(before).map((r) => `${r.method} ${r.path}`), [], 'nothing was sent to Azure, not even the drift check\'s read');
    const after = await h.bot.deps.store.requests.get(requestId);
    assert.equal(after?.state, 'failed');
    const types = (await auditOf(h, { requestId })).map((e) => [e.type, e.outcome.reason]);
    assert.ok(!types.some(([t]) => t === 'execution.started'), 'no execution started');
    assert.deepEqual(types.at(-1), ['approval.revoked', 'not-in-audit']);
    assert.ok(h.logs.some((l) => l.msg === "not executed: the request's stored row does not match its audit trail" && l.problem === 'the audit log holds no record of its approval'));
    assert.ok(h.connector.texts(opsChannel.id).some((t) => t.includes(`Request ${requestId} was not executed: the audit log holds no record of its approval`)), 'the requester is told');
  });

  it('runs nothing for a row edited into another shape (an approval without its approver), and fails it as one its audit trail does not back', async () => {
    const { requestId } = await requestVia(h, 'delete resource group staging-old');
    const db = new Database(databaseFile(h.dataDir));
    const row = db.prepare('SELECT version, body FROM requests WHERE id = ?').get(requestId) as { version: number; body: string };
    const body = JSON.parse(row.body) as ApprovalRequest;
    const forged = { ...body, state: 'approved', version: row.version + 1, approvals: [{ approverId: people.bob.aadObjectId, approverName: 'bob', at: new Date().toISOString(), operationHash: body.operationHash }] };
    db.prepare("UPDATE requests SET state = 'approved', version = ?, body = ? WHERE id = ?").run(forged.version, JSON.stringify(forged), requestId);
    db.close();
    const before = h.sandbox.requests.length;
    await h.bot.app.catchUp();
    await settled(h);
    assert.deepEqual(h.sandbox.requests.slice(before).map((r) => `${r.method} ${r.path}`), [], 'nothing was sent to Azure');
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'failed');
    assert.deepEqual((await auditOf(h, { requestId })).map((e) => [e.type, e.outcome.reason]).at(-1), ['approval.revoked', 'not-in-audit']);
    assert.ok(!h.logs.some((l) => l.msg === 'execution crashed'), 'no crash');
    assert.ok(h.connector.texts(opsChannel.id).some((t) => t.includes(`Request ${requestId} was not executed. Not executed: its stored row does not read as a request (approvals[0].approver is missing)`)), 'the requester is told');
  });

  it('runs nothing a second time for a finished request set back to approved in the database whose execution records the index by request was made to leave out', async () => {
    const { requestId, cardId } = await requestVia(h, 'deploy production api-service');
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'succeeded');
    assert.equal(deploymentPuts(h).length, 1);
    const ran = (await auditOf(h, { requestId })).filter((e) => e.type.startsWith('execution.')).map((e) => e.seq);
    // What the reviewer did with the database file: the row as it was right after the approval, and the
    // index by request made again without the execution's records, its definition text put back.
    const db = new Database(databaseFile(h.dataDir));
    const now = db.prepare('SELECT version FROM requests WHERE id = ?').pluck().get(requestId) as number;
    const approved = (db.prepare('SELECT body FROM request_versions WHERE request_id = ? ORDER BY version').pluck().all(requestId) as string[]).map((b) => JSON.parse(b) as ApprovalRequest).filter((b) => b.state === 'approved').at(-1)!;
    db.prepare("UPDATE requests SET state = 'approved', version = ?, updated_at = ?, body = ? WHERE id = ?").run(now + 1, new Date().toISOString(), JSON.stringify({ ...approved, version: now + 1 }), requestId);
    db.close();
    indexesLeavingOut(databaseFile(h.dataDir), { request: ran });
    assert.deepEqual((await auditOf(h, { requestId })).filter((e) => ran.includes(e.seq)), [], 'read through the index, the execution is gone');

    // A start runs the approved requests (catch-up).
    const before = h.sandbox.requests.length;
    await h.bot.app.catchUp();
    await settled(h);
    assert.deepEqual(h.sandbox.requests.slice(before).map((r) => `${r.method} ${r.path}`), [], 'nothing was sent to Azure');
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'failed');
    const trail = await collect(h.bot.deps.store.audit.read({ requestId }, { scan: true }));
    assert.equal(trail.filter((e) => e.type === 'execution.started').length, 1, 'one execution, the first');
    const refused = trail.at(-1)!;
    assert.deepEqual([refused.type, refused.outcome.reason], ['approval.revoked', 'not-in-audit']);
    assert.match(refused.outcome.detail ?? '', new RegExp(`^Not executed: its execution was started already, and its records read through the database's index by request lack ${ran.length} that the audit log holds \\(record ${ran[0]} execution\\.started, `));
    assert.ok(h.logs.some((l) => l.level === 50 && l.index === 'audit_log_request' && JSON.stringify(l.leftOut) === JSON.stringify(ran) && String(l.msg).includes('REINDEX audit_log_request')), 'an error names the index');
  });

  it('executes once when the same approver double-clicks', async () => {
    const { cardId } = await requestVia(h, 'deploy production api-service');
    await Promise.all([h.teams.click(people.bob, cardId, 'approve'), h.teams.click(people.bob, cardId, 'approve')]);
    await settled(h);
    assert.equal(deploymentPuts(h).length, 1);
  });

  it('ignores card fields that claim a requester or an approver', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const forged = {
      requester: people.bob.aadObjectId,
      requesterId: people.bob.aadObjectId,
      approver: people.bob.aadObjectId,
      from: { aadObjectId: people.bob.aadObjectId },
      command: 'delete resource group production-api-service',
      approvals: 5,
    };
    const answer = await h.teams.click(people.alice, cardId, 'approve', { data: forged });
    assert.match(cardText(answer.body.value as Record<string, unknown>), /so you cannot approve it/);
    const byCarol = await h.teams.click(people.carol, cardId, 'approve', { data: forged });
    assert.match(cardText(byCarol.body.value as Record<string, unknown>), /You cannot approve request/);
    await settled(h);
    const r = await h.bot.deps.store.requests.get(requestId);
    assert.equal(r?.state, 'pending');
    assert.deepEqual(r?.approvals, []);
    assert.equal(r?.command, 'delete resource group');
    assert.ok(h.sandbox.state.liveGroup('staging-old'));
    assert.ok(h.sandbox.state.liveGroup('production-api-service'));
  });

  it("refuses a card whose data names another request's id, and changes neither request", async () => {
    const first = await requestVia(h, 'delete resource group staging-old');
    const second = await requestVia(h, 'delete resource group production-vm');
    // Bob edits the card of the first request so that its Approve names the second one.
    const answer = await h.teams.click(people.bob, first.cardId, 'approve', { data: { requestId: second.requestId, hash: second.data.hash } });
    assert.equal(answer.body.type, 'application/vnd.microsoft.activity.message');
    assert.match(String(answer.body.value), new RegExp(`This card does not belong to request ${second.requestId}`));
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(first.requestId))?.state, 'pending');
    assert.equal((await h.bot.deps.store.requests.get(second.requestId))?.state, 'pending');
    const refused = (await auditOf(h, { types: ['click.refused'] }))[0];
    assert.equal(refused.outcome.reason, 'card-mismatch');
    assert.equal(refused.request?.id, second.requestId);
  });

  it('refuses a stale card whose operation hash is not the pending one', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const answer = await h.teams.click(people.bob, cardId, 'approve', { data: { hash: 'f'.repeat(64) } });
    assert.match(cardText(answer.body.value as Record<string, unknown>), /This card for request .* is out of date/);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
  });

  it('answers a malformed card action clearly and records it', async () => {
    const res = await h.teams.post(
      h.teams.activity(people.bob, opsChannel, { type: 'invoke', name: 'adaptiveCard/action', replyToId: 'x', value: { action: { type: 'Action.Execute', data: 'not-an-object' } } }),
    );
    assert.equal(res.status, 200);
    assert.match(JSON.stringify(res.body), /This card action is malformed/);
    const unknown = await h.teams.post(
      h.teams.activity(people.bob, opsChannel, { type: 'invoke', name: 'adaptiveCard/action', replyToId: 'x', value: { action: { type: 'Action.Execute', verb: 'approve', data: { requestId: 'CS-NOPE0000' } } } }),
    );
    assert.match(JSON.stringify(unknown.body), /This card does not belong to request CS-NOPE0000/);
    const reasons = (await auditOf(h, { types: ['click.refused'] })).map((r) => r.outcome.reason);
    assert.deepEqual(reasons, ['unknown-action', 'unknown-request']);
  });

  it('answers a click whose edited id names a request that exists exactly as one naming none, so ids cannot be probed; the audit tells them apart', async () => {
    const first = await requestVia(h, 'delete resource group staging-old');
    const second = await requestVia(h, 'delete resource group production-vm');
    const absent = second.requestId.endsWith('Z') ? `${second.requestId.slice(0, -1)}Y` : `${second.requestId.slice(0, -1)}Z`;
    const answers: string[] = [];
    for (const requestId of [second.requestId, absent]) {
      for (const verb of ['approve', 'reject', 'cancel', 'ratify', 'no-such-verb']) {
        // Mallory, of another tenant, and Carol, who may decide nothing, edit Alice's first card.
        for (const who of [people.carol, people.mallory]) {
          const answer = await h.teams.click(who, first.cardId, verb, { data: { requestId, hash: second.data.hash } });
          answers.push(`${who.name} ${verb}: ${JSON.stringify(answer.body).replaceAll(requestId, '<id>')}`);
        }
      }
    }
    assert.deepEqual(answers.slice(answers.length / 2), answers.slice(0, answers.length / 2));
    assert.match(answers[0], /This card does not belong to request <id>; nothing was changed/);
    const reasons = (await auditOf(h, { types: ['click.refused'] })).map((r) => r.outcome.reason);
    assert.deepEqual(new Set(reasons.slice(0, reasons.length / 2)), new Set(['card-mismatch']));
    assert.deepEqual(new Set(reasons.slice(reasons.length / 2)), new Set(['unknown-request']));
  });

  it('refuses and audits a card action sent as a message (an Action.Submit or messageBack), deciding nothing, and says so', async () => {
    const { cardId, requestId, data } = await requestVia(h, 'delete resource group staging-old');
    const values = [
      { verb: 'approve', ...data },
      { action: { type: 'Action.Execute', verb: 'approve', data } },
      { msteams: { type: 'messageBack' }, verb: 'cancel', requestId },
    ];
    for (const [i, value] of values.entries()) {
      const from = await h.teams.say(i === 2 ? people.alice : people.bob, i === 2 ? 'Cancel' : '', opsChannel, value);
      const said = h.teams.since(from).map((s) => String(s.activity.text));
      assert.equal(said.length, 1, JSON.stringify(said));
      assert.match(said[0], new RegExp(`^\\[SANDBOX\\] This was sent as a message, saying "${i === 2 ? 'cancel' : 'approve'}" for ${requestId}, not by a button of a request card, so it decides nothing; nothing was changed\\. Use the buttons of its card \\("status ${requestId}" posts one\\)\\.$`));
    }
    // Replying to the card itself, as a client would send it, changes nothing either.
    await h.teams.post(h.teams.activity(people.bob, opsChannel, { type: 'message', replyToId: cardId, value: { verb: 'approve', ...data } }));
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
    const refused = await auditOf(h, { types: ['click.refused'] });
    assert.deepEqual(refused.map((r) => [r.outcome.reason, r.request?.id, r.data?.verb]), [
      ['unknown-action', requestId, 'approve'],
      ['unknown-action', requestId, 'approve'],
      ['unknown-action', requestId, 'cancel'],
      ['unknown-action', requestId, 'approve'],
    ]);
    // Its texts are held to a click's limits.
    const from = await h.teams.say(people.bob, '', opsChannel, { verb: 'approve', requestId: `CS-${'A'.repeat(300)}` });
    assert.match(String(h.teams.since(from)[0]?.activity.text), /requestId is 303 characters long/);
  });

  it('refuses and audits activities from a tenant that is not allowed', async () => {
    const from = await h.teams.say(people.mallory, 'deploy production api-service');
    assert.deepEqual(h.teams.since(from).map((s) => s.activity.text), [`[SANDBOX] Tenant ${people.mallory.tenantId} is not allowed to use Countersign.`]);
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const click = await h.teams.click(people.mallory, cardId, 'approve');
    assert.equal(click.body.value, `[SANDBOX] Tenant ${people.mallory.tenantId} is not allowed to use Countersign.`);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
    const refused = await auditOf(h, { types: ['tenant.refused'] });
    assert.equal(refused.length, 2);
    assert.equal(refused[0].actor?.tenantId, people.mallory.tenantId);
  });

  it('refuses a click whose two tenant ids differ, though one of them is allowed, naming both, and audits it', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const before = (await auditOf(h, { types: ['tenant.refused'] })).length;
    const card = h.connector.card(cardId);
    const data = (card as { actions?: { verb?: string; data?: Record<string, unknown> }[] }).actions?.find((x) => x.verb === 'approve')?.data ?? {};
    const click = h.teams.activity(people.bob, opsChannel, { type: 'invoke', name: 'adaptiveCard/action', replyToId: cardId, value: { action: { type: 'Action.Execute', verb: 'approve', data } } });
    (click.channelData as { tenant: { id: string } }).tenant.id = people.mallory.tenantId;
    const res = await h.teams.post(click);
    assert.equal(
      (res.body as { value?: unknown }).value,
      `[SANDBOX] This activity names two tenants, ${people.bob.tenantId} (conversation.tenantId) and ${people.mallory.tenantId} (channelData.tenant.id): it is not accepted.`,
    );
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
    const refused = (await auditOf(h, { types: ['tenant.refused'] })).slice(before);
    assert.equal(refused.length, 1);
    assert.equal(refused[0].outcome?.reason, 'tenant-not-allowed');
    assert.match(String(refused[0].outcome?.detail), new RegExp(`conversation\\.tenantId ${people.bob.tenantId} and channelData\\.tenant\\.id ${people.mallory.tenantId} differ`));
  });

  it('refuses and audits a click or message from a channel other than Microsoft Teams (Web Chat, Direct Line), whatever ids it carries', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const before = (await auditOf(h, { types: ['tenant.refused'] })).length;
    const card = h.connector.card(cardId);
    const data = (card as { actions?: { verb?: string; data?: Record<string, unknown> }[] }).actions?.find((x) => x.verb === 'approve')?.data ?? {};
    const click = h.teams.activity(people.bob, opsChannel, { type: 'invoke', name: 'adaptiveCard/action', replyToId: cardId, value: { action: { type: 'Action.Execute', verb: 'approve', data } } });
    click.channelId = 'directline';
    const res = await h.teams.post(click);
    assert.equal((res.body as { value?: unknown }).value, '[SANDBOX] Countersign works only in Microsoft Teams (channel msteams); this activity came from channel "directline", so nothing was done.');
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending', 'Bob\'s id from another channel approves nothing');
    const message = h.teams.activity(people.alice, opsChannel, { type: 'message', text: 'delete resource group staging-old' });
    message.channelId = 'webchat';
    await h.teams.post(message);
    const refused = (await auditOf(h, { types: ['tenant.refused'] })).slice(before);
    assert.deepEqual(refused.map((r) => [r.outcome?.reason, r.outcome?.detail, r.source?.channelId]), [
      ['channel-not-allowed', 'activity type invoke; channel directline, not msteams', 'directline'],
      ['channel-not-allowed', 'activity type message; channel webchat, not msteams', 'webchat'],
    ]);
  });

  it('records the first activities of a minute from another tenant or channel one by one, then counts the rest into one record and posts them no reply; people of the tenant stay recorded one by one', async () => {
    const budget = { ...REFUSAL_BUDGET };
    Object.assign(REFUSAL_BUDGET, { perMinute: 5 });
    try {
      const before = (await auditOf(h)).length;
      const sent = h.connector.sent.length;
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) {
        statuses.push((await h.teams.post(h.teams.activity(people.mallory, opsChannel, { type: 'typing' }))).status);
        statuses.push((await h.teams.post(h.teams.activity(people.mallory, opsChannel, { type: 'message', text: 'deploy production api-service' }))).status);
      }
      const fromWebChat = h.teams.activity(people.alice, opsChannel, { type: 'message', text: 'help' });
      fromWebChat.channelId = 'webchat';
      for (let i = 0; i < 5; i++) statuses.push((await h.teams.post(fromWebChat)).status);
      assert.deepEqual(new Set(statuses), new Set([200]));
      // A click past the budget is still answered in its HTTP answer, which posts nothing.
      const click = await h.teams.post(h.teams.activity(people.mallory, opsChannel, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'approve', data: {} } } }));
      assert.equal((click.body as { value?: unknown }).value, `[SANDBOX] Tenant ${people.mallory.tenantId} is not allowed to use Countersign.`);
      const replies = h.teams.since(sent).map((s) => s.activity.text);
      assert.deepEqual(replies, Array(2).fill(`[SANDBOX] Tenant ${people.mallory.tenantId} is not allowed to use Countersign.`), 'the two messages within the budget are told, the rest are not');
      // Alice's own refusal, past the budget: still recorded one by one.
      const { cardId } = await requestVia(h, 'delete resource group staging-old');
      await h.teams.click(people.alice, cardId, 'approve');
      await h.bot.app.flushRefusals();
      const added = (await auditOf(h)).slice(before);
      const refused = added.filter((r) => r.type === 'tenant.refused');
      assert.equal(refused.length, 6);
      assert.deepEqual(refused.slice(0, 5).map((r) => r.outcome?.reason), Array(5).fill('tenant-not-allowed'));
      const summary = refused[5];
      assert.equal(summary.outcome?.reason, 'repeated');
      assert.deepEqual(summary.data?.repeated && { ...(summary.data.repeated as object), from: undefined, to: undefined }, {
        count: 41,
        from: undefined,
        to: undefined,
        reasons: { 'tenant-not-allowed': 36, 'channel-not-allowed': 5 },
        tenants: { [people.mallory.tenantId]: 36, [people.alice.tenantId]: 5 },
        perMinute: 5,
      });
      assert.match(summary.outcome?.detail ?? '', /^Activity from a tenant or channel not served: 41 more from .* were counted, not recorded one by one \(at most 5 a minute are\): tenant-not-allowed 36, channel-not-allowed 5; from 2 tenants$/);
      assert.deepEqual(added.filter((r) => r.type === 'click.refused').map((r) => r.outcome?.reason), ['self-approval']);
      assert.equal((await verifyChain(h.bot.deps.store.audit.read())).ok, true);
    } finally {
      Object.assign(REFUSAL_BUDGET, budget);
    }
  });

  it('turns away an oversized activity from another channel or tenant at the gate: recorded as a claim, clipped, never as that person\'s refused request', async () => {
    const before = await auditOf(h);
    const fromWebChat = h.teams.activity(people.bob, opsChannel, { type: 'message', text: 'x'.repeat(20_000) });
    fromWebChat.channelId = 'webchat';
    await h.teams.post(fromWebChat);
    const fromMallory = h.teams.activity({ ...people.mallory, name: 'M'.repeat(5_000) }, opsChannel, { type: 'message', text: 'y'.repeat(20_000) });
    await h.teams.post(fromMallory);
    const added = (await auditOf(h)).slice(before.length);
    assert.deepEqual(added.map((r) => [r.type, r.outcome?.reason]), [
      ['tenant.refused', 'channel-not-allowed'],
      ['tenant.refused', 'tenant-not-allowed'],
    ]);
    assert.ok(added[1].actor!.name.length <= 256, `the claimed name is clipped (${added[1].actor!.name.length} characters)`);
    assert.ok(JSON.stringify(added).length < 4_000, 'no record grows with the attacker\'s input');
  });

  it('keeps the audit chain verifiable across a whole session of requests and decisions', async () => {
    // A reason with a line break, or a comment with another control character, is refused (and the
    // refusal audited); a comment's line breaks are taken as spaces; a display name from Teams with
    // one is taken, and neutralised in the trail.
    await h.teams.say(people.alice, 'deploy production api-service reason: line one\nline two');
    const a = await requestVia(h, 'deploy production api-service reason: line one');
    const b = await requestVia(h, 'delete resource group staging-old');
    await h.teams.click(people.bob, a.cardId, 'approve');
    await h.teams.click(people.bob, b.cardId, 'reject', { comment: 'no\u000bInjected: fake record' });
    await h.teams.click({ ...people.bob, name: 'Bob\r\nInjected: fake record' }, b.cardId, 'reject', { comment: 'not today' });
    const c = await requestVia(h, 'delete resource group staging-old');
    await h.teams.click(people.bob, c.cardId, 'reject', { comment: 'no\r\nInjected: fake record' });
    await settled(h);
    const all = await auditOf(h);
    assert.equal(all[0].type, 'config.loaded');
    assert.deepEqual(all.map((r) => r.seq), all.map((_, i) => i + 1), 'sequence numbers are gapless');
    const result = await verifyChain(h.bot.deps.store.audit.read());
    assert.equal(result.ok, true);
    assert.equal(result.count, all.length);
    const [rejected, second] = all.filter((r) => r.type === 'request.rejected');
    assert.equal(rejected.actor?.name, 'Bob\\r\\nInjected: fake record', 'CR/LF in text from Teams is neutralised');
    assert.equal(second.outcome.detail, 'no Injected: fake record', 'a comment of two lines is kept on one');
    assert.deepEqual(all.filter((r) => r.outcome.reason === 'unsafe-text').map((r) => r.type), ['request.refused', 'click.refused']);
    assert.ok(!JSON.stringify(all).includes('"attachments"'), 'no raw card payload is recorded');
  });
});

describe('an audit write that fails fails the step', function () {
  this.timeout(30000);

  it('answers that nothing changed, and leaves the request as it was', async () => {
    let failAudit = false;
    const h = await startHarness({
      wrapStore: (store: Store): Store => ({
        ...store,
        storageFault: (err) => store.storageFault(err),
        requests: {
          ...store.requests,
          get: (id) => store.requests.get(id),
          list: (q) => store.requests.list(q),
          insert: (r, e) => store.requests.insert(r, e),
          update: (next, v, events) => (failAudit ? Promise.reject(new Error('disk full')) : store.requests.update(next, v, events)),
        },
        audit: {
          ...store.audit,
          append: (events) => (failAudit ? Promise.reject(new Error('disk full')) : store.audit.append(events)),
          read: (f) => store.audit.read(f),
          head: () => store.audit.head(),
        },
      }),
    });
    try {
      const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
      failAudit = true;
      const answer = await h.teams.click(people.bob, cardId, 'approve');
      assert.match(String(answer.body.value), new RegExp(`could not record this action for request ${requestId}: [^.]*, so nothing was changed`));
      failAudit = false;
      await settled(h);
      assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
      assert.ok(h.sandbox.state.liveGroup('staging-old'));
      assert.match(cardText(h.connector.card(cardId)), /PENDING APPROVAL/);
    } finally {
      await h.stop();
    }
  });
});
