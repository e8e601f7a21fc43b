/**
 * A turn whose answers went, and whose person's form state could not be saved after them (the
 * store stalled or failing at the turn's very end, past its deadline): the answers stand, and the
 * person is not told in a second message that nothing was changed.
 */
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';

describe('the form state saved after a turn\'s answers', function () {
  this.timeout(30_000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.stop());

  it('failing is logged, and does not add "could not handle this message ... nothing was changed" under the answer already given', async () => {
    h.bot.dialogStorage.write = async () => {
      throw new Error('the database did not answer before the turn\'s deadline');
    };
    const from = await h.teams.say(people.alice, 'delete resource group');
    const texts = h.teams.since(from).filter((s) => s.conversationId === opsChannel.id).map((s) => JSON.stringify(s.activity));
    assert.ok(texts.length > 0, 'the form was posted');
    assert.ok(!texts.some((t) => /could not handle this message/.test(t)), texts.join('\n'));
    assert.ok(h.logs.some((l) => l.msg === 'the form state of this turn could not be saved: its answers stand' && /did not answer/.test(String(l.err))));
  });
});
