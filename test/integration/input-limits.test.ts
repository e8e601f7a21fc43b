/**
 * Client text cannot bloat the append-only trail: every field of an activity or card action has a
 * limit (docs/limits.md); past it the action is refused naming the field and the limit, and the
 * audit record keeps a bounded prefix, the length and a SHA-256, never the text itself.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { INPUT_LIMITS } from '../../src/domain/input-limits';
import { auditOf, requestVia } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';
import { cardOf } from '../support/connector';

const HUGE = 900 * 1024;
/** Generous: a refused click's record with every field at its limit stays far under this. */
const SMALL_RECORD = 6 * 1024;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('bounded client text (bot over HTTP)', function () {
  this.timeout(30000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  async function lastRecord() {
    const all = await auditOf(h);
    return all[all.length - 1];
  }

  it('refuses a click whose card data holds a 900 KB requestId, and audits it in a small record', async () => {
    const { cardId } = await requestVia(h, 'delete resource group staging-old');
    const huge = 'R'.repeat(HUGE);
    const answer = await h.teams.click(people.bob, cardId, 'approve', { data: { requestId: huge } });
    assert.equal(answer.status, 200);
    assert.match(String(answer.body.value), /requestId is 921600 characters long \(at most 64 are accepted\)/);
    const record = await lastRecord();
    assert.equal(record.type, 'click.refused');
    assert.equal(record.outcome.reason, 'input-too-long');
    assert.ok(JSON.stringify(record).length < SMALL_RECORD, `record is ${JSON.stringify(record).length} characters`);
    const kept = (record.data?.oversized as Record<string, { prefix: string; length: number; sha256: string; limit: number }>).requestId;
    assert.deepEqual(kept, { prefix: 'R'.repeat(64), length: HUGE, sha256: sha256(huge), limit: INPUT_LIMITS.requestId });
  });

  for (const [field, limit, activity] of [
    ['name', INPUT_LIMITS.name, (big: string) => h.teams.activity({ ...people.alice, name: big }, opsChannel, { type: 'message', text: 'help' })],
    ['conversationId', INPUT_LIMITS.conversationId, (big: string) => h.teams.activity(people.alice, { ...opsChannel, id: big }, { type: 'message', text: 'help' })],
    // A reply names the activity it answers in its URL: one past the connector's limits (the turn failed, 500).
    ['activityId', INPUT_LIMITS.activityId, (big: string) => ({ ...h.teams.activity(people.alice, opsChannel, { type: 'message', text: 'help' }), id: big })],
    ['tenantId', INPUT_LIMITS.tenantId, (big: string) => h.teams.activity({ ...people.alice, tenantId: big }, opsChannel, { type: 'message', text: 'help' })],
    ['messageText', INPUT_LIMITS.messageText, (big: string) => h.teams.activity(people.alice, opsChannel, { type: 'message', text: `delete resource group staging-old reason: ${big}` })],
    ['reason', INPUT_LIMITS.reason, (big: string) => h.teams.activity(people.alice, opsChannel, { type: 'message', value: { countersign: 'form', reason: big } })],
    ['parameter name', INPUT_LIMITS.parameterValue, (big: string) => h.teams.activity(people.alice, opsChannel, { type: 'message', value: { countersign: 'form', 'param.name': big } })],
  ] as const) {
    it(`refuses a message whose ${field} is huge, answering with the field and its limit, in a small audit record`, async () => {
      const before = h.connector.sent.length;
      // 300 KB: the tenant id is sent twice, and a body over 1 MB is refused before the bot sees it.
      const res = await h.teams.post(activity('x'.repeat(300 * 1024)));
      assert.equal(res.status, 200);
      const replies = h.teams.since(before).map((s) => String(s.activity.text));
      const record = await lastRecord();
      if (field === 'tenantId') {
        // No tenant allowed is that long: the tenant gate, which comes first, turns it away, clipped.
        assert.equal(record.type, 'tenant.refused');
        assert.equal(record.actor?.tenantId, 'x'.repeat(limit));
        assert.match(replies[0], new RegExp(`^\\[SANDBOX\\] Tenant x{${limit}} is not allowed to use Countersign\\.$`));
        assert.ok(JSON.stringify(record).length < SMALL_RECORD, `record is ${JSON.stringify(record).length} characters`);
        return;
      }
      assert.match(String(record.outcome.detail), new RegExp(`${field} is \\d+ characters long \\(at most ${limit} are accepted\\)`));
      if (field === 'conversationId') assert.equal(replies.length, 0, 'nothing is sent to a conversation id past its limit');
      else if (field === 'activityId') assert.equal(replies.length, 0, 'nothing is sent in reply to an activity id past its limit');
      else assert.match(replies[0], new RegExp(`${field} is \\d+ characters long \\(at most ${limit} are accepted\\)`));
      assert.equal(record.type, 'request.refused');
      assert.ok(JSON.stringify(record).length < SMALL_RECORD, `record is ${JSON.stringify(record).length} characters`);
    });
  }

  it('refuses a click with a huge comment, verb or conversation id, each in a small audit record', async () => {
    const { cardId } = await requestVia(h, 'delete resource group staging-api-service');
    const big = 'c'.repeat(HUGE);
    for (const options of [{ comment: big }, { data: { hash: big } }, { conversation: { ...opsChannel, id: big } }]) {
      const answer = await h.teams.click(people.bob, cardId, 'reject', options);
      assert.match(String(answer.body.value), /characters long \(at most \d+ are accepted\)/);
      const record = await lastRecord();
      assert.equal(record.type, 'click.refused');
      assert.ok(JSON.stringify(record).length < SMALL_RECORD);
    }
    const verb = await h.teams.click(people.bob, cardId, big);
    assert.match(String(verb.body.value), /verb is 921600 characters long \(at most 32 are accepted\)/);
    const state = (await h.bot.deps.store.requests.list({})).map((r) => r.state);
    assert.ok(state.every((s) => s === 'pending'), 'nothing was decided');
  });

  it('keeps a click refused for its comment in the trail of the request its card is for', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-web-frontend');
    for (const comment of ['c'.repeat(INPUT_LIMITS.comment + 1), 'no\u0007']) {
      const answer = await h.teams.click(people.bob, cardId, 'reject', { comment });
      assert.equal(answer.status, 200);
      const record = await lastRecord();
      assert.equal(record.type, 'click.refused');
      assert.equal(record.request?.id, requestId, 'the refusal names the request clicked');
      assert.equal((await auditOf(h, { requestId })).at(-1)?.id, record.id, "in the request's own trail (evidence, export by request)");
    }
  });

  it('refuses ids within their limit in characters but past it in UTF-8 bytes (the form state key holds three of them, past PostgreSQL\'s index limit), naming the bytes', async () => {
    // 400 characters of three bytes each: 1,200 bytes, past the 512 a Teams user id may have.
    const wide = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20000))).join('');
    const before = h.connector.sent.length;
    const res = await h.teams.post(h.teams.activity({ ...people.alice, id: wide(400) }, opsChannel, { type: 'message', text: 'help' }));
    assert.equal(res.status, 200);
    const record = await lastRecord();
    assert.equal(record.type, 'request.refused');
    assert.equal(record.outcome.reason, 'input-too-long');
    assert.match(String(record.outcome.detail), /userId is 1200 bytes long in UTF-8 \(at most 512 are accepted\)/);
    assert.equal((record.data?.oversized as Record<string, { bytes?: number; length: number }>).userId.bytes, 1200);
    assert.match(String(h.teams.since(before)[0]?.activity.text), /^\[SANDBOX\] Countersign refused this: userId is 1200 bytes long in UTF-8 \(at most 512 are accepted\)\. Nothing was changed\.$/);
    const click = await h.teams.click(people.bob, (await requestVia(h, 'delete resource group staging-old', people.dave)).cardId, 'approve', { conversation: { ...opsChannel, id: 'é'.repeat(257) } });
    // A conversation id may hold Latin-1 only (an HTTP header carries it): two bytes each.
    assert.match(String(click.body.value), /conversationId is 514 bytes long in UTF-8 \(at most 512 are accepted\)/);
  });

  it('does not record a card whose message id from Teams is past the activity id limit, and says why in words, not as a busy database', async () => {
    const { requestId } = await requestVia(h, 'delete resource group staging-web-frontend', people.dave);
    h.connector.postedId = (n, activity) => (cardOf(activity) ? `${n}-${'9'.repeat(300)}` : `activity-${n}`);
    try {
      const from = await h.teams.say(people.bob, `status ${requestId}`);
      const answers = h.teams.since(from).map((s) => String(s.activity.text ?? 'card'));
      assert.equal(answers[0], 'card');
      assert.match(answers[1], new RegExp(`^\\[SANDBOX\\] Countersign could not record the card above as request ${requestId}'s: Teams gave the message it posted an id of 30\\d characters, longer than the 256 Countersign takes \\(docs/limits\\.md\\), so its buttons will be refused\\.$`));
    } finally {
      h.connector.postedId = (n) => `activity-${n}`;
    }
    assert.ok(!(await h.bot.deps.store.cards.getCardMessages(requestId)).some((m) => m.activityId.length > INPUT_LIMITS.activityId));
  });

  it('accepts fields at their limit', async () => {
    const before = h.connector.sent.length;
    await h.teams.say({ ...people.alice, name: 'N'.repeat(INPUT_LIMITS.name) }, 'help');
    assert.ok(!h.teams.since(before).some((s) => /characters long/.test(String(s.activity.text))));
  });
});
