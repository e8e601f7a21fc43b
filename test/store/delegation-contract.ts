/**
 * The delegation part of the Store contract (run by storeContract on every backend): create, list in
 * force at a time, revoke, expiry by time, one in force per delegator under simultaneous writes.
 */
import assert from 'node:assert/strict';
import { DelegationConflictError } from '../../src/app/ports';
import type { Delegation } from '../../src/domain/delegation';
import type { CountersignStore as Store } from '../../src/store/countersign-store';
import { carol, dave } from '../support/people';
import { anEvent, bob } from './fixtures';

const T0 = '2026-11-02T09:00:00.000Z';
const at = (hours: number) => new Date(Date.parse(T0) + hours * 3600_000).toISOString();

function aDelegation(id: string, overrides: Partial<Delegation> = {}): Delegation {
  return { id, delegator: bob, delegate: carol, createdAt: T0, until: at(24), ...overrides };
}

function ended(d: Delegation, reason: 'revoked' | 'replaced', when = at(1)): Delegation {
  return { ...d, ended: { at: when, by: d.delegator, reason } };
}

export function delegationContract(store: () => Store, reopen: () => Promise<Store>): void {
  describe('delegations', () => {
    it('saves a delegation with its audit record and lists it while in force, not once its time is past', async () => {
      const d = aDelegation('DG-1');
      const records = await store().delegations.record({ created: d, ended: [], events: [anEvent('delegation.created')] });
      assert.deepEqual(records.map((r) => r.type), ['delegation.created']);
      assert.deepEqual(await store().delegations.inForce(at(1)), [d]);
      assert.deepEqual(await store().delegations.inForce(at(24)), []);
      assert.deepEqual(await store().delegations.get('DG-1'), d);
      assert.equal(await store().delegations.get('DG-none'), undefined);
    });

    it('lists those in force oldest first, across delegators, and keeps them when reopened', async () => {
      const a = aDelegation('DG-a', { delegator: dave, createdAt: at(0.5) });
      const b = aDelegation('DG-b');
      await store().delegations.record({ created: a, ended: [], events: [] });
      await store().delegations.record({ created: b, ended: [], events: [] });
      assert.deepEqual((await store().delegations.inForce(at(1))).map((d) => d.id), ['DG-b', 'DG-a']);
      const reopened = await reopen();
      assert.deepEqual((await reopened.delegations.inForce(at(1))).map((d) => d.id), ['DG-b', 'DG-a']);
    });

    it('revokes a delegation once: it is no longer in force, and revoking it again is a conflict that commits nothing', async () => {
      const d = aDelegation('DG-1');
      await store().delegations.record({ created: d, ended: [], events: [] });
      await store().delegations.record({ ended: [ended(d, 'revoked')], events: [anEvent('delegation.revoked')] });
      assert.deepEqual(await store().delegations.inForce(at(2)), []);
      assert.equal((await store().delegations.get('DG-1'))?.ended?.reason, 'revoked');
      const head = await store().audit.head();
      await assert.rejects(store().delegations.record({ ended: [ended(d, 'revoked', at(3))], events: [anEvent('delegation.revoked')] }), DelegationConflictError);
      assert.deepEqual(await store().audit.head(), head);
      assert.equal((await store().delegations.get('DG-1'))?.ended?.at, at(1));
    });

    it('replaces a delegation in one write, and refuses a second one in force for the same delegator', async () => {
      const first = aDelegation('DG-1');
      await store().delegations.record({ created: first, ended: [], events: [] });
      await assert.rejects(store().delegations.record({ created: aDelegation('DG-2', { createdAt: at(1), delegate: dave }), ended: [], events: [] }), DelegationConflictError);
      const second = aDelegation('DG-2', { createdAt: at(1), delegate: dave });
      await store().delegations.record({ created: second, ended: [ended(first, 'replaced')], events: [anEvent('delegation.replaced'), anEvent('delegation.created')] });
      assert.deepEqual((await store().delegations.inForce(at(2))).map((d) => d.id), ['DG-2']);
    });

    it('refuses a delegation whose id is taken, even by one that ended, as a conflict that commits nothing (an id derived from a message sent again)', async () => {
      const d = aDelegation('DG-1');
      await store().delegations.record({ created: d, ended: [], events: [] });
      const head = await store().audit.head();
      // Replacing it with itself: its end and the new one under the same id.
      await assert.rejects(store().delegations.record({ created: { ...d, createdAt: at(1) }, ended: [ended(d, 'replaced')], events: [anEvent('delegation.created')] }), DelegationConflictError);
      await store().delegations.record({ ended: [ended(d, 'revoked')], events: [] });
      await assert.rejects(store().delegations.record({ created: { ...d, createdAt: at(2) }, ended: [], events: [anEvent('delegation.created')] }), DelegationConflictError);
      assert.deepEqual(await store().audit.head(), head);
      assert.deepEqual(await store().delegations.get('DG-1'), ended(d, 'revoked'));
    });

    const frankish = { ...dave, aadObjectId: '66666666-6666-4666-8666-666666666666', name: 'Frank' };
    it('lists the delegations a person received that were in force at some moment since a time, ended ones included, whatever the case of the id', async () => {
      const revoked = aDelegation('DG-1', { until: at(10) });
      await store().delegations.record({ created: revoked, ended: [], events: [] });
      await store().delegations.record({ ended: [ended(revoked, 'revoked', at(2))], events: [] });
      await store().delegations.record({ created: aDelegation('DG-2', { delegator: dave, until: at(3) }), ended: [], events: [] });
      await store().delegations.record({ created: aDelegation('DG-3', { delegator: dave, delegate: bob, createdAt: at(4), until: at(8) }), ended: [], events: [] });
      const since = (hours: number, who = carol.aadObjectId) => store().delegations.receivedSince(who, at(hours)).then((l) => l.map((d) => d.id));
      assert.deepEqual(await since(1), ['DG-1', 'DG-2'], 'the one revoked since, and the one that ran out since');
      const lettered = { ...carol, aadObjectId: 'ABCDEF00-0000-4000-8000-00000000000A' };
      await store().delegations.record({ created: aDelegation('DG-4', { delegator: frankish, delegate: lettered }), ended: [], events: [] });
      assert.deepEqual(await since(1, lettered.aadObjectId.toLowerCase()), ['DG-4'], 'an object id whatever the case of its letters');
      assert.deepEqual(await since(2), ['DG-2'], 'revoked at that very instant: not in force from then on');
      assert.deepEqual(await since(3), [], 'its time ran out at that instant');
      assert.deepEqual((await store().delegations.receivedSince(bob.aadObjectId, at(0))).map((d) => d.id), ['DG-3'], 'only those to that person');
      assert.equal((await store().delegations.receivedSince(carol.aadObjectId, at(1)))[0].ended?.reason, 'revoked');
    });

    it('keeps the revocation id a delegation ended with', async () => {
      const d = aDelegation('DG-1');
      await store().delegations.record({ created: d, ended: [], events: [] });
      const revoked = { ...d, ended: { at: at(1), by: bob, reason: 'revoked' as const, revocationId: 'RV-1' } };
      await store().delegations.record({ ended: [revoked], events: [] });
      assert.deepEqual(await store().delegations.get('DG-1'), revoked);
    });

    it('allows a new delegation once the delegator\'s earlier one has expired by time', async () => {
      await store().delegations.record({ created: aDelegation('DG-1', { until: at(1) }), ended: [], events: [] });
      await store().delegations.record({ created: aDelegation('DG-2', { createdAt: at(2), until: at(5) }), ended: [], events: [] });
      assert.deepEqual((await store().delegations.inForce(at(3))).map((d) => d.id), ['DG-2']);
    });

    it('lists the delegations whose time ran out in a span, not revoked or replaced, until their delegate\'s cards are marked withdrawn, marked once under simultaneous calls', async () => {
      const ranOut = aDelegation('DG-1', { until: at(2) });
      const later = aDelegation('DG-2', { delegator: dave, until: at(5) });
      const revoked = aDelegation('DG-3', { delegator: frankish, until: at(2) });
      for (const d of [ranOut, later, revoked]) await store().delegations.record({ created: d, ended: [], events: [] });
      await store().delegations.record({ ended: [ended(revoked, 'revoked')], events: [] });
      assert.deepEqual((await store().delegations.ranOutSince(at(0), at(3))).map((d) => d.id), ['DG-1']);
      assert.deepEqual((await store().delegations.ranOutSince(at(2), at(6))).map((d) => d.id), ['DG-2'], 'until after since, at or before at');
      const marks = await Promise.all(Array.from({ length: 6 }, () => store().delegations.markCardsWithdrawn('DG-1', at(3))));
      assert.deepEqual(marks.filter(Boolean).length, 1, marks.join(', '));
      assert.equal(await store().delegations.markCardsWithdrawn('DG-none', at(3)), false);
      assert.deepEqual((await store().delegations.ranOutSince(at(0), at(6))).map((d) => d.id), ['DG-2']);
      assert.deepEqual(await store().delegations.get('DG-1'), { ...ranOut, cardsWithdrawnAt: at(3) });
      const reopened = await reopen();
      assert.equal(await reopened.delegations.markCardsWithdrawn('DG-1', at(4)), false, 'kept when reopened');
    });

    it("takes on the withdrawal of a delegation's cards once under simultaneous calls, again only once that taking is old, never once they are marked withdrawn", async () => {
      const ranOut = aDelegation('DG-1', { until: at(2) });
      await store().delegations.record({ created: ranOut, ended: [], events: [] });
      const takes = await Promise.all(Array.from({ length: 6 }, () => store().delegations.takeCardsWithdrawal('DG-1', at(3), at(0))));
      assert.deepEqual(takes.filter(Boolean).length, 1, takes.join(', '));
      assert.equal(await store().delegations.takeCardsWithdrawal('DG-none', at(3), at(0)), false);
      assert.deepEqual(await store().delegations.get('DG-1'), { ...ranOut, cardsTakenAt: at(3) });
      assert.deepEqual((await store().delegations.ranOutSince(at(0), at(6))).map((d) => d.id), ['DG-1'], 'taken on is not withdrawn');
      assert.equal(await store().delegations.takeCardsWithdrawal('DG-1', at(4), at(2)), false, 'taken on after staleBefore: left to its taker');
      const again = await Promise.all(Array.from({ length: 4 }, () => store().delegations.takeCardsWithdrawal('DG-1', at(5), at(3))));
      assert.deepEqual(again.filter(Boolean).length, 1, `an old taking is taken again, once: ${again.join(', ')}`);
      assert.equal(await store().delegations.markCardsWithdrawn('DG-1', at(5)), true);
      assert.equal(await store().delegations.takeCardsWithdrawal('DG-1', at(6), at(6)), false, 'marked withdrawn: never taken again');
      const reopened = await reopen();
      assert.deepEqual(await reopened.delegations.get('DG-1'), { ...ranOut, cardsTakenAt: at(5), cardsWithdrawnAt: at(5) });
    });

    it('of simultaneous delegations by one person (several connections where the backend has them), commits exactly one', async () => {
      const attempts = Array.from({ length: 8 }, (_, i) =>
        store().delegations.record({ created: aDelegation(`DG-${i}`), ended: [], events: [anEvent('delegation.created')] }).then(
          () => 'ok',
          (err: unknown) => (err instanceof DelegationConflictError ? 'conflict' : `error: ${String(err)}`),
        ),
      );
      const outcomes = await Promise.all(attempts);
      assert.deepEqual(outcomes.filter((o) => o === 'ok').length, 1, outcomes.join(', '));
      assert.deepEqual(outcomes.filter((o) => o === 'conflict').length, 7);
      assert.equal((await store().delegations.inForce(at(1))).length, 1);
    });
  });
}
