/**
 * The same sensitive command sent as two messages (a person who thinks the first was lost, a paste
 * sent twice): one request, the second message answered with the open one, through the bot.
 */
import assert from 'node:assert/strict';
import { auditOf, requestVia } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';

const RESTART = '<at>Countersign</at> vm restart batch-worker-01 reason: stuck after patching';

describe('the same operation asked for in two messages (bot over HTTP)', function () {
  this.timeout(30000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.stop();
  });

  /** The bot's texts since `from`. */
  const textsSince = (from: number): string[] => h.teams.since(from).map((s) => s.activity.text).filter((t): t is string => typeof t === 'string');

  it('makes one request of two messages, the second told which request is open, where it stands and how to see it', async () => {
    const first = await requestVia(h, RESTART);
    const from = await h.teams.say(people.alice, '<at>Countersign</at> vm restart batch-worker-01 reason: the first seems lost', opsChannel);
    const texts = textsSince(from);
    assert.ok(
      texts.some((t) => t.includes(`You already asked for this: request ${first.requestId} (vm restart batch-worker-01) is waiting for approval, so nothing new was requested and it will not run twice. Type "status ${first.requestId}" to see it.`)),
      JSON.stringify(texts),
    );
    const requests = (await h.bot.deps.store.requests.list({})).filter((r) => r.parameters.vm === 'batch-worker-01' && r.parameters.action === 'restart');
    assert.deepEqual(requests.map((r) => r.id), [first.requestId]);
    const refused = (await auditOf(h, { types: ['request.refused'] })).filter((r) => r.outcome.reason === 'already-requested');
    assert.equal(refused.length, 1);
    assert.equal(refused[0].actor?.aadObjectId, people.alice.aadObjectId);
    assert.equal(refused[0].data?.openRequest, first.requestId);
  });

  it('makes one request of two messages sent at once', async () => {
    const send = () => h.teams.post(h.teams.activity(people.alice, opsChannel, { type: 'message', text: '<at>Countersign</at> vm start batch-worker-01' }));
    const answers = await Promise.all([send(), send()]);
    assert.deepEqual(answers.map((a) => a.status), [200, 200]);
    await h.bot.app.tellingIdle();
    assert.equal((await h.bot.deps.store.requests.list({})).filter((r) => r.parameters.vm === 'batch-worker-01' && r.parameters.action === 'start').length, 1);
  });

  it('lets another requester ask for the same operation: a request of their own', async () => {
    const theirs = await requestVia(h, RESTART, people.dave);
    const alices = (await h.bot.deps.store.requests.list({})).filter((r) => r.parameters.action === 'restart' && r.id !== theirs.requestId);
    assert.equal(alices.length, 1);
  });
});
