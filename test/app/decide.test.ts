/** Deciding a request from its card: who may approve, reject or cancel, and what each click leaves behind. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ClickResult } from '../../src/app/decisions';
import { breakNextCommit, cutNextReadIn } from '../support/broken-commit';
import { RefusalReason } from '../../src/domain/refusal';
import { shownVersion, type ApprovalRequest } from '../../src/domain/request';
import { appOnFakes, type AppOnFakes } from '../support/app-on-fakes';
import { parseConfig } from '../../src/config/load';
import { alice, bob, carol, dave, erin, EXAMPLE_CONFIG, mallory } from '../support/people';
import { MemoryDirectory } from '../support/memory-directory';
import { asked, click, freshFakesEachTest, refusedWith, settle } from './steps';

const DELETE = 'delete resource group staging-old';

/** The example config with "delete resource group" needing two approvals. */
function twoApprovals(): string {
  const text = readFileSync(EXAMPLE_CONFIG, 'utf8');
  const at = text.indexOf('  - name: delete resource group');
  const changed = text.slice(at).replace('approvals: 1', 'approvals: 2');
  assert.notEqual(changed, text.slice(at));
  return text.slice(0, at) + changed;
}

describe('app: deciding a request', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f });

  it('approves with an approver: approved, audited with who approved, and the card refreshed', async () => {
    const r = await asked(f, alice, DELETE);
    const result = await click(f, bob, r, 'approve');
    assert.equal(result.ok, true);
    await settle(f);
    const stored = await f.request(r.id);
    assert.deepEqual(stored.approvals.map((a) => [a.approver.name, a.operationHash]), [['Bob Approver', r.operationHash]]);
    const decided = await f.audit({ types: ['approval.granted', 'request.approved'] });
    assert.deepEqual(
      decided.map((x) => [x.type, x.actor?.name, x.outcome.detail]),
      [
        ['approval.granted', 'Bob Approver', 'approval 1 of 1'],
        ['request.approved', 'Bob Approver', undefined],
      ],
    );
    assert.equal(f.notifier.cardRefreshes(r.id)[0], 'approved@2');
  });

  it('logs an accepted click once the click is answered, on the next turn, saying who decided what', async () => {
    const r = await asked(f, alice, DELETE);
    const result = await click(f, bob, r, 'approve');
    assert.ok(result.ok);
    const accepted = () => f.log.lines.filter((l) => l.msg === 'card action accepted').map((l) => [l.requestId, l.verb, l.state, l.by]);
    assert.deepEqual(accepted(), [], 'the answer goes first');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(accepted(), [[r.id, 'approve', 'approved', bob.aadObjectId]]);
  });

  const refusals: [string, () => Promise<[RefusalReason, ClickResult]>][] = [
    ['the requester approving their own request', async () => [RefusalReason.SelfApproval, await click(f, alice, await asked(f, alice, DELETE), 'approve')]],
    ['someone without an approver role', async () => [RefusalReason.NotAnApprover, await click(f, carol, await asked(f, alice, DELETE), 'approve')]],
    ['an auditor', async () => [RefusalReason.NotAnApprover, await click(f, erin, await asked(f, alice, DELETE), 'approve')]],
    ['a card showing another operation hash (stale)', async () => [RefusalReason.StaleCard, await click(f, bob, await asked(f, alice, DELETE), 'approve', { cardHash: 'f'.repeat(64) })]],
    ['an approval that carries no operation hash', async () => [RefusalReason.StaleCard, await click(f, bob, await asked(f, alice, DELETE), 'approve', { cardHash: undefined })]],
    ['a rejection that carries no operation hash', async () => [RefusalReason.StaleCard, await click(f, bob, await asked(f, alice, DELETE), 'reject', { cardHash: undefined })]],
    ['a verb that is not a card action', async () => [RefusalReason.UnknownAction, await click(f, bob, await asked(f, alice, DELETE), 'delete')]],
    ['someone from another tenant', async () => [RefusalReason.TenantNotAllowed, await click(f, mallory, await asked(f, alice, DELETE), 'approve')]],
    ['someone other than the requester cancelling', async () => [RefusalReason.NotRequester, await click(f, bob, await asked(f, alice, DELETE), 'cancel')]],
  ];
  for (const [who, act] of refusals) {
    it(`refuses ${who}, audits the refused click and leaves the request pending`, async () => {
      const [reason, result] = await act();
      assert.equal(refusedWith(result), reason);
      const [r] = await f.store.requests.list({});
      assert.equal(r.state, 'pending');
      assert.equal(r.version, 1);
      const refused = await f.audit({ types: ['click.refused'] });
      assert.equal(refused.length, 1);
      assert.equal(refused[0].outcome.reason, reason);
      assert.equal(refused[0].outcome.result, 'refused');
      assert.equal((refused[0].data as { requestId: string }).requestId, r.id);
      assert.deepEqual(f.notifier.cardRefreshes(r.id), [], 'a refused click changes no card');
      assert.equal(f.azure.executions.length, 0);
    });
  }

  // An auditor reads one request's trail (its evidence bundle, `audit export --request`) by the
  // records' request.id: a refusal of a click on its own card must be there, whatever refused it.
  const refusedOnItsCard: [string, (r: ApprovalRequest) => Promise<ClickResult>][] = [
    ['a verb that is not a card action', (r) => click(f, bob, r, 'delete')],
    ['someone from another tenant', (r) => click(f, mallory, r, 'approve')],
    ['a comment over its limit', (r) => click(f, bob, r, 'reject', { comment: 'x'.repeat(501) })],
    ['a comment with a control character', (r) => click(f, bob, r, 'reject', { comment: 'no\u0007' })],
  ];
  for (const [what, act] of refusedOnItsCard) {
    it(`puts a click refused for ${what} into the request's own trail`, async () => {
      const r = await asked(f, alice, DELETE);
      assert.equal((await act(r)).ok, false);
      const trail = await f.audit({ requestId: r.id });
      assert.deepEqual(trail.map((x) => x.type), ['request.created', 'click.refused']);
      assert.equal(trail[1].request?.id, r.id);
      assert.equal(trail[1].request?.operationHash, r.operationHash);
    });
  }

  it('refuses a click on a request that does not exist', async () => {
    const r = await asked(f, alice, DELETE);
    const result = await click(f, bob, { ...r, id: 'CS-NOSUCH' }, 'approve', { replyToId: undefined });
    assert.equal(refusedWith(result), RefusalReason.UnknownRequest);
    assert.equal((await f.audit({ types: ['click.refused'] }))[0].outcome.reason, RefusalReason.UnknownRequest);
  });

  it('refuses a second decision once the request is decided', async () => {
    const r = await asked(f, alice, DELETE);
    assert.equal((await click(f, bob, r, 'reject')).ok, true);
    assert.equal(refusedWith(await click(f, dave, r, 'approve')), RefusalReason.AlreadyDecided);
    assert.equal(refusedWith(await click(f, alice, r, 'cancel')), RefusalReason.AlreadyDecided);
    assert.equal((await f.request(r.id)).state, 'rejected');
  });

  it('refuses an approval after the time to live, and expires the request then', async () => {
    const r = await asked(f, alice, DELETE);
    f.clock.advance(3600_000);
    assert.equal(refusedWith(await click(f, bob, r, 'approve')), RefusalReason.Expired);
    assert.equal((await f.request(r.id)).state, 'expired');
    assert.deepEqual((await f.audit()).map((x) => x.type), ['request.created', 'request.expired', 'click.refused']);
    assert.equal(f.azure.executions.length, 0);
  });

  it('needs N distinct approvers: the same approver twice counts once, the Nth starts the execution', async () => {
    f = appOnFakes({ configText: twoApprovals() });
    const r = await asked(f, alice, DELETE);
    assert.equal(r.policy.approvals, 2);
    assert.equal((await click(f, bob, r, 'approve')).ok, true);
    assert.equal(refusedWith(await click(f, bob, r, 'approve')), RefusalReason.AlreadyApprovedByYou);
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'pending');
    assert.equal(f.azure.executions.length, 0, 'one approval of two starts nothing');
    assert.equal((await click(f, dave, r, 'approve')).ok, true);
    await settle(f);
    assert.equal(f.azure.executions.length, 1);
    assert.deepEqual(
      (await f.audit({ types: ['approval.granted', 'request.approved'] })).map((x) => [x.type, x.actor?.name, x.outcome.detail]),
      [
        ['approval.granted', 'Bob Approver', 'approval 1 of 2'],
        ['approval.granted', 'Dave Lead', 'approval 2 of 2'],
        ['request.approved', 'Dave Lead', undefined],
      ],
    );
  });

  it('rejects with the comment kept on the request and in the audit record', async () => {
    const r = await asked(f, alice, DELETE);
    const result = await click(f, bob, r, 'reject', { comment: '  not during the freeze  ' });
    assert.equal(result.ok, true);
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'rejected');
    assert.deepEqual(stored.rejection?.by, bob);
    assert.equal(stored.rejection?.comment, 'not during the freeze');
    const [rejected] = await f.audit({ types: ['request.rejected'] });
    assert.equal(rejected.actor?.name, 'Bob Approver');
    assert.equal(rejected.outcome.detail, 'not during the freeze');
    assert.deepEqual(f.notifier.cardRefreshes(r.id), ['rejected@2']);
    assert.equal(f.azure.executions.length, 0);
    // Told, as of every other end: the card may be one copy among several, in a busy channel.
    assert.deepEqual(f.notifier.told(r.id), [`Request ${r.id} was rejected by Bob Approver: not during the freeze. Nothing was run.`]);
  });

  it('tells the requester that a namesake rejected it, by the start of each object id, not as if they rejected it themselves', async () => {
    const r = await asked(f, alice, DELETE);
    assert.equal((await click(f, { ...bob, name: 'alice requester' }, r, 'reject', { comment: 'not now' })).ok, true);
    assert.deepEqual(f.notifier.told(r.id), [`Request ${r.id} was rejected by alice requester (22222222): not now. Nothing was run.`]);
  });

  it('tells the requester that a namesake cancelled it before it ran, by the start of each object id', async () => {
    const r = await asked(f, alice, `${DELETE} at 2026-03-02T12:00Z`);
    await click(f, bob, r, 'approve');
    await settle(f);
    assert.ok((await click(f, { ...dave, name: 'Alice Requester' }, await f.request(r.id), 'cancel')).ok);
    assert.deepEqual(f.notifier.told(r.id), [`Request ${r.id} was cancelled by Alice Requester (55555555) before it ran (it was to run at 2026-03-02 12:00 UTC). Nothing was run.`]);
  });

  it('tells the requester of a rejection without a comment', async () => {
    const r = await asked(f, alice, DELETE);
    assert.equal((await click(f, bob, r, 'reject')).ok, true);
    assert.deepEqual(f.notifier.told(r.id), [`Request ${r.id} was rejected by Bob Approver. Nothing was run.`]);
  });

  describe("a requester's cancel just past expiry, while an approval given in time lands", () => {
    /**
     * Bob approves 20 ms before the request expires, and his approval is committed just after the
     * read that Alice's cancel, 5 ms after the expiry, is judged on: the read made from `during`
     * (the use case's function on the stack: transact's read, or the expiry's).
     */
    async function raced(during: string): Promise<{ r: ApprovalRequest; result: ClickResult }> {
      const r = await asked(f, alice, DELETE);
      const expiresAt = new Date(r.expiresAt).getTime();
      f.clock.advance(expiresAt + 5 - f.clock.now().getTime());
      const requests = f.store.requests;
      const get = requests.get.bind(requests);
      let landed = false;
      requests.get = async (id: string) => {
        const from = new Error().stack ?? '';
        const read = await get(id);
        if (!landed && id === r.id && from.includes(`at ${during} `)) {
          landed = true;
          f.clock.advance(-25);
          assert.equal((await click(f, bob, r, 'approve')).ok, true);
          f.clock.advance(25);
        }
        return read;
      };
      const result = await click(f, alice, r, 'cancel');
      assert.ok(landed, `no read from ${during}`);
      await settle(f);
      return { r, result };
    }

    for (const [during, when] of [
      ['transact', 'after the read the cancel is judged on'],
      ['expireNow', 'after the cancel was refused as expired, before the expiry was recorded'],
    ] as const) {
      it(`is refused as already approved, not expired, when the approval lands ${when}`, async () => {
        const { r, result } = await raced(during);
        assert.equal(refusedWith(result), RefusalReason.AlreadyDecided);
        assert.equal(result.ok ? '' : result.refusal.message, `Request ${r.id} is approved and about to run; it can no longer be cancelled.`);
        const [refused] = await f.audit({ types: ['click.refused'] });
        assert.equal(refused.outcome.reason, RefusalReason.AlreadyDecided);
        assert.deepEqual(await f.audit({ types: ['request.expired'] }), [], 'it never expired');
        assert.equal((await f.request(r.id)).state, 'succeeded');
        assert.deepEqual(f.notifier.told(r.id).filter((t) => /expired/.test(t)), []);
      });
    }
  });

  it('judges a click on the stored request: one whose card changed just after the click was read is not refused as stale', async () => {
    const r = await asked(f, alice, DELETE);
    const rehashed = 'e'.repeat(64);
    // Another instance brings the request up to date (a new operation hash on its new card) right
    // after the read Bob's click on that new card is first judged on.
    const requests = f.store.requests;
    const get = requests.get.bind(requests);
    let changed = false;
    requests.get = async (id: string) => {
      const from = new Error().stack ?? '';
      const read = await get(id);
      if (!changed && read && from.includes('at transact ')) {
        changed = true;
        await requests.update({ ...read, operationHash: rehashed, version: read.version + 1 }, read.version, []);
      }
      return read;
    };
    const result = await click(f, bob, r, 'approve', { cardHash: rehashed });
    assert.ok(changed);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.deepEqual(await f.audit({ types: ['click.refused'] }), []);
  });

  it('lets the requester cancel their pending request', async () => {
    const r = await asked(f, alice, DELETE);
    assert.equal((await click(f, alice, r, 'cancel')).ok, true);
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'cancelled');
    assert.deepEqual(stored.cancellation?.by, alice);
    assert.deepEqual((await f.audit({ types: ['request.cancelled'] })).map((x) => x.actor?.name), ['Alice Requester']);
    assert.deepEqual(f.notifier.cardRefreshes(r.id), ['cancelled@2']);
  });
});

