/**
 * Teams' per-person cards: the shared card asks the requester's and approvers' clients for their own
 * view, and the bot answers each with only the buttons that person can use.
 */
import assert from 'node:assert/strict';
import { cardActions } from '../support/connector';
import { requestVia } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';

describe('per-person request cards (bot over HTTP)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('names the requester, the approvers and the auditors for a refresh, and answers each with their own buttons', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const shared = h.connector.card(cardId) as { refresh?: { userIds?: string[]; action?: { verb?: string } } };
    assert.equal(shared.refresh?.action?.verb, 'refresh');
    // Alice was seen (she asked): her Teams id; Bob and Dave approve but were not seen yet: their Entra form.
    assert.ok(shared.refresh?.userIds?.includes(people.alice.id), JSON.stringify(shared.refresh));
    assert.ok(shared.refresh?.userIds?.includes(`8:orgid:${people.bob.aadObjectId}`), JSON.stringify(shared.refresh));
    // An auditor reads cards too (status), and may use none of the buttons: named, after those who decide.
    const ids = shared.refresh?.userIds ?? [];
    assert.ok(ids.indexOf(`8:orgid:${people.erin.aadObjectId}`) > ids.indexOf(`8:orgid:${people.bob.aadObjectId}`), JSON.stringify(ids));

    const view = async (person: (typeof people)[keyof typeof people]) => {
      const answer = await h.teams.click(person, cardId, 'refresh', { data: { requestId } });
      assert.equal(answer.status, 200);
      return cardActions(answer.body.value as Record<string, unknown>).map((a) => a.verb);
    };
    assert.deepEqual(await view(people.bob), ['approve', 'reject']);
    assert.deepEqual(await view(people.alice), ['cancel']);
    // An auditor may see any request (as with status), with no buttons.
    assert.deepEqual(await view(people.erin), []);
    // A refresh decides nothing.
    assert.deepEqual(await view(people.bob), ['approve', 'reject']);
  });

  it('shows nobody a request they may not see by status: someone with no role is told there is none, from the card or anywhere else', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    for (const id of [requestId, requestId.toLowerCase()]) {
      const answer = await h.teams.click(people.carol, cardId, 'refresh', { data: { requestId: id } });
      assert.deepEqual([answer.status, answer.body.value], [200, `[SANDBOX] There is no request ${id} that you can see.`]);
    }
    const fromStatus = await h.teams.say(people.carol, `status ${requestId}`);
    assert.ok(h.teams.since(fromStatus).some((s) => s.activity.text === `[SANDBOX] There is no request ${requestId} that you can see.`), 'the same answer as status');
    // Each is in the request's trail, as what it was; a refresh Bob may see, and the view a refused click is answered with, record nothing more.
    await h.teams.click(people.bob, cardId, 'refresh', { data: { requestId } });
    await h.teams.click(people.carol, cardId, 'approve', { data: { requestId } });
    const refused = [];
    for await (const r of h.bot.deps.store.audit.read({ types: ['request.refused'] })) refused.push(r);
    assert.deepEqual(
      refused.map((x) => [x.actor?.aadObjectId, x.outcome.reason, x.request?.id, x.data?.command, x.data?.requestId]),
      [
        [people.carol.aadObjectId, 'not-allowed-to-see', requestId, 'refresh', requestId],
        [people.carol.aadObjectId, 'not-allowed-to-see', requestId, 'refresh', requestId],
        [people.carol.aadObjectId, 'not-allowed-to-see', requestId, 'status', requestId],
      ],
    );
  });

  it('names a refresh whose request id is missing or not text, instead of "There is no request ."', async () => {
    const { cardId } = await requestVia(h, 'delete resource group staging-old');
    const answer = async (data: Record<string, unknown>) => (await h.teams.click(people.bob, cardId, 'refresh', { data })).body.value;
    assert.equal(await answer({ requestId: 5 }), "[SANDBOX] This card refresh's requestId must be text, got 5; nothing to show.");
    assert.equal(await answer({ requestId: { id: 'CS-1' } }), '[SANDBOX] This card refresh\'s requestId must be text, got {"id":"CS-1"}; nothing to show.');
    assert.equal(await answer({ requestId: '' }), '[SANDBOX] This card refresh names no request (its requestId is missing); nothing to show.');
  });

  it('names a refresh whose requestId is a list nested too deeply to write out, instead of failing the turn (500)', async () => {
    const { cardId } = await requestVia(h, 'delete resource group staging-old');
    // 20,000 levels (40 kB, far within the 1 MB body): written out again it exceeded the call stack.
    const depth = 20_000;
    const activity = h.teams.activity(people.bob, opsChannel, { type: 'invoke', name: 'adaptiveCard/action', replyToId: cardId, value: { action: { type: 'Action.Execute', verb: 'refresh', data: { requestId: 'DEEP' } } } });
    const body = JSON.stringify(activity).replace('"DEEP"', '['.repeat(depth) + ']'.repeat(depth));
    const res = await fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(res.status, 200, await res.clone().text());
    const answer = (await res.json()) as { value: unknown };
    assert.equal(answer.value, "[SANDBOX] This card refresh's requestId must be text, got a list nested too deeply to write out; nothing to show.");
  });
});
