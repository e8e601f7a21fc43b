/**
 * A request card stays within Teams' message size whatever was typed and whatever Azure answered:
 * Teams refuses a larger message (HTTP 413), and a card update it refuses leaves the card as it was.
 */
import assert from 'node:assert/strict';
import type { ApprovalRequest, RequestState } from '../../src/domain/request';
import { INPUT_LIMITS } from '../../src/domain/input-limits';
import { requestCard } from '../../src/cards/request-card';
import { cardText } from '../support/connector';
import { bob, dave, minutesIn, requestIn } from '../support/requests';

/** What the brief of a card update allows with room to spare (Teams counts the whole activity). */
const CARD_BUDGET = 28_000;

const STATES: RequestState[] = ['pending', 'needs_reapproval', 'approved', 'scheduled', 'executing', 'succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'];

/** Text of `length` characters that escaping makes longest: every character becomes two, and JSON makes the backslash two. */
const widest = (length: number) => '*'.repeat(length);

/**
 * What the requester typed (their name included) at its longest and most escaped; other people's
 * names long; Azure's answers and a deployment's outputs far longer than a card could hold.
 */
function everythingAtItsLongest(state: RequestState): ApprovalRequest {
  const name = 'Maximiliane Alexandra von Hohenzollern-Sigmaringen (Platform Operations)';
  const person = (id: string) => ({ ...bob, aadObjectId: id, name });
  const base = requestIn(state);
  const at = minutesIn(5).toISOString();
  const azureText = `${widest(20_000)} see https://learn.microsoft.com/azure/x for details`;
  return {
    ...base,
    requester: { ...base.requester, name: widest(INPUT_LIMITS.name) },
    reason: widest(INPUT_LIMITS.reason),
    parameters: { name: widest(INPUT_LIMITS.parameterValue), owner: widest(INPUT_LIMITS.parameterValue) },
    approvals: base.approvals.map((a) => ({ ...a, approver: person(a.approver.aadObjectId), onBehalfOf: { ...dave, name } })),
    unreachable: Array.from({ length: 8 }, (_, i) => ({ id: `${i}`.repeat(36), name, why: 'x'.repeat(120) })),
    escalation: { role: 'r'.repeat(64), at },
    whatIf: { status: 'Succeeded', changes: Array.from({ length: 500 }, (_, i) => ({ resourceId: `/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/${'s'.repeat(80)}${i}`, changeType: 'Modify' as const, changedPaths: Array.from({ length: 5 }, () => `properties.${'p'.repeat(400)}`) })) },
    outcomeDetail: azureText,
    ...(state === 'needs_reapproval' ? { drift: { detectedAt: at, changes: Array.from({ length: 500 }, () => widest(2_000)), previousOperationHash: 'a'.repeat(64) } } : {}),
    ...(state === 'rejected' ? { rejection: { by: person('r'), at, onBehalfOf: { ...dave, name }, comment: widest(INPUT_LIMITS.comment) } } : {}),
    ...(state === 'cancelled' ? { cancellation: { by: person('c'), at } } : {}),
    ...(base.execution
      ? {
          execution: {
            ...base.execution,
            ref: { correlationId: widest(2_000), resourceIds: Array.from({ length: 50 }, () => widest(3_000)) },
            resumedAt: [at],
            cancellation: { by: person('x'), at },
            progress: { state: widest(5_000), done: 1, total: 9 },
            outputs: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`out${i}`, { list: Array.from({ length: 200 }, () => widest(50)) }])),
            error: { code: 'DeploymentFailed', message: azureText, details: [azureText] },
          },
        }
      : {}),
  };
}

describe('cards: size', () => {
  it('keeps a request card within Teams\' message size in every state, with every field at its longest and Azure answering at length', () => {
    for (const state of STATES) {
      for (const breakGlass of [undefined, { reason: widest(INPUT_LIMITS.reason), usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString(), review: { verdict: 'flagged' as const, by: bob, at: minutesIn(9).toISOString(), comment: widest(INPUT_LIMITS.comment) } }]) {
        const r = { ...everythingAtItsLongest(state), ...(breakGlass ? { breakGlass } : {}) };
        const card = requestCard(r, { notice: `Only ${widest(INPUT_LIMITS.name)}, who asked for request ${r.id}, can cancel it.`, viewerIds: Array.from({ length: 100 }, (_, i) => `29:1${'a'.repeat(86)}${i}`) });
        const size = JSON.stringify(card).length;
        assert.ok(size < CARD_BUDGET, `${state}${breakGlass ? ' (break-glass)' : ''}: the card is ${size} characters`);
      }
    }
    // Five ARM ids of a thousand escaped characters each: too long, so each list keeps its first lines.
    const failed = cardText(requestCard(everythingAtItsLongest('failed')));
    assert.match(failed, /^and \d+ more lines, left out to keep the card within the size Teams accepts$/m, 'a card cut to fit says so');
    assert.match(failed, /^Failed: /m, 'what the state means is kept');
  });

  it('shows the first deployment outputs and drift differences, cut to a line each, and counts the rest', () => {
    const outputs = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`out${i}`, 'x'.repeat(1_000)]));
    const done = requestIn('succeeded');
    const text = cardText(requestCard({ ...done, execution: { ...done.execution!, outputs } }));
    assert.match(text, /^Output out0: "x{280,}…$/m);
    assert.match(text, /^Output out9: /m);
    assert.doesNotMatch(text, /Output out10/);
    assert.match(text, /^and 2 more outputs$/m);
    const drifted = requestIn('needs_reapproval', { drift: { detectedAt: minutesIn(6).toISOString(), changes: Array.from({ length: 11 }, (_, i) => `tags.n${i}: "a" → "b"`), previousOperationHash: 'a'.repeat(64) } });
    const driftText = cardText(requestCard(drifted));
    assert.match(driftText, /^Changed: tags\.n9: /m);
    assert.match(driftText, /^and 1 more difference$/m);
  });

  it('names the outputs withheld as secret, after those shown', () => {
    const done = requestIn('succeeded');
    const text = cardText(requestCard({ ...done, execution: { ...done.execution!, outputs: { url: 'https://x' }, withheldOutputs: ['adminPassword', 'storageKey'] } }));
    assert.match(text, /^Output url: .*\nWithheld, as they look secret \(read in Azure by whoever may\): output adminPassword, storageKey$/m);
  });

  it('shows Azure\'s message of a failure cut, not whole', () => {
    const failed = requestIn('failed');
    const text = cardText(requestCard({ ...failed, execution: { ...failed.execution!, error: { code: 'RequestDisallowedByPolicy', message: `Denied by policy. ${'y'.repeat(5_000)}` } } }));
    assert.match(text, /^Azure said RequestDisallowedByPolicy: Denied by policy\. y+…$/m);
    assert.ok(text.length < 3_000, `${text.length}`);
  });
});