describe('app: card binding', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f });

  it('records every card posted for a request, once each, and none without a message id', async () => {
    const r = await asked(f, alice, DELETE);
    await f.app.cardPosted(r.id, { conversationId: 'a:personal-alice', activityId: 'card-dm' });
    await f.app.cardPosted(r.id, { conversationId: 'a:personal-alice', activityId: 'card-dm' });
    await f.app.cardPosted(r.id, { conversationId: 'a:personal-bob' });
    assert.deepEqual(await f.store.cards.getCardMessages(r.id), [
      { conversationId: '19:ops-channel@thread.tacv2', activityId: `card-${r.id}` },
      { conversationId: 'a:personal-alice', activityId: 'card-dm' },
    ]);
  });

  it('refuses to record a card whose message or chat id from Teams is past the limit an activity has, in words, before the store (whose index would refuse it)', async () => {
    const r = await asked(f, alice, DELETE);
    // 257 characters of three UTF-8 bytes each: past the 256 an activity id may have.
    await assert.rejects(
      f.app.cardPosted(r.id, { conversationId: 'a:personal-bob', activityId: '€'.repeat(257) }),
      (err: Error) => err.name === 'CardIdTooLongError' && err.message === 'Teams gave the message it posted an id of 257 characters, longer than the 256 Countersign takes (docs/limits.md), so the card was not recorded and its buttons will be refused',
    );
    await assert.rejects(f.app.cardPosted(r.id, { conversationId: `a:${'x'.repeat(511)}`, activityId: 'card-dm' }), /^CardIdTooLongError: Teams gave the personal chat it started an id of 513 characters, longer than the 512 Countersign takes/);
    // Within the limit in characters, past it in UTF-8 bytes (as the store's index counts).
    await assert.rejects(f.app.cardPosted(r.id, { conversationId: 'a:personal-bob', activityId: '€'.repeat(100) }), /^CardIdTooLongError: Teams gave the message it posted an id of 300 bytes in UTF-8, longer than the 256 Countersign takes/);
    await f.app.cardPosted(r.id, { conversationId: `a:${'x'.repeat(510)}`, activityId: `${'€'.repeat(85)}x` });
    assert.deepEqual(
      (await f.store.cards.getCardMessages(r.id)).map((m) => m.activityId.length),
      [`card-${r.id}`.length, 86],
      'only the card within the limits is recorded',
    );
  });

  it("refuses a click from a card not posted for the request it names, and does not show that request's card", async () => {
    const victim = await asked(f, alice, DELETE);
    const other = await asked(f, dave, 'delete resource group staging-older');
    // Bob clicks on the card of `other`, whose data was edited to name `victim`.
    const result = await click(f, bob, victim, 'approve', { replyToId: `card-${other.id}` });
    assert.equal(refusedWith(result), RefusalReason.CardMismatch);
    assert.equal(result.ok === false && result.request, undefined);
    assert.equal((await f.request(victim.id)).state, 'pending');
    const [refused] = await f.audit({ types: ['click.refused'] });
    assert.equal(refused.outcome.reason, RefusalReason.CardMismatch);
    assert.equal(refused.request?.id, victim.id);
  });

  it('accepts the same click from a card posted for the request in another conversation', async () => {
    const r = await asked(f, alice, DELETE);
    await f.app.cardPosted(r.id, { conversationId: 'a:personal-bob', activityId: 'card-dm-bob' });
    const result = await click(f, bob, r, 'approve', { conversationId: 'a:personal-bob', replyToId: 'card-dm-bob' });
    assert.equal(result.ok, true);
  });

  it('tells an approver whose click came from a card of a request deleted from the database (a DELETE or TRUNCATE outside Countersign) that it is missing from the database, not that there is no such request', async () => {
    const r = await asked(f, alice, DELETE);
    // As a superuser's DELETE FROM requests would: its card, versions and audit records stay.
    f.store.state.requests.delete(r.id);
    const result = await click(f, bob, r, 'approve');
    assert.equal(refusedWith(result), RefusalReason.UnknownRequest);
    assert.equal(
      result.ok ? '' : result.refusal.message,
      `Request ${r.id} is missing from Countersign's database: this is one of its cards, but its record was deleted outside Countersign, so it can no longer be decided; nothing was changed. Tell the team that runs Countersign: "countersign audit verify" names the requests deleted, to be restored from a backup.`,
    );
  });

  describe('when the database connection breaks while a click is saved', () => {
    it('says the outcome could not be confirmed and what the request shows now, and runs an approval that did land', async () => {
      const r = await asked(f, alice, DELETE);
      breakNextCommit(f.store.requests, true);
      const result = await click(f, bob, r, 'approve');
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.refusal.reason === RefusalReason.OutcomeUnconfirmed);
      assert.match(!result.ok ? result.refusal.message : '', new RegExp(`could not confirm whether your approve was recorded for request ${r.id}.* It is now approved\\. See "status ${r.id}"`));
      await settle(f);
      assert.equal((await f.request(r.id)).state, 'succeeded', 'the approval that was saved is executed');
    });

    it('runs an approval that did land when the request cannot be read again after the lost commit either', async () => {
      const r = await asked(f, alice, DELETE);
      breakNextCommit(f.store.requests, true);
      // The read after the lost commit meets a connection the network reset too.
      cutNextReadIn(f.store.requests, 'approved');
      const result = await click(f, bob, r, 'approve');
      assert.ok(!result.ok && result.refusal.reason === RefusalReason.OutcomeUnconfirmed);
      await settle(f);
      assert.equal((await f.request(r.id)).state, 'succeeded', 'not left approved, unscheduled, for the 2-minute sweep');
      assert.equal(f.azure.started.length, 1);
    });

    it('never says nothing changed when the change did not land either: the request as it is now', async () => {
      const r = await asked(f, alice, DELETE);
      breakNextCommit(f.store.requests, false);
      const result = await click(f, bob, r, 'approve');
      assert.match(!result.ok ? result.refusal.message : '', /could not confirm .* It is now pending\./);
      assert.doesNotMatch(!result.ok ? result.refusal.message : '', /nothing (was )?changed/);
      assert.equal((await f.request(r.id)).state, 'pending');
    });
  });
});

