/**
 * Rounds of messages taken up again. Every round telling the people who may decide a request (its
 * creation, a re-approval, the escalation, a reminder) or review a break-glass use (the use, its
 * overdue review) is recorded on the request with the change
 * that calls for it, and each outcome recorded lets go of that person. What is left of a round after
 * a stop cut it short (those recorded as not reached because Countersign was stopping), after its
 * instance died (those with no outcome at all), or after Countersign's own database failed during it
 * (those it kept from being reached: RoundDue.missed, domain/request.ts), is sent again by the sweep:
 * at the first sweep after a stop, at the first sweep that can write once only those the database
 * kept from it are left (no message of the round may still be on its way then, on any instance),
 * ROUND.resumeAfterMs after the round began after a crash. The round is taken up again by a
 * compare-and-swap (audited as approvers.round_resumed) before anyone is told, so of several
 * instances only the one whose write won tells them; only people who may still decide are told. A
 * request the config as it is now would never let run is ended instead (unaskable.ts).
 */
import { breakGlassRound, missedOf, peopleToDecide, resumeRound, roundToResume } from '../domain/lifecycle';
import { DECIDABLE_STATES, isDecidable, type ApprovalRequest, type RoundDue } from '../domain/request';
import { breakGlassChannels, breakGlassText } from './break-glass';
import { commandNamesOf, transact, type AppDeps } from './context';
import { delegatesOf, delegationsToTell, noDelegations, notifyPolicy, reach, type Delegations } from './notifications';
import { reminderText } from './reminders';
import { ROUND } from './round';
import { requestsWhere } from './sweep-each';
import { endUnaskableRequest } from './unaskable';

/** Takes up again every round due now; returns the ids of their requests. */
export async function sweepUnfinishedRounds(deps: AppDeps, open?: readonly ApprovalRequest[]): Promise<string[]> {
  if (!deps.messenger) return [];
  const now = deps.clock.now();
  const when = { afterMs: ROUND.resumeAfterMs, max: ROUND.maxResumes };
  const resumed: string[] = [];
  // The only instance on its store: a round begun before it started has no live run to wait for
  // (a crash just after a request was saved then tells its approvers within a sweep, not 10 minutes).
  const since = deps.onlyInstanceSince?.getTime();
  const whenFor = (x: ApprovalRequest) => (since !== undefined && x.round && Date.parse(x.round.at) < since ? { ...when, afterMs: 0 } : when);
  // A round still under way on this instance (a slow one) is not sent again beside itself.
  const isDue = (x: ApprovalRequest) => roundToResume(x, now, whenFor(x)) && !deps.rounds?.has(x.round!.at);
  const due = open ? open.filter(isDue) : await roundsOnRecord(deps, now, isDue);
  // A delegate is sent it again only while their delegation is in force.
  const inForce = due.length > 0 ? await delegationsToTell(deps) : noDelegations(deps);
  const ended: string[] = [];
  for (const r of due) {
    // One the config as it is now would never let run (its command removed, its requester no longer
    // in a role that may ask for it) is ended instead, as a reminder or the escalation ends it
    // (unaskable.ts): nobody is sent its card again, its requester is told why.
    if (isDecidable(r) && (await endUnaskableRequest(deps, r))) {
      ended.push(r.id);
      continue;
    }
    const outcome = await transact(deps, r.id, (current) => resumeRound(current, now, mayBeTold(deps, current, inForce), whenFor(current), roundChannels(current, current.round)), { refreshCards: false });
    // Another instance took it up first, or it was decided or finished meanwhile.
    if (!outcome?.result.ok) continue;
    const request = outcome.result.request;
    resumed.push(request.id);
    const round = request.round;
    if (!round) continue;
    const occasion = round.occasion;
    const text = occasion === 'reminder' ? (zone: string) => reminderText(request, now, zone, commandNamesOf(deps)) : breakGlassRound(occasion) ? (zone: string) => breakGlassText(request, occasion, zone) : undefined;
    // A card the dead round posted and bound before it recorded anything works: that person or
    // channel has it, and gets no second one. A reminder is its message, so it goes again.
    const bound = round.occasion === 'reminder' ? [] : await deps.store.cards.getCardMessages(request.id);
    // A card Teams took whose recording failed with the database is recorded now, not sent a second time.
    const unbound = missedOf(outcome.before.round).flatMap((m) => (m.card ? [m.card] : []));
    await reach(deps, request, round.occasion, { people: round.people, channels: round.channels }, text, { unlessBoundIn: [...bound, ...unbound] });
  }
  if (resumed.length > 0) deps.log.info({ resumed }, 'rounds of messages cut short taken up again');
  if (ended.length > 0) deps.log.info({ ended }, 'requests the config no longer lets run ended instead of their round taken up again');
  return resumed;
}

/** Who a round may still tell: those who may decide the request, and (unless it is a break-glass round) their delegates. */
function mayBeTold(deps: AppDeps, r: ApprovalRequest, told: Delegations): string[] {
  const deciders = peopleToDecide(r, deps.config.access.roles);
  if (!r.round || breakGlassRound(r.round.occasion)) return deciders;
  return [...deciders, ...delegatesOf(deps, r, peopleToDecide(r, told.roles), told).keys()];
}

/**
 * The requests whose round `isDue` says is due, among those that can be decided (read page by page:
 * requestsWhere) and the break-glass uses with a round announcing them still under way (found by the
 * stores' break-glass column, whatever their state).
 */
async function roundsOnRecord(deps: AppDeps, now: Date, isDue: (r: ApprovalRequest) => boolean): Promise<ApprovalRequest[]> {
  const decidable = await requestsWhere(deps, { states: [...DECIDABLE_STATES] }, isDue);
  const breakGlass = (await deps.store.requests.list({ reviewDueBy: now.toISOString() })).filter((r) => r.round && breakGlassRound(r.round.occasion) && isDue(r));
  const seen = new Set(decidable.map((r) => r.id));
  return [...decidable, ...breakGlass.filter((r) => !seen.has(r.id))];
}

/** The channels a round may still go to: the request's own approval channels, and a break-glass use's notice channels. */
function roundChannels(r: ApprovalRequest, round: RoundDue | undefined): string[] {
  return round && breakGlassRound(round.occasion) ? breakGlassChannels(r) : notifyPolicy(r).channels;
}
