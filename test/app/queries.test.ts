/** What people may ask about: help, their pending list, a request's status, read-only queries, and the tenant gate. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PENDING_SHOWN, UNTRUSTED_STORE } from '../../src/app/queries';
import { openSqliteStore } from '../../src/store/sqlite';
import Database from 'better-sqlite3';
import { tempDir } from '../store/fixtures';
import { pendingCard } from '../../src/cards/lists';
import { cardText } from '../support/connector';
import { REFUSAL_BUDGET } from '../../src/app/refusal-budget';
import { policyLines } from '../../src/domain/policy-text';
import { RefusalReason } from '../../src/domain/refusal';
import { appOnFakes, appOnStore, type AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, carol, dave, EXAMPLE_CONFIG, erin, mallory, sourceIn } from '../support/people';
import { asked, click, freshFakesEachTest, settle, statusShown } from './steps';

describe('app: queries', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f });

  it('says in help where a command may be asked for, when not everywhere, and a required reason apart from the time to decide', async () => {
    const text = fs
      .readFileSync(EXAMPLE_CONFIG, 'utf8')
      .replace(/(- name: delete resource group[\s\S]*?)ttl: 1h\n      conversations:\n        types: \[channel, groupChat, personal\]\n/, '$1ttl: 1h\n      reason: { required: true }\n      conversations:\n        types: [channel]\n');
    assert.ok(text.includes('types: [channel]\n'), 'the example config changed');
    f = appOnFakes({ configText: text });
    const entry = (await f.app.help(alice)).find((e) => e.usage === 'delete resource group <name>');
    assert.equal(entry?.approval, 'needs 1 approval from platform-approvers within 1 hour; a reason is required; asked only in a channel');
  });

  it('says in pending and status that the request store cannot be trusted while requests are gone from it (SQLite: the table emptied under it), not "(none)"', async () => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'countersign.db');
    const g = appOnStore(await openSqliteStore({ file }));
    try {
      const r = await asked(g, alice, 'delete resource group staging-old');
      const before = cardText(pendingCard(await g.app.pending(bob), false));
      assert.ok(before.includes(r.id) && !before.includes(UNTRUSTED_STORE), before);
      // Someone empties the table under the running instance (a sqlite3 shell; PostgreSQL's TRUNCATE).
      const shell = new Database(file);
      shell.exec('DELETE FROM requests');
      shell.close();
      const view = await g.app.pending(bob);
      assert.match(view.untrusted ?? '', /^Countersign's request store cannot be trusted right now: a request it had stored is missing from its database/);
      assert.equal(view.untrusted, UNTRUSTED_STORE);
      assert.ok(cardText(pendingCard(view, false)).includes("Countersign's request store cannot be trusted right now"), 'said above the empty lists');
      const where = sourceIn({ id: 'a:personal-alice', conversationType: 'personal' });
      assert.deepEqual(await g.app.statusIn(alice, r.id, where), { say: UNTRUSTED_STORE });
      assert.match(UNTRUSTED_STORE, /\/readyz/);
      assert.match(UNTRUSTED_STORE, /`countersign audit verify`/);
    } finally {
      await settle(g);
      await g.store.close();
      tmp.remove();
    }
  });

  it('shows in help every command with its approval rule, and which ones this person may ask for', async () => {
    const forAlice = await f.app.help(alice);
    const forCarol = await f.app.help(carol);
    const line = (entries: typeof forAlice, usage: string) => entries.find((e) => e.usage === usage);
    assert.deepEqual(line(forAlice, 'delete resource group <name>'), {
      usage: 'delete resource group <name>',
      description: 'Delete a resource group and everything in it',
      approval: 'needs 1 approval from platform-approvers within 1 hour',
      allowed: true,
    });
    assert.equal(line(forCarol, 'delete resource group <name>')?.allowed, false);
    assert.equal(line(forCarol, 'resources <group>')?.approval, 'read-only, no approval');
    assert.equal(line(forCarol, 'resources <group>')?.allowed, true);
    assert.equal(forAlice.length, f.config.catalog.commands.length);
  });

  it('says in help that a read-only command whose policy names who may run it is not for someone outside those roles', async () => {
    const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8').replace('      kind: listResourceGroups\n', '      kind: listResourceGroups\n    policy:\n      requesterRoles: [auditors]\n');
    assert.ok(text.includes('requesterRoles: [auditors]'), 'the example config changed');
    f = appOnFakes({ configText: text });
    const entry = async (who: typeof alice) => (await f.app.help(who)).find((e) => e.usage === 'list groups');
    assert.equal((await entry(carol))?.allowed, false);
    assert.equal((await entry(erin))?.allowed, true);
    // As running it answers: Carol is refused.
    const command = f.config.catalog.find('list groups')!;
    const run = await f.app.runQuery(command, {}, carol, sourceIn());
    assert.ok(!run.ok, JSON.stringify(run));
  });

  it("lists what an approver can decide apart from their own requests, and leaves out what they approved or what is past its time", async () => {
    const mine = await asked(f, alice, 'delete resource group staging-old');
    const davesOwn = await asked(f, dave, 'delete resource group staging-older');
    const forBob = await f.app.pending(bob);
    assert.deepEqual(forBob.toDecide.map((r) => r.id), [mine.id, davesOwn.id]);
    assert.deepEqual(forBob.mine, []);
    const forDave = await f.app.pending(dave);
    assert.deepEqual(forDave.toDecide.map((r) => r.id), [mine.id]);
    assert.deepEqual(forDave.mine.map((r) => r.id), [davesOwn.id]);
    const forAlice = await f.app.pending(alice);
    assert.deepEqual(forAlice.toDecide, []);
    assert.deepEqual(forAlice.mine.map((r) => r.id), [mine.id]);
    assert.deepEqual((await f.app.pending(carol)).toDecide, []);
    f.clock.advance(3600_000);
    assert.deepEqual((await f.app.pending(bob)).toDecide, []);
  });

  it('writes in pending each request\'s command as it would be typed again: a group named like another command\'s next word is named (tag group=vm), not read as that command', async () => {
    // The shipped example has both "tag" (a group, a key, a value) and "tag vm" (a virtual machine, a key, a value).
    const group = await asked(f, alice, 'tag group=vm owner platform');
    assert.equal(group.command, 'tag');
    const vm = await asked(f, alice, 'tag vm web-1 owner platform');
    assert.equal(vm.command, 'tag vm');
    const text = cardText(pendingCard(await f.app.pending(bob), false));
    assert.ok(text.includes(`${group.id}: tag group=vm owner platform by `), text);
    assert.ok(text.includes(`${vm.id}: tag vm web-1 owner platform by `), text);
    // Typed again as listed, each is the same command with the same values.
    for (const [r, line] of [[group, 'tag group=vm owner platform'], [vm, 'tag vm web-1 owner platform']] as const) {
      const again = f.app.interpret(line);
      assert.ok(again.kind === 'ready', again.kind);
      assert.deepEqual([again.command.name, again.values], [r.command, r.parameters]);
    }
  });

  it('pages through a long queue: the oldest it can show, and how many there are in all', async () => {
    const first = await asked(f, alice, 'delete resource group staging-old');
    const davesOwn = await asked(f, dave, 'delete resource group staging-older');
    // 1,200 more of Alice's, each a second younger: more than two of the pages pending reads at a time.
    for (let i = 0; i < 1200; i++) {
      const createdAt = new Date(Date.parse(first.createdAt) + (i + 1) * 1000).toISOString();
      await f.store.requests.insert({ ...first, id: `${first.id}-${i}`, createdAt }, []);
    }
    const forBob = await f.app.pending(bob);
    assert.equal(forBob.toDecideCount, 1202);
    assert.equal(forBob.toDecide.length, PENDING_SHOWN);
    assert.deepEqual(forBob.toDecide.slice(0, 3).map((r) => r.id), [first.id, davesOwn.id, `${first.id}-0`]);
    const forAlice = await f.app.pending(alice);
    assert.equal(forAlice.mineCount, 1201);
    assert.equal(forAlice.mine.length, PENDING_SHOWN);
    const forDave = await f.app.pending(dave);
    assert.equal(forDave.toDecideCount, 1201, "Alice's, not his own");
    assert.deepEqual([forDave.mineCount, forDave.mine.map((r) => r.id)], [1, [davesOwn.id]]);
  });

  it('shows a request to its requester, its approvers and auditors, and to nobody else', async () => {
    const r = await asked(f, alice, 'delete resource group staging-old');
    for (const who of [alice, bob, dave, erin]) assert.equal((await statusShown(f, who, r.id))?.id, r.id, who.name);
    assert.equal(await statusShown(f, carol, r.id), undefined);
    assert.equal(await statusShown(f, mallory, r.id), undefined);
    assert.equal(await statusShown(f, alice, 'CS-NOSUCH'), undefined);
    await click(f, bob, r, 'reject');
    assert.equal((await statusShown(f, alice, ` ${r.id} `))?.state, 'rejected');
  });

  it('lists and shows the other requests when one stored row does not read as a request, and logs that one by its id', async () => {
    const damaged = await asked(f, alice, 'delete resource group staging-old');
    const intact = await asked(f, dave, 'delete resource group staging-older');
    // What someone with write access to the database could write: an approval in the wrong layout.
    const row = await f.request(damaged.id);
    const edited = { ...row, version: row.version + 1, approvals: [{ approverId: dave.aadObjectId, at: f.clock.now().toISOString(), operationHash: row.operationHash }] };
    f.store.state.requests.set(damaged.id, { version: edited.version, text: JSON.stringify(edited) });
    assert.deepEqual((await f.app.pending(bob)).toDecide.map((r) => r.id), [intact.id]);
    assert.deepEqual((await f.app.pending(alice)).mine, []);
    assert.equal(await statusShown(f, alice, damaged.id), undefined);
    assert.equal(await f.app.personalView(bob, damaged.id), undefined);
    assert.equal((await statusShown(f, dave, intact.id))?.id, intact.id);
    const logged = f.log.lines.filter((l) => l.level === 'error').map((l) => [l.requestId, l.problem]);
    assert.ok(logged.length > 0);
    for (const line of logged) assert.deepEqual(line, [damaged.id, 'its stored row does not read as a request (approvals[0].approver is missing)']);
  });

  it('says what a request id looks like to "status" with something that is none, and what was meant when it is plain', async () => {
    const r = await asked(f, alice, 'delete resource group staging-old');
    const where = { channelId: 'msteams', conversationId: 'a:personal-alice', conversationType: 'personal' as const };
    const say = async (typed: string) => {
      const answer = await f.app.statusIn(alice, typed, where);
      return 'say' in answer ? answer.say : `card of ${answer.show.id}`;
    };
    const digits = r.id.slice(3);
    // The id without its CS- (or with another separator): nothing is looked up, the shape is said.
    for (const typed of [digits, `CS${digits}`, `cs_${digits.toLowerCase()}`]) {
      assert.equal(await say(typed), `"${typed}" is not a request id: request ids are CS- and 8 letters or digits, such as CS-7K3M9QXW. Did you mean ${r.id}? Type "pending" to see your open requests.`, typed);
    }
    assert.equal(await say('CS-7K3M9Q'), '"CS-7K3M9Q" is not a request id: request ids are CS- and 8 letters or digits, such as CS-7K3M9QXW. Type "pending" to see your open requests.');
    assert.equal(await say('#7K3M9QXW'), '"#7K3M9QXW" is not a request id: request ids are CS- and 8 letters or digits, such as CS-7K3M9QXW. Type "pending" to see your open requests.');
    // In quotes (a client's curly ones) or brackets, the id is read: the answer names it as read.
    assert.equal(await say('“cs-7k3m9qxw”'), 'There is no request CS-7K3M9QXW that you can see.');
    assert.equal(await say(`“${r.id}”`), `card of ${r.id}`);
    // One of the right shape that this person may not see, or that is nobody's, is not told apart.
    assert.equal(await say('CS-7K3M9QXW'), 'There is no request CS-7K3M9QXW that you can see.');
    assert.equal(await f.app.statusIn(carol, r.id, where).then((a) => ('say' in a ? a.say : '')), `There is no request ${r.id} that you can see.`);
    assert.equal(await say(`${r.id.toLowerCase()}.`), `card of ${r.id}`);
    // A look-alike letter read as its digit is said, or the answer would name an id nobody typed.
    assert.equal(await say('cs-nope1234'), 'There is no request CS-N0PE1234 (typed CS-NOPE1234: I and L are read as 1, O as 0) that you can see.');
  });

  it('records a "status" of a request its asker may not see, or that none has, as what it was, though both are answered alike; a typo is not recorded', async () => {
    const r = await asked(f, alice, 'delete resource group staging-old');
    const where = sourceIn({ id: 'a:personal-carol', conversationType: 'personal' }, 'status-1');
    const said = async (typed: string) => {
      const answer = await f.app.statusIn(carol, typed, where);
      return 'say' in answer ? answer.say : `card of ${answer.show.id}`;
    };
    assert.equal(await said(r.id), `There is no request ${r.id} that you can see.`);
    assert.equal(await said('cs-7k3m9qxw'), 'There is no request CS-7K3M9QXW that you can see.');
    assert.match(await said('CS-7K3'), /is not a request id/);
    // Her own request's card is shown, and nothing is recorded for it.
    assert.ok('show' in (await f.app.statusIn(alice, r.id, sourceIn({ id: 'a:personal-alice', conversationType: 'personal' }))));
    const refused = await f.audit({ types: ['request.refused'] });
    assert.deepEqual(
      refused.map((x) => [x.actor?.aadObjectId, x.source?.conversationId, x.outcome.reason, x.outcome.detail, x.request?.id, x.data]),
      [
        [carol.aadObjectId, 'a:personal-carol', RefusalReason.NotAllowedToSee, `There is no request ${r.id} that you can see.`, r.id, { command: 'status', readOnly: true, requestId: r.id }],
        [carol.aadObjectId, 'a:personal-carol', RefusalReason.UnknownRequest, 'There is no request CS-7K3M9QXW that you can see.', undefined, { command: 'status', readOnly: true, requestId: 'CS-7K3M9QXW' }],
      ],
    );
    // In the request's own trail (an export by request, its evidence bundle).
    assert.ok((await f.audit({ requestId: r.id })).some((x) => x.type === 'request.refused' && x.actor?.aadObjectId === carol.aadObjectId));
  });

  it('records a flood of "status" probes one by one up to each person\'s own budget a minute, then counts them per person into one record', async () => {
    const budget = { ...REFUSAL_BUDGET };
    Object.assign(REFUSAL_BUDGET, { perMinute: 3 });
    try {
      const where = sourceIn({ id: 'a:personal-carol', conversationType: 'personal' });
      for (let i = 0; i < 10; i++) await f.app.statusIn(i < 8 ? carol : mallory, `CS-7K3M9Q${String(i).padStart(2, '0')}`, where);
      const oneByOne = await f.audit({ types: ['request.refused'] });
      assert.deepEqual(
        oneByOne.map((x) => x.actor?.aadObjectId),
        [carol.aadObjectId, carol.aadObjectId, carol.aadObjectId, mallory.aadObjectId, mallory.aadObjectId],
        "Carol's flood used up her own 3 of the minute, not Mallory's: both of his are recorded one by one",
      );
      await f.app.flushRefusals();
      const records = await f.audit({ types: ['request.refused'] });
      assert.equal(records.length, 6);
      const summary = records[5];
      assert.equal(summary.outcome.reason, 'repeated');
      assert.deepEqual(summary.data?.repeated && (summary.data.repeated as { people?: unknown; count?: unknown }).people, { [carol.aadObjectId]: 5 });
      assert.equal(summary.data?.readOnly, true);
      assert.match(String(summary.outcome.detail), /^status or card refresh of a request not seen \(no such request, or not theirs to see\): 5 more from .* were counted, not recorded one by one \(at most 3 a minute per person are\): unknown-request 5; from 1 person$/);
    } finally {
      Object.assign(REFUSAL_BUDGET, budget);
    }
  });

  it('runs a read-only command at once, without a request', async () => {
    const meant = f.app.interpret('resources rg-web');
    assert.equal(meant.kind, 'ready');
    if (meant.kind !== 'ready') return;
    const answer = await f.app.runQuery(meant.command, meant.values, carol, sourceIn());
    assert.equal(answer.ok, true);
    assert.equal(f.azure.queries.length, 1);
    assert.deepEqual(await f.store.requests.list({}), []);
    const refused = await f.app.runQuery(meant.command, meant.values, mallory, sourceIn());
    assert.equal(refused.ok, false);
    assert.equal(f.azure.queries.length, 1);
  });
});

describe('app: read-only commands, who may run them, and their record', () => {
  const EXAMPLE = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
  /** The example config with a policy on `resources`. */
  function withReaders(policyYaml: string): string {
    const at = EXAMPLE.indexOf('    sensitive: false\n', EXAMPLE.indexOf('  - name: resources\n'));
    assert.ok(at > 0, 'the example config changed');
    return EXAMPLE.slice(0, at) + `    sensitive: false\n    policy: ${policyYaml}\n` + EXAMPLE.slice(at + '    sensitive: false\n'.length);
  }
  const personal = { id: 'a:personal', conversationType: 'personal' as const };

  async function run(f: AppOnFakes, who: typeof carol, where = sourceIn()) {
    const meant = f.app.interpret('resources rg-web');
    assert.equal(meant.kind, 'ready');
    if (meant.kind !== 'ready') throw new Error('not ready');
    return f.app.runQuery(meant.command, meant.values, who, where);
  }

  it('records what it read, for whom, as query.run, before the answer is shown', async () => {
    const f = appOnFakes();
    const answer = await run(f, carol);
    assert.equal(answer.ok, true);
    const records = await f.audit();
    assert.deepEqual(
      records.map((r) => [r.type, r.actor?.aadObjectId, r.outcome.result, r.data?.command, r.data?.parameters, r.target?.resourceGroup]),
      [['query.run', carol.aadObjectId, 'ok', 'resources', { group: 'rg-web' }, 'rg-web']],
    );
    assert.equal(records[0].data?.rows, answer.ok ? answer.result.rows.length : -1);
  });

  it('gives no answer whose record could not be written, and says so', async () => {
    const f = appOnFakes();
    f.store.audit.append = () => Promise.reject(new Error('disk full'));
    const answer = await run(f, carol);
    assert.deepEqual(answer, { ok: false, error: 'Countersign could not record this read in its audit log, so its answer is not shown. Try again in a moment.', whole: true });
  });

  it('runs only for its requesterRoles and from its conversations, refusals audited as request.refused', async () => {
    const f = appOnFakes({ configText: withReaders('{ requesterRoles: [platform-approvers], conversations: { types: [personal] } }') });
    assert.deepEqual(await run(f, carol, sourceIn(personal)), { ok: false, error: 'You cannot run "resources": it needs the role "platform-approvers".', whole: true });
    assert.deepEqual(await run(f, bob), { ok: false, error: '"resources" cannot be run in a channel; allowed: personal chat.', whole: true });
    assert.equal((await run(f, bob, sourceIn(personal))).ok, true);
    assert.equal(f.azure.queries.length, 1, 'Azure was read once, for Bob in a personal chat');
    const records = await f.audit();
    assert.deepEqual(
      records.map((r) => [r.type, r.actor?.aadObjectId, r.outcome.reason, r.data?.readOnly]),
      [
        ['request.refused', carol.aadObjectId, RefusalReason.NotAllowedToRequest, true],
        ['request.refused', bob.aadObjectId, RefusalReason.ConversationNotAllowed, true],
        ['query.run', bob.aadObjectId, undefined, undefined],
      ],
    );
  });

  it('says in config check\'s words who may run a read-only command and from where', () => {
    const f = appOnFakes({ configText: withReaders('{ requesterRoles: [platform-approvers], conversations: { types: [personal] } }') });
    const resources = f.config.catalog.commands.find((c) => c.name === 'resources')!;
    assert.deepEqual(policyLines(resources), [
      { aspect: 'who may run it', text: 'members of platform-approvers, in a personal chat' },
      { aspect: 'approval', text: 'none: read-only, answered at once' },
    ]);
    assert.deepEqual(policyLines(f.config.catalog.commands.find((c) => c.name === 'list groups')!), [{ aspect: 'approval', text: 'none: read-only, answered at once' }]);
  });

  it('says in config check\'s words who is sent a command\'s requests: approvers personally or not, and which approval channels get its card', () => {
    const sentTo = (configText: string) => policyLines(appOnFakes({ configText }).config.catalog.commands.find((c) => c.name === 'delete resource group')!).find((l) => l.aspect === 'who is sent it')?.text;
    const example = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
    assert.equal(sentTo(example), 'each approver in a personal chat; no approval channel');
    const withNotify = (notify: string) => example.replace(/(- name: delete resource group[\s\S]*?)ttl: 1h\n/, `$1ttl: 1h\n      notify: ${notify}\n`);
    assert.ok(withNotify('{}').includes('notify: {}'), 'the example config changed');
    assert.equal(sentTo(withNotify('{ approvers: none, channels: ["19:approvals@thread.tacv2", "19:oncall@thread.tacv2"] }')), 'no personal message to approvers (notify.approvers: none); the card also posted to 2 approval channels: 19:approvals@thread.tacv2, 19:oncall@thread.tacv2');
  });

  it('refuses a read-only command\'s policy that says anything but who may run it and from where', () => {
    assert.throws(
      () => appOnFakes({ configText: withReaders('{ approverRoles: [platform-approvers], requesterRoles: [requesters] }') }),
      /commands\[\d+\]\.policy\.approverRoles: operation listResources only reads, so nothing is approved: a read-only command's policy says only who may run it and from where \(requesterRoles, conversations\); remove approverRoles/,
    );
    assert.throws(() => appOnFakes({ configText: withReaders('{ requesterRoles: [readers] }') }), /policy\.requesterRoles\[0\]: role "readers" is not declared under roles/);
  });
});

describe('app: the tenant gate', () => {
  it('refuses an activity from a tenant Countersign does not serve, in words, and audits it', async () => {
    const f = appOnFakes();
    const answer = await f.app.admit(mallory, sourceIn(), 'message');
    assert.deepEqual(answer, { ok: false, message: `Tenant ${mallory.tenantId} is not allowed to use Countersign.` });
    const records = await f.audit();
    assert.deepEqual(
      records.map((x) => [x.type, x.actor?.aadObjectId, x.outcome.result, x.outcome.reason, x.outcome.detail]),
      [['tenant.refused', mallory.aadObjectId, 'refused', RefusalReason.TenantNotAllowed, 'activity type message']],
    );
  });

  it('admits people of the configured tenant and records nothing for them', async () => {
    const f = appOnFakes();
    assert.deepEqual(await f.app.admit(alice, sourceIn(), 'invoke'), { ok: true });
    assert.deepEqual(await f.audit(), []);
  });
});
