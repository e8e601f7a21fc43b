/**
 * Accepting a loss of audit records (countersign audit accept-loss) with requests still waiting for
 * approval: what was lost may hold their approval and execution (or their rejection), so they are not
 * offered to approvers again, where a second approval would run the operation twice.
 */
import assert from 'node:assert/strict';
import type { AppOnFakes } from '../support/app-on-fakes';
import path from 'node:path';
import { ENDED_CARDS_WINDOW_MS } from '../../src/app/countersign';
import { acceptAuditLoss as accept } from '../../src/app/accept-loss';
import { openSqliteStore } from '../../src/store/sqlite';
import { appOnStore } from '../support/app-on-fakes';
import { tempDir } from '../store/fixtures';
import { alice, bob } from '../support/people';
import { asked, click, freshFakesEachTest, refusedWith, settle } from './steps';

describe('app: accepting a loss of audit records', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f });

  const acceptance = (seq: number) => ({ reason: 'restored from a copy, INC-4721', operator: 'ops@host', problems: ['records 13 to 20 are missing'], head: { seq, hash: 'a'.repeat(64) } });

  it('expires a request left waiting for approval, unrun, so no approver can approve it a second time', async () => {
    const waiting = await asked(f, alice, 'delete resource group staging-old');
    const rejected = await asked(f, alice, 'delete resource group staging-older');
    await click(f, bob, rejected, 'reject');
    const head = (await f.audit()).at(-1)!.seq;

    const { expired } = await accept({ store: f.store, clock: f.clock }, acceptance(head));
    assert.deepEqual(expired, [waiting.id]);
    const stored = await f.request(waiting.id);
    assert.equal(stored.state, 'expired');
    assert.equal(
      stored.outcomeDetail,
      `Not executed: it was waiting for approval when a loss of audit records was accepted (countersign audit accept-loss; the log then ended at record ${head}), and what was lost may show it was approved and already ran (or was rejected or cancelled), so it is not offered for approval again. Check the target in Azure; ask again if it is still needed.`,
    );
    assert.deepEqual(
      (await f.audit({ types: ['request.expired', 'audit.loss_accepted'] })).map((e) => [e.type, e.request?.id, e.data?.afterAuditLoss]),
      [
        ['request.expired', waiting.id, head],
        ['audit.loss_accepted', undefined, undefined],
      ],
    );
    assert.equal((await f.request(rejected.id)).state, 'rejected', 'a decided request is left as it is');
    assert.deepEqual((await f.app.pending(bob)).toDecide, []);
    const again = await click(f, bob, waiting, 'approve');
    assert.equal(again.ok, false);
    assert.equal((await f.request(waiting.id)).state, 'expired');
  });

  it("refuses a click on such a request's card saying it expired at the accepted loss: check Azure, ask again", async () => {
    const waiting = await asked(f, alice, 'delete resource group staging-old');
    const head = (await f.audit()).at(-1)!.seq;
    await accept({ store: f.store, clock: f.clock }, acceptance(head));
    for (const verb of ['approve', 'reject']) {
      const refused = await click(f, bob, waiting, verb);
      assert.equal(
        refused.ok ? '' : refused.refusal.message,
        `Request ${waiting.id} expired, unrun, when a loss of audit records was accepted (countersign audit accept-loss; the log then ended at record ${head}), so it can no longer be ${verb === 'approve' ? 'approved' : 'rejected'}: what was lost may show it was already approved and ran, or was rejected or cancelled. Check the target in Azure; ask for it again if it is still needed.`,
      );
    }
    const cancelled = await click(f, alice, waiting, 'cancel');
    assert.match(cancelled.ok ? '' : cancelled.refusal.message, /so it can no longer be cancelled: /);
    // Every refused click is still in the request's own trail, with its id.
    const refusals = await f.audit({ types: ['click.refused'] });
    assert.deepEqual(
      refusals.map((r) => [r.request?.id, r.data?.requestId, r.data?.verb, r.outcome.reason]),
      [
        [waiting.id, waiting.id, 'approve', 'expired'],
        [waiting.id, waiting.id, 'reject', 'expired'],
        [waiting.id, waiting.id, 'cancel', 'expired'],
      ],
    );
    assert.match(refusals[0].outcome.detail ?? '', /when a loss of audit records was accepted/);
  });

  it('says why from the request itself: its audit records are not read for it', async () => {
    const waiting = await asked(f, alice, 'delete resource group staging-old');
    await accept({ store: f.store, clock: f.clock }, acceptance((await f.audit()).at(-1)!.seq));
    const read = f.store.audit.read.bind(f.store.audit);
    f.store.audit.read = (filter, options) =>
      filter?.requestId
        ? (async function* () {
            yield* [];
            throw new Error('disk I/O error');
          })()
        : read(filter, options);
    const refused = await click(f, bob, waiting, 'approve');
    assert.equal(refusedWith(refused), 'expired');
    assert.match(refused.ok ? '' : refused.refusal.message, /expired, unrun, when a loss of audit records was accepted/);
    f.store.audit.read = read;
    const [recorded] = await f.audit({ types: ['click.refused'] });
    assert.equal(recorded.request?.id, waiting.id);
  });

  it('says only "has expired" for a request that expired undecided, not at a loss', async () => {
    const r = await asked(f, alice, 'delete resource group staging-old');
    f.clock.advance(5 * 3600_000);
    await f.app.sweepExpired();
    const refused = await click(f, bob, r, 'approve');
    assert.equal(refusedWith(refused), 'expired');
    assert.equal(refused.ok ? '' : refused.refusal.message, `Request ${r.id} has expired; it can no longer be approved.`);
  });

  it("brings the cards of the requests it expired to their end at the next start, however long after the loss was accepted", async () => {
    const waiting = await asked(f, alice, 'delete resource group staging-old');
    const ended = await asked(f, alice, 'delete resource group staging-older');
    await click(f, bob, ended, 'reject');
    await accept({ store: f.store, clock: f.clock }, acceptance((await f.audit()).at(-1)!.seq));
    const expired = await f.request(waiting.id);
    // Countersign stays stopped for more than a day (the start's window for ended requests) after the acceptance.
    f.clock.advance(ENDED_CARDS_WINDOW_MS + 3600_000);
    const before = f.notifier.cardRefreshes(waiting.id).length;
    assert.equal(await f.anotherRun().refreshCards(), 1, 'that request only: the one rejected before is left alone');
    assert.deepEqual(f.notifier.cardRefreshes(waiting.id).slice(before), [`expired@${expired.version}`]);
    assert.deepEqual(f.notifier.cardRefreshes(ended.id).filter((c) => c.startsWith('expired')), []);
  });

  it('still brings the recent cards up to date when the requests a loss expired cannot be read, and logs why', async () => {
    const lost = await asked(f, alice, 'delete resource group staging-old');
    await accept({ store: f.store, clock: f.clock }, acceptance((await f.audit()).at(-1)!.seq));
    f.clock.advance(2 * ENDED_CARDS_WINDOW_MS);
    const recent = await asked(f, alice, 'delete resource group staging-older');
    await click(f, bob, recent, 'reject');
    const list = f.store.requests.list.bind(f.store.requests);
    f.store.requests.list = async (query) => (query.expiredAtAuditLoss ? Promise.reject(new Error('database is locked')) : list(query));
    assert.equal(await f.anotherRun().refreshCards(), 1);
    assert.deepEqual(f.notifier.cardRefreshes(lost.id), [], 'its card waits for the next start');
    assert.ok(f.notifier.cardRefreshes(recent.id).at(-1)?.startsWith('rejected@'));
    assert.ok(f.log.lines.some((l) => l.level === 'error' && /accepted loss of audit records expired/.test(l.msg ?? '')));
    f.log.lines.length = 0;
  });

  it('finds the requests of every loss accepted, and reads no request an expiry by time ended', async () => {
    const first = await asked(f, alice, 'delete resource group staging-old');
    await accept({ store: f.store, clock: f.clock }, acceptance((await f.audit()).at(-1)!.seq));
    const timed = await asked(f, alice, 'delete resource group staging-older');
    f.clock.advance(5 * 3600_000);
    await f.app.sweepExpired();
    const second = await asked(f, alice, 'delete resource group staging-oldest');
    await accept({ store: f.store, clock: f.clock }, acceptance((await f.audit()).at(-1)!.seq));
    assert.equal((await f.request(timed.id)).state, 'expired');
    f.clock.advance(2 * ENDED_CARDS_WINDOW_MS);
    const other = f.anotherRun();
    assert.equal(await other.refreshCards(), 2);
    assert.ok(f.notifier.cardRefreshes(first.id).at(-1)?.startsWith('expired@'));
    assert.ok(f.notifier.cardRefreshes(second.id).at(-1)?.startsWith('expired@'));
  });

  it('expires nothing when only the signing key was lost (no record is missing)', async () => {
    const waiting = await asked(f, alice, 'delete resource group staging-old');
    const { expired } = await accept({ store: f.store, clock: f.clock }, acceptance((await f.audit()).at(-1)!.seq), false);
    assert.deepEqual(expired, []);
    assert.equal((await f.request(waiting.id)).state, 'pending');
  });

  it('finds them in a SQLite store, every loss, and no request an expiry by time ended', async () => {
    const tmp = tempDir();
    const g = appOnStore(await openSqliteStore({ file: path.join(tmp.dir, 'countersign.db') }));
    try {
      const before = await asked(g, alice, 'delete resource group staging-old');
      await accept({ store: g.store, clock: g.clock }, acceptance((await g.audit()).at(-1)!.seq));
      const timed = await asked(g, alice, 'delete resource group staging-oldest');
      g.clock.advance(5 * 3600_000);
      await g.app.sweepExpired();
      const later = await asked(g, alice, 'delete resource group staging-older');
      await accept({ store: g.store, clock: g.clock }, acceptance((await g.audit()).at(-1)!.seq));
      assert.equal((await g.request(timed.id)).state, 'expired');
      g.clock.advance(2 * ENDED_CARDS_WINDOW_MS);
      assert.equal(await g.anotherRun().refreshCards(), 2);
      for (const r of [before, later]) assert.ok(g.notifier.cardRefreshes(r.id).at(-1)?.startsWith('expired@'), r.id);
    } finally {
      await settle(g);
      await g.store.close();
      tmp.remove();
    }
  });
});
