/**
 * Teams sends a message again, with the same activity id, when the bot took more than about 15 s to
 * answer it. The second sending meets the request the first made: one message, one request.
 */
import assert from 'node:assert/strict';
import { auditOf } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';

describe('a typed message Teams sends again', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.stop();
  });

  it('makes one request, and the second sending is told which', async () => {
    const activity = h.teams.activity(people.alice, opsChannel, { type: 'message', text: '<at>Countersign</at> delete resource group staging-old' });
    const from = h.connector.sent.length;
    // Sent twice at once (the second while the first's turn still runs), then once more after it.
    const answers = await Promise.all([h.teams.post(activity), h.teams.post(activity)]);
    answers.push(await h.teams.post(activity));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    const requests = await h.bot.deps.store.requests.list({});
    assert.equal(requests.length, 1);
    const id = requests[0].id;
    const texts = h.teams.since(from).map((s) => s.activity.text).filter((t): t is string => typeof t === 'string');
    assert.equal(texts.filter((t) => t.includes(`This message already created request ${id}.`)).length, 2, JSON.stringify(texts));
    assert.equal((await auditOf(h)).filter((r) => r.type === 'request.created').length, 1);
  });
});
