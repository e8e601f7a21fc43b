/**
 * The requester's side: typed commands, the form dialog for missing or bad parameters, the
 * confirmation, and the read-only answers (help, pending, status, resources).
 */
import assert from 'node:assert/strict';
import { cardActions, cardOf, cardText } from '../support/connector';
import { startHarness, type Harness } from '../support/harness';
import { shown, opsChannel, people, type Conversation } from '../support/teams';

const alicePersonal: Conversation = { id: 'a:personal-alice', conversationType: 'personal' };
const bobPersonal: Conversation = { id: 'a:personal-bob', conversationType: 'personal' };

/** The last card posted since `from` (updates of earlier messages are not new cards). */
function lastCard(h: Harness, from: number): Record<string, unknown> | undefined {
  // Not the cards approvers are sent in personal chats Countersign started.
  const cards = h.teams.since(from).filter((s) => s.kind !== 'update' && !h.connector.startedChat(s.conversationId)).map((s) => cardOf(s.activity)).filter(Boolean);
  return cards[cards.length - 1];
}

/** The id of the last card message posted since `from`. */
function lastCardId(h: Harness, from: number): string {
  return h.teams.since(from).filter((s) => s.kind !== 'update' && !h.connector.startedChat(s.conversationId) && cardOf(s.activity)).at(-1)!.id;
}

/** The message a form or confirmation became once it was answered: its latest update. */
function closedAs(h: Harness, messageId: string): Record<string, unknown> | undefined {
  return cardOf(h.connector.updates(messageId).at(-1)?.activity ?? {});
}

function lastText(h: Harness, from: number): string {
  const texts = h.teams.since(from).map((s) => s.activity.text).filter((t): t is string => typeof t === 'string');
  return texts[texts.length - 1] ?? '';
}

/** Every TextBlock/Input/choice of a card, with the Input values, so forms can be read. */
function inputs(card: Record<string, unknown> | undefined): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.type === 'string' && o.type.startsWith('Input.')) found.push(o);
      Object.values(o).forEach(walk);
    }
  };
  walk(card);
  return found;
}

