/** Expiry: pending requests past their time to live end expired, once, with nobody left waiting. */
import { utcText } from '../../src/domain/delegation-time';
import assert from 'node:assert/strict';
import { breakNextCommit } from '../support/broken-commit';
import type { AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, dave } from '../support/people';
import { asked, click, freshFakesEachTest } from './steps';

describe('app: expiring requests', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f });

  it('offers a request past its time to live to nobody, before the sweep marks it: not in pending, no buttons on the card', async () => {
    const r = await asked(f, alice, 'delete resource group staging-old');
    assert.equal((await f.app.personalView(bob, r.id))?.canApprove, true);
    f.clock.advance(2 * 3600_000);
    assert.deepEqual((await f.app.pending(bob)).toDecide, []);
    const view = await f.app.personalView(bob, r.id);
    assert.deepEqual([view?.canApprove, view?.canReject], [false, false]);
    assert.equal((await f.request(r.id)).state, 'pending', 'not swept yet');
  });

  describe('when the database connection breaks while the expiry is committed', () => {
    for (const saved of [true, false]) {
      it(`tells the requester once that it expired, the expiry ${saved ? 'saved' : 'not saved'}`, async () => {
        const r = await asked(f, alice, 'delete resource group staging-old');
        f.clock.advance(2 * 3600_000);
        breakNextCommit(f.store.requests, saved);
        assert.deepEqual(await f.app.sweepExpired(), [r.id]);
        assert.deepEqual(await f.app.sweepExpired(), []);
        assert.equal(f.notifier.told(r.id).length, 1);
        assert.match(f.notifier.told(r.id)[0], new RegExp(`^Request ${r.id} expired`));
        assert.equal((await f.audit({ types: ['request.expired'] })).length, 1);
      });
    }
  });

  it('leaves a request alone until its time to live has passed', async () => {
    const r = await asked(f, alice, 'delete resource group staging-old');
    f.clock.advance(3600_000 - 1);
    assert.deepEqual(await f.app.sweepExpired(), []);
    assert.equal((await f.request(r.id)).state, 'pending');
    assert.deepEqual(await f.audit({ types: ['request.expired'] }), []);
  });

  it('moves every due request to expired with one request.expired each, tells the requester and refreshes the card', async () => {
    const due = await asked(f, alice, 'delete resource group staging-old');
    f.clock.advance(30 * 60_000);
    const later = await asked(f, dave, 'delete resource group staging-older');
    const decided = await asked(f, alice, 'delete resource group staging-oldest');
    await click(f, bob, decided, 'reject');
    f.clock.advance(30 * 60_000 + 1);
    assert.deepEqual(await f.app.sweepExpired(), [due.id]);
    f.clock.advance(30 * 60_000);
    assert.deepEqual(await f.app.sweepExpired(), [later.id]);
    assert.deepEqual(await f.app.sweepExpired(), [], 'a second sweep finds nothing');
    const expired = await f.audit({ types: ['request.expired'] });
    assert.deepEqual(
      expired.map((x) => [x.request?.id, x.outcome.detail]),
      [
        [due.id, `No decision before ${utcText(due.expiresAt)}.`],
        [later.id, `No decision before ${utcText(later.expiresAt)}.`],
      ],
    );
    assert.equal((await f.request(due.id)).state, 'expired');
    assert.equal((await f.request(decided.id)).state, 'rejected');
    assert.deepEqual(f.notifier.told(due.id), [`Request ${due.id} expired: nobody approved it before ${due.expiresAt.slice(0, 10)} ${due.expiresAt.slice(11, 16)} UTC.`]);
    assert.deepEqual(f.notifier.cardRefreshes(due.id), ['expired@2']);
  });

  it('catches up with expiry at start', async () => {
    const r = await asked(f, alice, 'delete resource group staging-old');
    f.clock.advance(2 * 3600_000);
    await f.anotherRun().catchUp();
    assert.equal((await f.request(r.id)).state, 'expired');
  });
});