describe('app: approving a request its command\'s reason or conversation rule, changed since it was asked for, no longer allows', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f });

  /** The example config with the delete command's line `line` written as `replacement`, in force from now on. */
  function reconfigure(line: string, replacement: string): void {
    const text = readFileSync(EXAMPLE_CONFIG, 'utf8');
    const command = text.indexOf('  - name: delete resource group\n');
    const at = text.indexOf(line, command);
    assert.ok(command >= 0 && at > command, `the example config changed: find the delete command's ${line.trim()}`);
    f.deps.config = parseConfig(text.slice(0, at) + replacement + text.slice(at + line.length), EXAMPLE_CONFIG);
  }
  const REASON_REQUIRED = ['      ttl: 1h\n', '      reason: { required: true, minLength: 20 }\n      ttl: 1h\n'] as const;

  it('refuses an approval naming the reason rule, and ends the request there: failed, nothing sent, its requester told to ask again, its card updated', async () => {
    const r = await asked(f, alice, DELETE); // no reason given: none was needed then
    reconfigure(...REASON_REQUIRED);
    const result = await click(f, bob, r, 'approve');
    assert.equal(refusedWith(result), RefusalReason.ReasonRuleTightened);
    assert.ok(!result.ok);
    assert.equal(
      result.refusal.message,
      `Request ${r.id} can no longer be approved: the reason rule of "delete resource group" (policy.reason) changed after it was asked for, and its reason no longer meets it: This command needs a reason (at least 20 characters). It has ended without running (nothing was sent to Azure); Alice Requester, who asked for it, is told to ask again, with a reason the rule now takes (required, at least 20 characters, saying something (no placeholders or repeats)).`,
    );
    assert.equal(result.request?.state, 'failed', 'the card shown with the refusal is the ended request');
    await settle(f);
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'failed');
    assert.deepEqual(stored.approvals, []);
    assert.equal(f.azure.executions.length, 0);
    const trail = await f.audit({ types: ['approval.revoked', 'click.refused'] });
    assert.deepEqual(trail.map((x) => [x.type, x.outcome.reason, x.request?.id]), [
      ['approval.revoked', RefusalReason.ReasonRuleTightened, r.id],
      ['click.refused', RefusalReason.ReasonRuleTightened, r.id],
    ]);
    assert.equal(trail[0].outcome.detail, stored.outcomeDetail);
    assert.deepEqual([trail[1].actor?.name, trail[1].data?.requestId, trail[1].data?.verb], ['Bob Approver', r.id, 'approve']);
    assert.match(f.notifier.told(r.id)[0], /^Request \S+ was not executed: the reason rule of "delete resource group" \(policy\.reason\) changed after it was asked for, .* Nothing was sent to Azure: ask again, with a reason the rule now takes/);
    // The card shows the version that ended it; settling the message it owed is bookkeeping after it.
    assert.equal(f.notifier.cardRefreshes(r.id).at(-1), `failed@${shownVersion(stored)}`);
    assert.equal(stored.outcomeMessage, undefined, 'its message settled');
    // Ended: a second approval is refused as for any ended request, and changes nothing more.
    assert.equal(refusedWith(await click(f, dave, r, 'approve')), RefusalReason.AlreadyDecided);
  });

  it('names the conversations rule for a request asked in a conversation its command no longer allows', async () => {
    const r = await asked(f, alice, DELETE); // asked in the operations channel
    reconfigure('        types: [channel, groupChat, personal]\n', '        types: [personal]\n');
    const result = await click(f, bob, r, 'approve');
    assert.equal(refusedWith(result), RefusalReason.ConversationRuleTightened);
    assert.ok(!result.ok);
    assert.match(result.refusal.message, /can no longer be approved: the conversations rule of "delete resource group" changed after it was asked for: it may now be asked for only in a personal chat \(policy\.conversations\.types\), and it was asked for in a channel\. It has ended without running/);
    assert.equal((await f.request(r.id)).state, 'failed');
  });

  it('still lets an approver reject it and its requester cancel it; its personal card offers no Approve', async () => {
    const rejected = await asked(f, alice, DELETE);
    const cancelled = await asked(f, alice, 'delete resource group staging-older');
    reconfigure(...REASON_REQUIRED);
    const view = await f.app.personalView(bob, rejected.id);
    assert.deepEqual([view?.canApprove, view?.canReject], [false, true]);
    assert.deepEqual((await f.app.pending(bob)).toDecide, [], 'pending offers no approval that would end it');
    assert.ok((await click(f, bob, rejected, 'reject', { comment: 'no reason given' })).ok);
    assert.equal((await f.request(rejected.id)).state, 'rejected');
    assert.ok((await click(f, alice, cancelled, 'cancel')).ok);
    assert.equal((await f.request(cancelled.id)).state, 'cancelled');
  });
});

