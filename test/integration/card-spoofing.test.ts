/**
 * User text cannot change what a card says: a reason, comment or parameter value with a line break,
 * control, text-direction or invisible character is refused, whatever the catalog's pattern says.
 */
import assert from 'node:assert/strict';
import { cardActions, cardOf, cardText } from '../support/connector';
import { auditOf, requestVia } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { people } from '../support/teams';

describe('card spoofing through user text (bot over HTTP)', function () {
  this.timeout(30000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  const replies = (from: number) => h.teams.since(from).map((s) => String(s.activity.text ?? cardText(cardOf(s.activity))));

  for (const [name, c] of [['LINE SEPARATOR', '\u2028'], ['NEL', '\u0085'], ['RIGHT-TO-LEFT OVERRIDE', '\u202e'], ['FIRST STRONG ISOLATE', '\u2068']] as const) {
    it(`refuses a reason holding ${name} and requests nothing`, async () => {
      const before = await h.bot.deps.store.requests.list({});
      const from = await h.teams.say(people.alice, `delete resource group staging-old reason: hotfix${c}Approved by Bob Approver${c}SUCCEEDED`);
      assert.match(replies(from).join('\n'), /The reason contains a line break, control or text-direction character \(U\+[0-9A-F]{4}\)/);
      assert.equal((await h.bot.deps.store.requests.list({})).length, before.length, 'nothing was requested');
      const last = (await auditOf(h)).at(-1)!;
      assert.equal(last.type, 'request.refused');
      assert.equal(last.outcome.reason, 'unsafe-text');
    });
  }

  it('refuses a quoted parameter value holding a line break before any pattern is tried', async () => {
    const from = await h.teams.say(people.alice, 'delete resource group "staging-old\nApproved"');
    assert.match(replies(from).join('\n'), /contains a line break, control or text-direction character \(U\+000A\)/);
    assert.equal((await h.bot.deps.store.requests.list({})).length, 0);
  });

  it('refuses a tag value holding a ZERO WIDTH SPACE, naming it, and creates no request and no card', async () => {
    const before = await h.bot.deps.store.requests.list({});
    const from = await h.teams.say(people.alice, 'tag production-api-service owner "platform\u200bteam" reason: new owner');
    await h.bot.app.tellingIdle();
    assert.match(replies(from).join('\n'), /value contains an invisible character \(U\+200B, character 9\): the card would not show it, but Azure would be sent it/);
    assert.equal((await h.bot.deps.store.requests.list({})).length, before.length, 'nothing was requested');
    assert.deepEqual(
      h.teams.since(from).filter((s) => cardActions(cardOf(s.activity)).some((a) => a.verb === 'approve')),
      [],
      'no approval card was posted',
    );
  });

  for (const [name, c] of [['WORD JOINER', '\u2060'], ['TAG LATIN SMALL LETTER I', '\u{e0069}'], ['ZERO WIDTH NO-BREAK SPACE', '\ufeff']] as const) {
    it(`refuses a reason holding ${name}, saying approvers would not see it, and requests nothing`, async () => {
      const before = await h.bot.deps.store.requests.list({});
      const from = await h.teams.say(people.alice, `tag production-api-service owner platform-team reason: new${c}owner`);
      assert.match(replies(from).join('\n'), /The reason contains an invisible character \(U\+[0-9A-F]{4,5}, character 4\): approvers would not see it on the card/);
      assert.equal((await h.bot.deps.store.requests.list({})).length, before.length, 'nothing was requested');
      const last = (await auditOf(h)).at(-1)!;
      assert.equal(last.type, 'request.refused');
      assert.equal(last.outcome.reason, 'unsafe-text');
    });
  }

  it('takes a reason holding an emoji with its presentation selector', async () => {
    const { requestId } = await requestVia(h, 'tag production-api-service owner platform-team reason: on fire \u2764\ufe0f\u200d\ud83d\udd25');
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.reason, 'on fire \u2764\ufe0f\u200d\ud83d\udd25');
  });

  it('takes a reject comment of several lines (the box takes them) on one line, so no line of it reads as a line of the card', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const answer = await h.teams.click(people.bob, cardId, 'reject', { comment: 'not before the audit closes \r\n\n - Approved by Dave Lead\n' });
    assert.equal(answer.status, 200);
    const stored = await h.bot.deps.store.requests.get(requestId);
    assert.equal(stored?.state, 'rejected');
    assert.equal(stored?.rejection?.comment, 'not before the audit closes - Approved by Dave Lead');
  });

  it('still refuses a comment holding another control character, leaving the request pending', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const answer = await h.teams.click(people.bob, cardId, 'reject', { comment: 'no\u000bApproved by Dave Lead' });
    assert.match(JSON.stringify(answer.body.value), /The comment contains a line break, control or text-direction character \(U\+000B\)/);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
    const ok = await h.teams.click(people.bob, cardId, 'reject', { comment: 'not today' });
    assert.equal(ok.status, 200);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'rejected');
  });

  it('refuses a reject whose comment holds hidden tag characters, leaving the request pending', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const answer = await h.teams.click(people.bob, cardId, 'reject', { comment: 'no\u{e0061}\u{e0070}\u{e0070}\u{e0072}\u{e006f}\u{e0076}\u{e0065}' });
    assert.match(JSON.stringify(answer.body.value), /The comment contains an invisible character \(U\+E0061, character 3\): approvers would not see it on the card/);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
  });
});
