/**
 * Refused card clicks go through each person's budget a minute (person-refusals.ts): a person who
 * scripts forged or repeated clicks has the first 30 of a minute recorded one by one, the rest
 * counted into a `repeated` click.refused record per request they named, written when the minute
 * is over or at a stop; each click is answered as before, and nobody else's clicks are touched.
 */
import assert from 'node:assert/strict';
import { REFUSAL_BUDGET } from '../../src/app/refusal-budget';
import type { AuditRecord } from '../../src/domain/audit';
import { RefusalReason } from '../../src/domain/refusal';
import type { RepeatedRefusals } from '../../src/domain/repeated-refusals';
import type { AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, carol, opsChannel, sourceIn } from '../support/people';
import { eventually } from '../support/teams';
import { asked, click, freshFakesEachTest } from './steps';

const DELETE = 'delete resource group staging-old';

describe('app: refused card clicks through each person\'s budget a minute', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f });
  const budget = { ...REFUSAL_BUDGET };
  afterEach(() => Object.assign(REFUSAL_BUDGET, budget));

  const refusedClicks = () => f.audit({ types: ['click.refused'] });
  const oneByOne = (records: AuditRecord[]) => records.filter((x) => x.outcome.reason !== 'repeated');
  const summaries = (records: AuditRecord[]) => records.filter((x) => x.outcome.reason === 'repeated');
  const repeated = (x: AuditRecord) => x.data?.repeated as RepeatedRefusals;

  it("records a person's first 30 refused clicks of a minute one by one and counts the 31st on, answering each alike; another person's are untouched", async () => {
    assert.equal(REFUSAL_BUDGET.perMinute, 30, 'the allowance of the other budgets of people');
    const r = await asked(f, alice, DELETE);
    const answers = [];
    for (let i = 0; i < 35; i++) answers.push(await click(f, carol, r, 'approve'));
    // Each of the 35 is told the same, whether recorded or counted.
    assert.equal(new Set(answers.map((a) => JSON.stringify(a))).size, 1);
    assert.equal(answers[34].ok, false);
    assert.equal(!answers[34].ok && answers[34].refusal.reason, RefusalReason.NotAnApprover);
    assert.equal((await refusedClicks()).length, 30, 'the 31st on are counted, not recorded one by one');
    // Alice approving her own request (a real approver's mistake) is still recorded, and Bob's approval goes through.
    const own = await click(f, alice, r, 'approve');
    assert.equal(!own.ok && own.refusal.reason, RefusalReason.SelfApproval);
    assert.equal((await click(f, bob, r, 'approve')).ok, true);
    const after = await refusedClicks();
    assert.equal(after.length, 31);
    assert.deepEqual([after[30].actor?.aadObjectId, after[30].outcome.reason], [alice.aadObjectId, RefusalReason.SelfApproval]);
    assert.equal((await f.audit({ types: ['approval.granted'] })).length, 1, 'real decisions are not budgeted');
    assert.deepEqual(summaries(after), [], 'nothing summarised while the minute runs');

    await f.app.flushRefusals();
    const [summary] = summaries(await refusedClicks());
    assert.equal(summary.request?.id, r.id, "in the request's trail (its evidence bundle, an export by request)");
    assert.equal(summary.actor, undefined);
    const counted = repeated(summary);
    assert.deepEqual([counted.count, counted.reasons, counted.people, counted.request, counted.perMinute], [5, { [RefusalReason.NotAnApprover]: 5 }, { [carol.aadObjectId]: 5 }, r.id, 30]);
    assert.match(String(summary.outcome.detail), new RegExp(`^card clicks refused: 5 more from .* were counted, not recorded one by one \\(at most 30 a minute per person are\\): not-an-approver 5; from 1 person; on request ${r.id}$`));
    assert.ok((await f.audit({ requestId: r.id })).some((x) => x.seq === summary.seq));
  });

  it('counts forged clicks past the budget, malformed ones and those naming no request included, and writes their summaries when the minute is over', async () => {
    Object.assign(REFUSAL_BUDGET, { perMinute: 2, windowMs: 50 });
    const r = await asked(f, alice, DELETE);
    const source = sourceIn(opsChannel, 'forged');
    // Over its limit: refused by the input gate before any lookup.
    const oversized = () => f.app.admitClientText({ kind: 'click', activityType: 'invoke', actor: carol, source, texts: [{ kind: 'verb', value: 'v'.repeat(100) }, { kind: 'requestId', value: r.id }] });
    const said = [];
    for (let i = 0; i < 3; i++) said.push((await oversized())?.message);
    for (let i = 0; i < 2; i++) said.push(await click(f, carol, { ...r, id: 'CS-NOSUCH01' }, 'approve', { replyToId: undefined }));
    assert.equal(new Set(said.slice(0, 3)).size, 1);
    const recorded = await refusedClicks();
    assert.deepEqual(recorded.map((x) => x.outcome.reason), [RefusalReason.InputTooLong, RefusalReason.InputTooLong]);

    // The minute is over: its summaries are written with nothing else coming, one per request named.
    const all = await eventually('the summaries are written', async () => {
      const now = await refusedClicks();
      return summaries(now).length === 2 ? now : undefined;
    }, 5000);
    const [onRequest, onNone] = summaries(all).map(repeated);
    assert.deepEqual([onRequest.count, onRequest.reasons, onRequest.request], [1, { [RefusalReason.InputTooLong]: 1 }, r.id]);
    assert.deepEqual([onNone.count, onNone.reasons, onNone.request], [2, { [RefusalReason.UnknownRequest]: 2 }, undefined]);
    assert.equal(summaries(all)[1].request, undefined);
    assert.equal(oneByOne(all).length, 2);
  });

  it("gives each person an allowance of their own: one person's flood leaves another's refused clicks recorded one by one", async () => {
    Object.assign(REFUSAL_BUDGET, { perMinute: 3 });
    const r = await asked(f, alice, DELETE);
    for (let i = 0; i < 10; i++) await click(f, carol, r, 'approve');
    for (let i = 0; i < 3; i++) await click(f, bob, r, 'cancel');
    const records = await refusedClicks();
    assert.deepEqual(
      records.map((x) => [x.actor?.aadObjectId, x.outcome.reason]),
      [...Array(3).fill([carol.aadObjectId, RefusalReason.NotAnApprover]), ...Array(3).fill([bob.aadObjectId, RefusalReason.NotRequester])],
    );
    await f.app.flushRefusals();
    const [summary] = summaries(await refusedClicks());
    assert.deepEqual(repeated(summary).people, { [carol.aadObjectId]: 7 });
  });

  it('names at most 20 requests a minute with a summary of their own; clicks on any other are counted with those naming none', async () => {
    Object.assign(REFUSAL_BUDGET, { perMinute: 0 });
    const requests = [];
    for (let i = 0; i < 22; i++) requests.push(await asked(f, alice, `${DELETE}${i}`));
    for (const r of requests) await click(f, carol, r, 'approve');
    await f.app.flushRefusals();
    const all = summaries(await refusedClicks());
    assert.equal(all.length, 21);
    assert.deepEqual(all.slice(0, 20).map((x) => x.request?.id), requests.slice(0, 20).map((r) => r.id));
    const rest = repeated(all[20]);
    assert.deepEqual([rest.count, rest.otherRequests, rest.request], [2, 2, undefined]);
    assert.match(String(all[20].outcome.detail), /; 2 of them on requests not named$/);
  });
});
