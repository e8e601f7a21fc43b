/**
 * Accepting a loss of audit records (countersign audit accept-loss) with requests still waiting for
 * approval: what was lost may hold their approval and execution (or their rejection), so they are not
 * offered to approvers again, where a second approval would run the operation twice.
 */
import assert from 'node:assert/strict';
import { acceptAuditLoss } from '../../src/app/accept-loss';
import { appOnFakes, type AppOnFakes } from '../support/app-on-fakes';
import { alice, bob } from '../support/people';
import { asked, click, settle } from './steps';

describe('app: accepting a loss of audit records', () => {
  let f: AppOnFakes;
  beforeEach(() => {
    f = appOnFakes();
  });
  afterEach(async () => {
    await settle(f);
  });

  const acceptance = (seq: number) => ({ reason: 'restored from a copy, INC-4721', operator: 'ops@host', problems: ['records 13 to 20 are missing'], head: { seq, hash: 'a'.repeat(64) } });

  it('expires a request left waiting for approval, unrun, so no approver can approve it a second time', async () => {
    const waiting = await asked(f, alice, 'delete resource group staging-old');
    const rejected = await asked(f, alice, 'delete resource group staging-older');
    await click(f, bob, rejected, 'reject');
    const head = (await f.audit()).at(-1)!.seq;

    const { expired } = await acceptAuditLoss({ store: f.store, clock: f.clock }, acceptance(head));
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

  it('expires nothing when only the signing key was lost (no record is missing)', async () => {
    const waiting = await asked(f, alice, 'delete resource group staging-old');
    const { expired } = await acceptAuditLoss({ store: f.store, clock: f.clock }, acceptance((await f.audit()).at(-1)!.seq), false);
    assert.deepEqual(expired, []);
    assert.equal((await f.request(waiting.id)).state, 'pending');
  });
});
