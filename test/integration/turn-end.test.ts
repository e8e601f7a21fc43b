/**
 * A message's turn and its store deadline: the time its replies wait for a slow Bot Connector is not
 * its store work's, so the card it posted is still recorded (its buttons work); and a turn whose
 * answers went, and whose person's form state could not be saved after them (the store stalled or
 * failing at the turn's very end, past its deadline), stands: the person is not told in a second
 * message that nothing was changed.
 */
import assert from 'node:assert/strict';
import { TURN_STORE_DEADLINE_MS } from '../../src/app/ports';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';

describe('a message\'s turn and its store deadline', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.stop());

  it('records the new request\'s card posted past the turn\'s store deadline: its buttons are not refused', async () => {
    // The card posted to the channel is answered after the turn's whole store deadline.
    h.connector.postDelayMs = (activity) => ((activity.conversation as { id?: string } | undefined)?.id === opsChannel.id && Array.isArray(activity.attachments) ? TURN_STORE_DEADLINE_MS + 1000 : 0);
    const from = await h.teams.say(people.alice, 'delete resource group staging-old');
    const texts = h.teams.since(from).filter((s) => s.conversationId === opsChannel.id).map((s) => String(s.activity.text ?? ''));
    assert.ok(!texts.some((t) => /could not record the card above/.test(t)), texts.join('\n'));
    assert.ok(!h.logs.some((l) => l.msg === 'a posted card could not be recorded: its buttons will be refused'));
    h.connector.postDelayMs = () => 0;
  });

  it('gives a message that waited behind the same person\'s slow one its own time for its store work: both requests are made', async () => {
    h.connector.postDelayMs = (activity) => ((activity.conversation as { id?: string } | undefined)?.id === opsChannel.id && Array.isArray(activity.attachments) ? TURN_STORE_DEADLINE_MS + 1000 : 0);
    const from = h.connector.sent.length;
    const first = h.teams.say(people.alice, 'delete resource group staging-api-service');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await h.teams.say(people.alice, 'delete resource group staging-web-frontend');
    await first;
    h.connector.postDelayMs = () => 0;
    const texts = h.teams.since(from).filter((s) => s.conversationId === opsChannel.id).map((s) => String(s.activity.text ?? ''));
    assert.ok(!texts.some((t) => /could not handle this message/.test(t)), texts.join('\n'));
    const made = (await h.bot.deps.store.requests.list({})).map((r) => r.operation.kind === 'deleteResourceGroup' ? r.operation.resourceGroup : '');
    assert.ok(made.includes('staging-web-frontend'), made.join(', '));
  });

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
