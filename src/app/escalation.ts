/**
 * Escalation: a request still undecided after the policy's delay is escalated (a compare-and-swap,
 * audited as request.escalated, shown on every card), and from then on the escalation role may decide
 * it too, counting toward the same approvals under the same rules. Its members are told like the
 * approvers were. Of several instances sweeping at once, only the one whose write won tells them. A
 * request the config as it is now would never let run is ended when its escalation falls due instead
 * (unaskable.ts).
 */
import { escalate, escalationDue, oweOutcomeMessage } from '../domain/lifecycle';
import { DECIDABLE_STATES, type ApprovalRequest } from '../domain/request';
import { transact, type AppDeps } from './context';
import { announcingAfter, decidersAudience, delegationsToTell, noDelegations, tellDeciders } from './notifications';
import { sendEndingMessage } from './outcome-message';
import { eachRequest, requestsWhere } from './sweep-each';
import { endUnaskableRequest } from './unaskable';

/** Escalates every request due now; returns their ids. */
export async function sweepEscalations(deps: AppDeps): Promise<string[]> {
  const now = deps.clock.now();
  const due = await requestsWhere(deps, { states: [...DECIDABLE_STATES] }, (x) => escalationDue(x, now));
  const escalated: string[] = [];
  const ended: string[] = [];
  // The delegates of those it goes to are sent it too (delegation.md).
  const inForce = due.length > 0 ? await delegationsToTell(deps) : noDelegations(deps);
  try {
    await eachRequest(deps, 'escalation sweep', due, async (r) => {
      // One the config as it is now would never let run is ended instead (unaskable.ts): nobody is asked to decide it, its requester is told why.
      if (await endUnaskableRequest(deps, r)) {
        ended.push(r.id);
        return;
      }
      // The escalation's round is recorded with it (round-resume.ts takes it up again if cut short), and
      // its requester's message as owed (outcome-message.ts): a run killed before it went still sends it.
      const outcome = await transact(
        deps,
        r.id,
        (current) => oweOutcomeMessage(announcingAfter(deps, escalate(current, now), 'escalated', now, (x) => decidersAudience(deps, x, 'escalated', inForce)), now, escalatedText),
        { readBackUnknownCommit: true },
      );
      if (!outcome?.result.ok) return;
      const request = outcome.result.request;
      escalated.push(request.id);
      sendEndingMessage(deps, request, outcome.before);
      await tellDeciders(deps, request, 'escalated');
    });
  } finally {
    if (escalated.length > 0) deps.log.info({ escalated }, 'requests escalated');
    if (ended.length > 0) deps.log.info({ ended }, 'requests the config no longer lets run ended instead of escalated');
  }
  return escalated;
}

function escalatedText(r: ApprovalRequest): string {
  return `Request ${r.id} had no decision within the time its policy allows, so it was escalated: ${r.escalation?.role} may decide it now too.`;
}