describe('requesting in Teams (bot over HTTP)', function () {
  this.timeout(30000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  it('answers help with the catalog, marked SANDBOX', async () => {
    const from = await h.teams.say(people.carol, 'help', alicePersonal);
    const text = cardText(lastCard(h, from));
    assert.match(text, /SANDBOX/);
    assert.ok(text.includes("deploy \\<production\\|staging\\> \\<api-service\\|web-frontend\\>: Deploy a service's ARM template"), text);
    // The example's description is in words: a reader of help sees no raw {placeholders}.
    assert.ok(text.includes('to the resource group named after its environment and service'), text);
    assert.doesNotMatch(text, /\{environment\}|\{service\}/);
    assert.match(text, /delete resource group \\<name\\>.*needs 1 approval from platform-approvers within 1 hour; you may not request it/);
    assert.match(text, /resources \\<group\\>: List the resources of a resource group \(read-only, no approval\)\n/);
    assert.match(text, /pending: requests waiting for you/);
    // Its examples are dates to come (tomorrow and in three days by Countersign's clock), never past ones.
    const day = (n: number) => new Date(h.clock.now().getTime() + n * 86_400_000).toISOString().slice(0, 10);
    assert.ok(text.includes(`at ${day(1)}T02:00, at 02:00 in your time zone`), text);
    assert.ok(text.includes(`until ${day(3)}, until ${day(3)}T18:00`), text);
  });

  it('answers help <command> with that command alone, and says so when the words name no command', async () => {
    let from = await h.teams.say(people.alice, 'help deploy', alicePersonal);
    let text = cardText(lastCard(h, from));
    assert.match(text, /Help: deploy/);
    assert.ok(text.includes("deploy \\<production\\|staging\\> \\<api-service\\|web-frontend\\>: Deploy a service's ARM template"), text);
    assert.doesNotMatch(text, /delete resource group|resources \\<group\\>|pending:/, 'only the command asked about');
    // A word that begins several: each of them.
    from = await h.teams.say(people.alice, 'help delete', alicePersonal);
    text = cardText(lastCard(h, from));
    for (const name of ['delete resource group', 'delete vm', 'delete storage account']) assert.ok(text.includes(name), `${name} in ${text}`);
    assert.doesNotMatch(text, /deploy \\</);
    // A built-in, and a whole command line typed after help.
    from = await h.teams.say(people.alice, 'help revoke', alicePersonal);
    assert.match(cardText(lastCard(h, from)), /revoke delegation \\\[@person\\\]: end your delegation now/);
    from = await h.teams.say(people.alice, 'help deploy production api-service', alicePersonal);
    assert.match(cardText(lastCard(h, from)), /Help: deploy production api-service[\s\S]*deploy \\<production/);
    // Words that name nothing: said, with what was probably meant; no list card.
    from = await h.teams.say(people.alice, 'help deplyo', alicePersonal);
    assert.equal(lastText(h, from), '[SANDBOX] I don\'t know the command "deplyo". There is no help for it. Did you mean: deploy? Type "help" alone for every command.');
    assert.equal(lastCard(h, from), undefined);
    // "?" is help, with words too; a card's button named after help is said to be one.
    from = await h.teams.say(people.alice, '? deploy', alicePersonal);
    assert.match(cardText(lastCard(h, from)), /Help: deploy/);
    from = await h.teams.say(people.alice, 'help approve', alicePersonal);
    assert.equal(shown(lastText(h, from)), '[SANDBOX] Approve is a button on a request\'s card, not a typed command: the card shows what you decide. Type "pending" for the requests waiting for you, with their cards, or "status <request-id>" for one request\'s card.');
  });

  it('says plainly which words a command does not take, and what it takes', async () => {
    let from = await h.teams.say(people.alice, 'list groups now', alicePersonal);
    assert.equal(shown(lastText(h, from)), '[SANDBOX] "now" is more than list groups takes: it takes no parameters. Type it as: list groups');
    from = await h.teams.say(people.alice, 'resources rg-web please', alicePersonal);
    assert.equal(shown(lastText(h, from)), '[SANDBOX] "please" is more than resources takes: it takes 1 parameter, group. Type it as: resources <group>');
  });

  it('strips the @mention in a channel', async () => {
    const activity = h.teams.activity(people.alice, opsChannel, {
      type: 'message',
      text: '<at>Countersign</at> help',
      entities: [{ type: 'mention', text: '<at>Countersign</at>', mentioned: { id: 'bot-countersign', name: 'Countersign' } }],
    });
    const from = h.connector.sent.length;
    assert.equal((await h.teams.post(activity)).status, 200);
    assert.match(cardText(lastCard(h, from)), /Countersign commands/);
  });

  it('tells an unknown command apart, with suggestions and a pointer to help', async () => {
    const from = await h.teams.say(people.alice, 'deplyo production api-service', alicePersonal);
    assert.equal(lastText(h, from), '[SANDBOX] I don\'t know the command "deplyo". Did you mean: deploy? Type "help" for the list.');
  });

  it('quotes the words that name no command, not the whole line: up to the first word no command goes on with', async () => {
    const from = await h.teams.say(people.alice, 'delete resurce group staging-old', alicePersonal);
    assert.equal(lastText(h, from), '[SANDBOX] I don\'t know the command "delete resurce". Did you mean: delete resource group? Type "help" for the list.');
    const start = await h.teams.say(people.alice, 'delete resource', alicePersonal);
    assert.match(lastText(h, start), /^\[SANDBOX\] I don't know the command "delete resource"\./);
  });

  it('says the command comes first when a message begins with its reason', async () => {
    const from = await h.teams.say(people.alice, 'reason: release 2.4', alicePersonal);
    assert.equal(shown(lastText(h, from)), '[SANDBOX] I don\'t know the command "reason:". A message begins with its command; its reason comes last: "<command> <parameters> reason: <why>". Type "help" for the list.');
  });

  it('names an invisible character in an unknown command, rather than quoting it as the very command it would then read as', async () => {
    // A zero-width space pasted with the word: "help" and "help\u200B" look the same.
    let from = await h.teams.say(people.alice, 'help\u200B', alicePersonal);
    assert.equal(lastText(h, from), '[SANDBOX] I don\'t know the command "help[U+200B]". It holds an invisible character (U+200B, character 5). Type it without such characters (they come with pasted text). Did you mean: help? Type "help" for the list.');
    from = await h.teams.say(people.alice, 'pend\u2060ing', alicePersonal);
    assert.match(lastText(h, from), /^\[SANDBOX\] I don't know the command "pend\[U\+2060\]ing"\. It holds an invisible character \(U\+2060, character 5\)\./);
  });

  it('offers "revoke delegation" for revoke alone, or a slip of it', async () => {
    for (const typed of ['revoke', 'revkoe delegation']) {
      const from = await h.teams.say(people.alice, typed, alicePersonal);
      assert.match(lastText(h, from), /Did you mean: revoke delegation\?/, typed);
    }
  });

  it('offers the built-in command a typo was meant to be', async () => {
    let from = await h.teams.say(people.alice, 'hepl', alicePersonal);
    assert.equal(lastText(h, from), '[SANDBOX] I don\'t know the command "hepl". Did you mean: help? Type "help" for the list.');
    from = await h.teams.say(people.alice, 'pendng', alicePersonal);
    assert.equal(lastText(h, from), '[SANDBOX] I don\'t know the command "pendng". Did you mean: pending? Type "help" for the list.');
  });

  it('refuses a delete or an action of a resource Azure does not have, naming it, and creates nothing', async () => {
    const before = (await h.bot.deps.store.requests.list({})).length;
    let from = await h.teams.say(people.alice, 'delete vm vm-web-01 reason: typo check', opsChannel);
    assert.equal(
      shown(lastText(h, from)),
      '[SANDBOX] There is no vm-web-01 (Microsoft.Compute/virtualMachines) in resource group production-vm in Azure now, so "delete vm" has nothing to act on and was not put up for approval. Check the name: "resources <group>" lists what is in a group.',
    );
    from = await h.teams.say(people.alice, 'vm powerOff vm-web-01', opsChannel);
    assert.match(shown(lastText(h, from)), /^\[SANDBOX\] There is no vm-web-01 \(Microsoft\.Compute\/virtualMachines\) in resource group production-vm in Azure now, so "vm" has nothing to act on/);
    assert.equal((await h.bot.deps.store.requests.list({})).length, before, 'nothing was asked');
  });

  it('refuses the delete of a resource group Azure does not have, pointing to the command that lists them', async () => {
    const before = (await h.bot.deps.store.requests.list({})).length;
    const from = await h.teams.say(people.alice, 'delete resource group staging-olde reason: cleanup', opsChannel);
    assert.equal(
      shown(lastText(h, from)),
      '[SANDBOX] There is no resource group staging-olde in Azure now, so "delete resource group" has nothing to act on and was not put up for approval. Check the name: "list groups" lists the subscription\'s resource groups.',
    );
    assert.equal((await h.bot.deps.store.requests.list({})).length, before, 'nothing was asked');
  });

  it('refuses a tag write on a group or resource Azure does not have, before anyone is asked to approve what Azure would refuse', async () => {
    const before = (await h.bot.deps.store.requests.list({})).length;
    let from = await h.teams.say(people.alice, 'tag staging-olde owner platform reason: typo check', opsChannel);
    assert.equal(
      shown(lastText(h, from)),
      '[SANDBOX] There is no resource group staging-olde in Azure now, so "tag" has nothing to act on and was not put up for approval. Check the name: "list groups" lists the subscription\'s resource groups.',
    );
    from = await h.teams.say(people.alice, 'tag vm vm-web-01 owner platform', opsChannel);
    assert.match(shown(lastText(h, from)), /^\[SANDBOX\] There is no vm-web-01 \(Microsoft\.Compute\/virtualMachines\) in resource group production-vm in Azure now, so "tag vm" has nothing to act on/);
    assert.equal((await h.bot.deps.store.requests.list({})).length, before, 'nothing was asked');
  });

  it('answers a typed cancel with how to cancel, not as an unknown command', async () => {
    let from = await h.teams.say(people.alice, 'cancel CS-XXXX', alicePersonal);
    assert.equal(lastText(h, from), '[SANDBOX] To cancel CS-XXXX, use the Cancel button on its card (the requester can; approvers too while it waits for its run time). Type "status CS-XXXX" to have its card posted here.');
    from = await h.teams.say(people.alice, 'Cancel', alicePersonal);
    assert.match(shown(lastText(h, from)), /^\[SANDBOX\] To cancel a request, use the Cancel button on its card .*Type "status <request-id>" to have its card posted here, or "pending" to see your open requests\.$/);
  });

  it('answers a read-only command typed wrong with what was wrong and how it is typed', async () => {
    let from = await h.teams.say(people.alice, 'resources', alicePersonal);
    assert.equal(shown(lastText(h, from)), '[SANDBOX] group is missing (the resource group\'s name). Type it as: resources <group>');
    from = await h.teams.say(people.alice, 'show app database', alicePersonal);
    assert.equal(shown(lastText(h, from)), '[SANDBOX] app must be one of api-service, web-frontend; got "database". Type it as: show app <api-service|web-frontend>');
  });

  it('answers a typed approve or reject with the card button that decides, not as an unknown command', async () => {
    const before = (await h.bot.deps.store.requests.list({})).map((r) => `${r.id}:${r.version}`);
    let from = await h.teams.say(people.bob, 'approve CS-XXXX', opsChannel);
    assert.equal(shown(lastText(h, from)), '[SANDBOX] Countersign does not take a typed "approve": use the Approve button on CS-XXXX\'s card (type "status CS-XXXX" to have it posted here), which shows what you are deciding. Nothing was decided.');
    from = await h.teams.say(people.bob, 'Reject', opsChannel);
    assert.equal(shown(lastText(h, from)), '[SANDBOX] Countersign does not take a typed "reject": use the Reject button on the request\'s card (type "pending" for the requests waiting for you, with their cards), which shows what you are deciding. Nothing was decided.');
    from = await h.teams.say(people.dave, 'ratify CS-XXXX', opsChannel);
    assert.match(shown(lastText(h, from)), /use the Ratify break-glass button on CS-XXXX's card/);
    assert.deepEqual((await h.bot.deps.store.requests.list({})).map((r) => `${r.id}:${r.version}`), before, 'nothing was decided');
  });

  it('asks for missing and invalid parameters with a form, checks them, and creates the request after confirmation', async () => {
    let from = await h.teams.say(people.alice, 'deploy production', alicePersonal);
    let form = lastCard(h, from);
    let formId = lastCardId(h, from);
    assert.match(cardText(form), /Complete your request: deploy/);
    // Nothing typed wrong yet: no error box for the value still to be filled in.
    assert.doesNotMatch(cardText(form), /is missing/);
    const fields = inputs(form).map((i) => ({ id: i.id, value: i.value }));
    assert.deepEqual(fields, [
      { id: 'param.environment', value: 'production' },
      { id: 'param.service', value: '' },
      { id: 'reason', value: '' },
    ]);

    from = await h.teams.say(people.alice, '', alicePersonal, { countersign: 'form', command: 'deploy', 'param.environment': 'production', 'param.service': 'database', reason: '' });
    form = lastCard(h, from);
    assert.match(cardText(form), /service must be one of api-service, web-frontend; got "database"/);
    assert.match(cardText(closedAs(h, formId)), /Replaced[\s\S]*Some values need fixing/);
    assert.deepEqual(closedAs(h, formId)?.actions ?? [], [], 'the replaced form has no buttons');
    formId = lastCardId(h, from);

    from = await h.teams.say(people.alice, '', alicePersonal, { countersign: 'form', command: 'deploy', 'param.environment': 'staging', 'param.service': 'api-service', reason: 'canary' });
    const confirm = lastCard(h, from);
    const confirmId = lastCardId(h, from);
    assert.doesNotMatch(cardText(closedAs(h, formId)), /must be one of/, 'the fixed form no longer shows the error');
    assert.match(cardText(closedAs(h, formId)), /^Sent$/m);
    assert.match(cardText(confirm), /Ask for this\?[\s\S]*deploy staging api-service[\s\S]*canary[\s\S]*Needs 1 approval from platform-approvers \(not you\) within 4 hours\./);
    assert.equal(await h.bot.deps.store.requests.list({}).then((l) => l.length), 0, 'nothing is requested before confirmation');

    from = await h.teams.say(people.alice, '', alicePersonal, { countersign: 'confirm', command: 'deploy' });
    const card = lastCard(h, from);
    assert.match(cardText(card), /PENDING APPROVAL[\s\S]*asks to \*\*deploy api-service to staging\*\*: canary[\s\S]*staging-api-service/);
    const requestId = cardActions(card)[0].data.requestId as string;
    const stored = await h.bot.deps.store.requests.get(requestId);
    assert.deepEqual(stored?.parameters, { environment: 'staging', service: 'api-service' });
    assert.equal(stored?.reason, 'canary');
    assert.match(cardText(closedAs(h, confirmId)), new RegExp(`Requested: ${requestId}[\\s\\S]*This confirmation created request ${requestId}`));
    assert.deepEqual(closedAs(h, confirmId)?.actions ?? [], []);

    // A copy of the old confirmation that missed the update, clicked again: it names what it created, and creates nothing.
    from = h.connector.sent.length;
    await h.teams.post(h.teams.activity(people.alice, alicePersonal, { type: 'message', text: '', replyToId: confirmId, value: { countersign: 'confirm', command: 'deploy' } }));
    assert.equal(lastText(h, from), `[SANDBOX] This confirmation already created request ${requestId}. Type "status ${requestId}" to see where it stands.`);
    assert.equal((await h.bot.deps.store.requests.list({})).length, 1);
  });

  it('keeps the run time typed with the command through the form and its retry, and shows it before confirming', async () => {
    const at = new Date(h.clock.now().getTime() + 3 * 3600_000).toISOString().slice(0, 16) + 'Z';
    let from = await h.teams.say(people.alice, `deploy production at ${at} reason: night release`, alicePersonal);
    assert.match(cardText(lastCard(h, from)), /Complete your request: deploy/);
    // A wrong value first: the form comes back (a new dialog) and must still carry the time.
    from = await h.teams.say(people.alice, '', alicePersonal, { countersign: 'form', command: 'deploy', 'param.environment': 'production', 'param.service': 'database', reason: 'night release' });
    assert.match(cardText(lastCard(h, from)), /must be one of/);
    from = await h.teams.say(people.alice, '', alicePersonal, { countersign: 'form', command: 'deploy', 'param.environment': 'production', 'param.service': 'api-service', reason: 'night release' });
    assert.match(cardText(lastCard(h, from)), new RegExp(`Runs at[\\s\\S]*${at.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(once approved\\)`));
    from = await h.teams.say(people.alice, '', alicePersonal, { countersign: 'confirm', command: 'deploy' });
    const requestId = cardActions(lastCard(h, from))[0].data.requestId as string;
    const stored = await h.bot.deps.store.requests.get(requestId);
    assert.equal(stored?.requestedRunAt, new Date(at).toISOString());
  });

  it('cancels the form when asked, and treats a late submission as no longer active', async () => {
    let from = await h.teams.say(people.alice, 'delete resource group', alicePersonal);
    assert.match(cardText(lastCard(h, from)), /Complete your request: delete resource group/);
    const formId = lastCardId(h, from);
    from = await h.teams.say(people.alice, '', alicePersonal, { countersign: 'form-cancel', command: 'delete resource group' });
    assert.equal(lastText(h, from), '[SANDBOX] Cancelled: nothing was requested.');
    assert.match(cardText(closedAs(h, formId)), /Cancelled[\s\S]*Nothing was requested/);
    assert.deepEqual(closedAs(h, formId)?.actions ?? [], []);
    from = await h.teams.say(people.alice, '', alicePersonal, { countersign: 'form', command: 'delete resource group', 'param.name': 'staging-old' });
    assert.match(lastText(h, from), /That form is no longer active/);
  });

  it('refuses a parameter given twice by name, naming both values, and creates nothing', async () => {
    const before = (await h.bot.deps.store.requests.list({})).length;
    const from = await h.teams.say(people.alice, 'scale plan capacity=5 capacity=6 reason: more room for the sale', alicePersonal);
    const form = lastCard(h, from);
    assert.match(cardText(form), /Complete your request: scale plan/);
    assert.ok(cardText(form).includes('capacity is given twice (5 and 6): give it once'), cardText(form));
    assert.deepEqual(inputs(form).find((i) => i.id === 'param.capacity')?.value, '', 'neither value is taken for the person');
    assert.equal((await h.bot.deps.store.requests.list({})).length, before, 'nothing was requested');
  });

  it('names a double quote that is never closed, and where it stands, instead of "extra words"', async () => {
    const from = await h.teams.say(people.alice, 'tag staging-old owner "platform team reason: fix owner', alicePersonal);
    const text = cardText(lastCard(h, from));
    assert.match(text, /Complete your request: tag/);
    assert.ok(text.includes('the double quote at character 23 is never closed ("platform team reason: fix owner): close it with another " or leave it out'), text);
    assert.doesNotMatch(text, /is more than .* takes/);
  });

  it('shows a parameter\'s pattern in the form\'s plain-text placeholder and error message as written, not markdown-escaped', async () => {
    const from = await h.teams.say(people.alice, 'create resource group rg-new westeurope', alicePersonal);
    const owner = inputs(lastCard(h, from)).find((i) => i.id === 'param.owner') ?? assert.fail('no owner field');
    assert.equal(owner.placeholder, 'matching ^[a-z][a-z0-9-]{1,40}$');
    assert.equal(owner.errorMessage, 'matching ^[a-z][a-z0-9-]{1,40}$');
    assert.equal(owner.regex, '^[a-z][a-z0-9-]{1,40}$');
  });

  it('refuses a bad value for a read-only command with what was wrong', async () => {
    const from = await h.teams.say(people.alice, 'resources bad/name', alicePersonal);
    assert.match(lastText(h, from), /group "bad\/name" does not match the allowed form/);
  });

  it('names a typed value past its limit with its length and the limit, as limits.md says', async () => {
    const from = await h.teams.say(people.alice, `resources ${'g'.repeat(250)}`, alicePersonal);
    assert.equal(shown(lastText(h, from)), '[SANDBOX] group is 250 characters long (at most 200 are accepted). Type it as: resources <group>');
  });

  it('lists the resources of a resource group at once, with no approval', async () => {
    const from = await h.teams.say(people.carol, 'resources production-api-service', alicePersonal);
    const text = cardText(lastCard(h, from));
    assert.match(text, /api-service/);
    assert.match(text, /Microsoft\.Web\/sites|Microsoft.Web\/sites/);
    assert.equal((await h.bot.deps.store.requests.list({})).filter((r) => r.command === 'resources').length, 0);
  });

  it('refuses a request from someone without the requester role, and audits it', async () => {
    const from = await h.teams.say(people.carol, 'delete resource group staging-old', alicePersonal);
    assert.equal(lastText(h, from), '[SANDBOX] You cannot request "delete resource group": it needs the role "requesters".');
    const refused = [];
    for await (const r of h.bot.deps.store.audit.read({ types: ['request.refused'] })) refused.push(r);
    assert.equal(refused[refused.length - 1].outcome.reason, 'not-allowed-to-request');
  });

  it('shows pending work to an approver, with cards they can act on from a personal chat', async () => {
    const made = await h.teams.say(people.alice, 'delete resource group staging-old reason: cleanup', opsChannel);
    const requestId = cardActions(lastCard(h, made))[0].data.requestId as string;
    await h.bot.app.tellingIdle(); // Bob was also sent the card in a personal chat Countersign started: not what this looks at
    const from = await h.teams.say(people.bob, 'pending', bobPersonal);
    const cards = h.teams.since(from).filter((s) => cardOf(s.activity));
    assert.match(cardText(cardOf(cards[0].activity)), new RegExp(`Waiting for your decision[\\s\\S]*${requestId}: delete resource group staging-old by Alice Requester`));
    const mine = cards.find((c) => cardActions(cardOf(c.activity)).some((a) => a.data.requestId === requestId));
    assert.ok(mine, 'the request card is posted into the personal chat');
    await h.teams.click(people.bob, mine.id, 'approve', { conversation: bobPersonal });
    await h.bot.executor.idle();
    await h.bot.notifier.idle();
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'succeeded');
    assert.match(cardText(h.connector.card(mine.id)), /SUCCEEDED/, 'the personal-chat copy is updated');
    const channelCard = [...h.connector.cardsIn(opsChannel.id).values()].find((c) => cardText(c).includes(requestId));
    assert.match(cardText(channelCard), /SUCCEEDED/, 'the channel copy is updated too');
  });

  it('shows when each pending request expires in the reader\'s time, and still escapes what was typed', async () => {
    const made = await h.teams.say(people.alice, 'tag staging-web-frontend owner "{{DATE(x)}} *bold*" reason: pending card times', opsChannel);
    const requestId = cardActions(lastCard(h, made))[0].data.requestId as string;
    const expiresAt = (await h.bot.deps.store.requests.get(requestId))!.expiresAt.replace(/\.\d+Z$/, 'Z');
    const from = await h.teams.say(people.alice, 'pending', alicePersonal);
    const text = cardText(lastCard(h, from));
    const line = text.split('\n').find((l) => l.startsWith(`${requestId}:`)) ?? assert.fail(text);
    assert.equal(line, `${requestId}: tag staging-web-frontend owner "{\u200B{DATE(x)}} \\*bold\\*" by Alice Requester, pending approval, 0 of 1 approval, expires {{DATE(${expiresAt}, SHORT)}} {{TIME(${expiresAt})}}`);
  });

  it('posts no card of a request into a shared conversation it is not in: status and pending say where to look instead', async () => {
    const groupChat: Conversation = { id: '19:group-chat-of-four@thread.v2', conversationType: 'groupChat' };
    const made = await h.teams.say(people.alice, 'delete resource group production-vm reason: incident INC-4711, do not share', alicePersonal);
    const requestId = cardActions(lastCard(h, made))[0].data.requestId as string;
    await h.bot.app.tellingIdle();

    let from = await h.teams.say(people.bob, 'pending', groupChat);
    let posted = h.teams.since(from).filter((s) => s.conversationId === groupChat.id);
    assert.equal(posted.length, 1, 'the list, and no request card');
    const list = cardText(cardOf(posted[0].activity));
    assert.doesNotMatch(list, new RegExp(requestId));
    assert.doesNotMatch(list, /INC-4711|production-vm/);
    assert.match(list, /Only the requests of this conversation are listed here\. \d+ others? asked elsewhere: type "pending" in your personal chat with Countersign/);

    from = await h.teams.say(people.bob, `status ${requestId}`, groupChat);
    posted = h.teams.since(from).filter((s) => s.conversationId === groupChat.id);
    assert.deepEqual(posted.map((s) => cardOf(s.activity)), [undefined], 'a text, no card');
    assert.equal(
      shown(lastText(h, from)),
      `[SANDBOX] Request ${requestId} was not asked in this conversation, so its card is not posted here, where everyone would read it. Type "status ${requestId}" in your personal chat with Countersign.`,
    );
    assert.equal(await h.bot.deps.store.cards.getCardMessages(requestId).then((c) => c.some((m) => m.conversationId === groupChat.id)), false);

    // In a personal chat, and in the conversation it was asked in, the card is posted as before.
    from = await h.teams.say(people.bob, `status ${requestId}`, bobPersonal);
    assert.match(cardText(lastCard(h, from)), /PENDING APPROVAL/);
    from = await h.teams.say(people.alice, `status ${requestId}`, alicePersonal);
    assert.match(cardText(lastCard(h, from)), /PENDING APPROVAL/);
  });

  it("shows a request's status to those involved, and hides it from others", async () => {
    const made = await h.teams.say(people.alice, 'tag production-vm owner platform', opsChannel);
    const requestId = cardActions(lastCard(h, made))[0].data.requestId as string;
    let from = await h.teams.say(people.alice, `status ${requestId}`, alicePersonal);
    assert.match(cardText(lastCard(h, from)), /PENDING APPROVAL/);
    from = await h.teams.say(people.carol, `status ${requestId}`, alicePersonal);
    assert.equal(lastText(h, from), `[SANDBOX] There is no request ${requestId} that you can see.`);
    from = await h.teams.say(people.alice, 'status', alicePersonal);
    // Sent as character references: Teams would read <request-id> as a tag and drop it (src/teams/chat-text.ts).
    assert.match(lastText(h, from), /Usage: status &#60;request-id&#62;/);
    assert.match(shown(lastText(h, from)), /Usage: status <request-id>/);
  });
});