describe('app: approving a request the config as it is now would not let run: its command gone, its requester without the role', () => {
  const REQUESTERS_GROUP = '7e9e0000-0000-4000-8000-000000000004';
  let f: AppOnFakes;
  afterEach(async () => {
    await settle(f);
  });

  /** The example config changed by `edit` (which must change it), in force from now on. */
  function reconfigure(edit: (text: string) => string): void {
    const text = readFileSync(EXAMPLE_CONFIG, 'utf8');
    const changed = edit(text);
    assert.notEqual(changed, text, 'the example config changed: the edit no longer applies');
    f.deps.config = parseConfig(changed, EXAMPLE_CONFIG);
  }
  /** The delete command taken out of the config. */
  const withoutDelete = (text: string) => text.slice(0, text.indexOf('  - name: delete resource group\n')) + text.slice(text.indexOf('  - name: tag\n'));
  /** Alice no longer a requester. */
  const aliceNoRequester = (text: string) => text.replace('    - 11111111-1111-4111-8111-111111111111 # Alice Requester\n', '');

  it('refuses an approval of a request whose command was taken out, and ends it: failed, nothing sent, audited command-removed, its requester told, its card updated; pending and the personal card no longer offer Approve', async () => {
    f = appOnFakes();
    const r = await asked(f, alice, DELETE);
    const other = await asked(f, alice, 'delete resource group staging-older');
    reconfigure(withoutDelete);
    assert.deepEqual((await f.app.pending(bob)).toDecide, [], 'pending offers no approval that would end it');
    const view = await f.app.personalView(bob, other.id);
    assert.deepEqual([view?.canApprove, view?.canReject], [false, true]);
    const result = await click(f, bob, r, 'approve');
    assert.equal(refusedWith(result), RefusalReason.CommandRemoved);
    assert.ok(!result.ok);
    assert.equal(
      result.refusal.message,
      `Request ${r.id} can no longer be approved: the command "delete resource group" is no longer in the config. It has ended without running (nothing was sent to Azure); Alice Requester, who asked for it, is told why.`,
    );
    assert.equal(result.request?.state, 'failed');
    await settle(f);
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'failed');
    assert.equal(f.azure.executions.length, 0);
    const trail = await f.audit({ types: ['approval.revoked', 'click.refused'] });
    assert.deepEqual(trail.map((x) => [x.type, x.outcome.reason, x.request?.id]), [
      ['approval.revoked', RefusalReason.CommandRemoved, r.id],
      ['click.refused', RefusalReason.CommandRemoved, r.id],
    ]);
    assert.equal(trail[0].outcome.detail, 'Not executed: the command "delete resource group" is no longer in the config. Nothing was sent to Azure.');
    assert.equal(f.notifier.told(r.id)[0], `Request ${r.id} was not executed: the command "delete resource group" is no longer in the config. Nothing was sent to Azure.`);
    assert.equal(f.notifier.cardRefreshes(r.id).at(-1), `failed@${shownVersion(stored)}`);
    // Rejecting it is harmless and still goes through.
    assert.ok((await click(f, bob, other, 'reject', { comment: 'command retired' })).ok);
    assert.equal((await f.request(other.id)).state, 'rejected');
  });

  it('refuses an approval of a request whose requester no longer holds a requester role (requester-lost-role); reject and cancel still go through', async () => {
    f = appOnFakes();
    const r = await asked(f, alice, DELETE);
    const rejected = await asked(f, alice, 'delete resource group staging-older');
    const cancelled = await asked(f, alice, 'delete resource group staging-oldest');
    reconfigure(aliceNoRequester);
    assert.deepEqual((await f.app.pending(bob)).toDecide, []);
    const result = await click(f, bob, r, 'approve');
    assert.equal(refusedWith(result), RefusalReason.RequesterLostRole);
    assert.ok(!result.ok);
    assert.match(result.refusal.message, /can no longer be approved: Alice Requester, who asked for it, no longer holds a role that may ask for "delete resource group"\. It has ended without running \(nothing was sent to Azure\); Alice Requester, who asked for it, is told why\.$/);
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'failed');
    assert.deepEqual((await f.audit({ types: ['approval.revoked'] })).map((x) => x.outcome.reason), [RefusalReason.RequesterLostRole]);
    assert.match(f.notifier.told(r.id)[0], /was not executed: Alice Requester, who asked for it, no longer holds a role that may ask for "delete resource group"\. Nothing was sent to Azure\.$/);
    assert.ok((await click(f, bob, rejected, 'reject')).ok);
    assert.ok((await click(f, alice, cancelled, 'cancel')).ok);
    assert.deepEqual([(await f.request(rejected.id)).state, (await f.request(cancelled.id)).state], ['rejected', 'cancelled']);
  });

  it('asks Graph at the click about a requester who asks through an Entra group: ends the request once they left it, never when Graph cannot answer', async () => {
    const directory = new MemoryDirectory().add(REQUESTERS_GROUP, carol.aadObjectId);
    const configText = readFileSync(EXAMPLE_CONFIG, 'utf8').replace('  requesters:\n', `  requesters:\n    - group:${REQUESTERS_GROUP}\n`);
    f = appOnFakes({ configText, directory });
    const unanswered = await asked(f, carol, DELETE);
    const left = await asked(f, carol, 'delete resource group staging-older');
    directory.remove(REQUESTERS_GROUP, carol.aadObjectId);
    // pending does not ask Graph for every requester listed: a role held through a group is taken as held there.
    assert.deepEqual((await f.app.pending(bob)).toDecide.map((x) => x.id), [unanswered.id, left.id]);
    directory.fail('Microsoft Graph answered 503 serviceNotAvailable');
    assert.ok((await click(f, bob, unanswered, 'approve')).ok, 'a membership Graph could not confirm ends nothing');
    directory.fail(undefined);
    assert.equal(refusedWith(await click(f, bob, left, 'approve')), RefusalReason.RequesterLostRole);
    assert.deepEqual(directory.calls.at(-1), { person: carol.aadObjectId, groups: [REQUESTERS_GROUP] });
    await settle(f);
    assert.equal((await f.request(left.id)).state, 'failed');
  });
});
