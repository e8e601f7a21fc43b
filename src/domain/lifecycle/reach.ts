/**
 * Reaching the people who may decide a request: who they are, when a reminder or the escalation is
 * due, and the transitions that record them. Reminders and escalation are recorded on the request
 * (compare-and-swap) before anyone is told, so of several instances only the one whose write won
 * tells, and a restart neither repeats nor loses them.
 */
import { type AuditEventDraft, requestEvent } from '../audit';
import { formatDuration } from '../duration-text';
import { decidingRoles, type Roles } from '../policy';
import { RefusalReason } from '../refusal';
import { type ApprovalRequest, isDecidable, type RoundDue, type RoundMissed, type RoundOccasion, type Unreachable } from '../request';
import { breakGlassRound, reviewOpen } from './break-glass';
import { bookkeeping, next, refuse, type Transition } from './transition';

/** Why people are being told of the request: every occasion's round is recorded on the request (RoundDue). */
export type ReachOccasion = RoundOccasion;

/** Whom a round of messages reached, and whom it could not. */
export interface ReachOutcome {
  occasion: ReachOccasion;
  reached: { id: string; name?: string }[];
  unreachable: Unreachable[];
  /** The round recorded on the request this outcome belongs to (its `at`), when there is one. */
  round?: string;
  /** Ids among `unreachable` not reached only because Countersign stopped: the round keeps them, to be taken up again. */
  cut?: string[];
  /** Those among `unreachable` not reached only because Countersign's database failed: the round keeps them too (RoundDue.missed). */
  missed?: RoundMissed[];
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Everyone who may still decide the request (lowercase object ids): members of its deciding roles
 * (only the escalation role's when `onlyRole` names it), never the requester, nobody who approved it
 * or for whom a delegate approved it.
 */
export function peopleToDecide(r: ApprovalRequest, roles: Roles, onlyRole?: string): string[] {
  const ids = new Set<string>();
  for (const role of onlyRole ? [onlyRole] : decidingRoles(r)) for (const id of roles.membersOf(role)) ids.add(id.toLowerCase());
  ids.delete(r.requester.aadObjectId.toLowerCase());
  // Nor anyone whose authority counts already: who approved, and whom a delegate approved for.
  for (const a of r.approvals) {
    ids.delete(a.approver.aadObjectId.toLowerCase());
    if (a.onBehalfOf) ids.delete(a.onBehalfOf.aadObjectId.toLowerCase());
  }
  return [...ids];
}

/**
 * Who could not be told of the request and has not decided it since: someone who approved it after
 * all (or whose delegate did) found it another way, and is not said to be unreached beside it.
 */
export function stillUnreached(r: Pick<ApprovalRequest, 'unreachable' | 'approvals'>): Unreachable[] {
  const decided = r.approvals.flatMap((a) => [a.approver, ...(a.onBehalfOf ? [a.onBehalfOf] : [])]);
  return (r.unreachable ?? []).filter((u) => !decided.some((p) => same(p.aadObjectId, u.id)));
}

/** The reminder point due now (the latest one passed and not yet handled), if a reminder is due. */
export function dueReminder(r: ApprovalRequest, now: Date): Date | undefined {
  const policy = r.policy.reminders;
  if (!policy || !isDecidable(r) || (r.reminders?.sent ?? 0) >= policy.max) return undefined;
  const expires = Date.parse(r.expiresAt);
  const opened = expires - r.policy.ttlSeconds * 1000;
  const last = r.reminders ? Date.parse(r.reminders.lastPointAt) : opened;
  const t = now.getTime();
  if (t >= expires) return undefined;
  const passed = policy.beforeExpirySeconds.map((s) => expires - s * 1000).filter((p) => p > opened && p > last && p <= t);
  // Several points passed at once (the bot was down): one reminder, not a burst.
  return passed.length > 0 ? new Date(Math.max(...passed)) : undefined;
}

/**
 * Records that a reminder is being sent to `to` (before it is sent): audited, counted toward the
 * maximum. With `to` empty and `unsent` saying why, the point is used up and nothing is sent.
 */
export function remind(r: ApprovalRequest, now: Date, to: string[], unsent?: string): Transition {
  const point = dueReminder(r, now);
  if (!point) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} has no reminder due.`);
  const sent = (r.reminders?.sent ?? 0) + 1;
  const updated = next(r, now, { reminders: { sent, lastPointAt: point.toISOString() } });
  const detail = `reminder ${sent} of at most ${r.policy.reminders!.max}; expires ${r.expiresAt}${unsent ? `; not sent: ${unsent}` : ''}`;
  return { ok: true, request: updated, events: [requestEvent(updated, 'request.reminded', now.toISOString(), { result: 'ok', detail }, { data: { to } })] };
}

export function escalationDue(r: ApprovalRequest, now: Date): boolean {
  const e = r.policy.escalation;
  if (!e || r.escalation || !isDecidable(r)) return false;
  const t = now.getTime();
  return t >= Date.parse(r.createdAt) + e.afterSeconds * 1000 && t < Date.parse(r.expiresAt);
}

/** The request waited past the escalation delay: from now on the escalation role may decide it too. */
export function escalate(r: ApprovalRequest, now: Date): Transition {
  if (!escalationDue(r, now)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} is not due for escalation.`);
  const e = r.policy.escalation!;
  const at = now.toISOString();
  const updated = next(r, now, { escalation: { role: e.role, at } });
  const detail = `No decision within ${formatDuration(e.afterSeconds)}: ${e.role} may decide it too.`;
  return { ok: true, request: updated, events: [requestEvent(updated, 'request.escalated', at, { result: 'ok', detail }, { data: { role: e.role } })] };
}

/** The audit records of a round of messages: who was reached, and one record per person who was not. */
export function reachEvents(r: ApprovalRequest, at: string, o: ReachOutcome): AuditEventDraft[] {
  const events: AuditEventDraft[] = [];
  if (o.reached.length > 0) {
    events.push(requestEvent(r, 'approvers.notified', at, { result: 'ok', detail: `${o.occasion}: ${o.reached.length} reached` }, { data: { occasion: o.occasion, reached: o.reached.map((p) => p.id) } }));
  }
  for (const u of o.unreachable) {
    events.push(requestEvent(r, 'approver.unreachable', at, { result: 'error', reason: 'unreachable', detail: u.why }, { data: { occasion: o.occasion, who: u.id, ...(u.name ? { name: u.name } : {}) } }));
  }
  return events;
}

/** Who cannot be reached after this round: those it could not reach replace older entries, those it reached leave the list. */
export function unreachableAfter(r: ApprovalRequest, o: ReachOutcome): Unreachable[] {
  const touched = [...o.reached.map((p) => p.id), ...o.unreachable.map((u) => u.id)];
  return [...(r.unreachable ?? []).filter((u) => !touched.some((id) => same(id, u.id))), ...o.unreachable];
}

/**
 * Who could not be reached as the request's card shows it (request-card.ts): only while it can be
 * decided, or while a break-glass use waits for its review; an approved or ended request's card says
 * nothing of it.
 */
function unreachableShown(r: Pick<ApprovalRequest, 'unreachable' | 'approvals' | 'state' | 'breakGlass'>): Unreachable[] {
  return isDecidable(r) || reviewOpen(r) ? stillUnreached(r) : [];
}

/** Whether recording this outcome changes what the request's card shows (who could not be reached). */
export function reachShown(r: ApprovalRequest, o: ReachOutcome): boolean {
  return JSON.stringify(unreachableShown(r)) !== JSON.stringify(unreachableShown({ ...r, unreachable: unreachableAfter(r, o) }));
}

/**
 * Records a round of messages on the request (the card shows who could not be reached) with its audit
 * records. When that changes nothing its card shows (only the round lets go of those with an outcome,
 * or the request was approved meanwhile: a card that went, or failed, late), the write is bookkeeping:
 * its version still moves (the compare-and-swap is as before), its `updatedAt` and the version its card
 * shows do not (the start's card catch-up does not send its card again, unchanged).
 */
export function recordReach(r: ApprovalRequest, now: Date, o: ReachOutcome): Transition {
  const unreachable = unreachableAfter(r, o);
  const round = roundAfter(r, o);
  const updated = (reachShown(r, o) ? next : bookkeeping)(r, now, { ...(unreachable.length > 0 ? { unreachable } : {}), ...(round ? { round } : {}) });
  if (unreachable.length === 0) delete updated.unreachable;
  if (!round) delete updated.round;
  return { ok: true, request: updated, events: reachEvents(updated, now.toISOString(), o) };
}

/**
 * The request with `round` recorded as the round of messages about to start (none when nobody is to
 * be told). Written with the change that calls for the round, so that a round cut short by a stop or
 * a crash is known and taken up again (resumeRound).
 */
export function withRound(r: ApprovalRequest, occasion: RoundOccasion, audience: { people: string[]; channels: string[] }, at: string): ApprovalRequest {
  const { round: _old, ...rest } = r;
  if (audience.people.length === 0 && audience.channels.length === 0) return rest;
  return { ...rest, round: { occasion, at, people: [...audience.people], channels: [...audience.channels] } };
}

/**
 * The request's round once this outcome is recorded: everyone with an outcome leaves it, except
 * those not reached only because Countersign stopped (the round is then marked cut); undefined once
 * nobody is left. An outcome of another round (an older one, taken up again since) leaves it alone.
 */
function roundAfter(r: ApprovalRequest, o: ReachOutcome): RoundDue | undefined {
  const round = r.round;
  if (!round || o.round !== round.at) return round;
  const cut = new Set((o.cut ?? []).map((id) => id.toLowerCase()));
  const missedNow = o.missed ?? [];
  const kept = new Set([...cut, ...missedNow.map((m) => m.id.toLowerCase())]);
  const settled = new Set([...o.reached.map((p) => p.id), ...o.unreachable.map((u) => u.id)].map((id) => id.toLowerCase()).filter((id) => !kept.has(id)));
  const keep = (ids: string[]) => ids.filter((id) => !settled.has(id.toLowerCase()));
  const people = keep(round.people);
  const channels = keep(round.channels);
  if (people.length === 0 && channels.length === 0) return undefined;
  const left = new Set([...people, ...channels].map((id) => id.toLowerCase()));
  const stopped = round.cut || [...left].some((id) => cut.has(id));
  // Who the database's failure kept from being reached, as recorded now or before (each once, only while still in the round).
  const missed = [...missedOf(round).filter((m) => !missedNow.some((n) => same(n.id, m.id))), ...missedNow].filter((m) => left.has(m.id.toLowerCase()));
  const { cut: _cut, missed: _missed, ...rest } = round;
  return { ...rest, people, channels, ...(stopped ? { cut: true as const } : {}), ...(missed.length > 0 ? { missed } : {}) };
}

/** Who the round could not reach only because Countersign's database failed (what reads as no such entry in an edited row is left out). */
export function missedOf(round: RoundDue | undefined): RoundMissed[] {
  const missed: unknown = round?.missed;
  if (!Array.isArray(missed)) return [];
  return missed.filter((m): m is RoundMissed => typeof (m as RoundMissed | undefined)?.id === 'string').map((m) => {
    const card = m.card;
    return typeof card?.conversationId === 'string' && typeof card.activityId === 'string' ? { id: m.id, card: { conversationId: card.conversationId, activityId: card.activityId } } : { id: m.id };
  });
}

/**
 * Whether all that is left of the round is whom Countersign's database kept from being reached: no
 * message of it may still be on its way (every other one has its outcome recorded), so it can be
 * taken up again at once, by any instance.
 */
function onlyMissedLeft(round: RoundDue): boolean {
  const missed = missedOf(round);
  const left = [...round.people, ...round.channels];
  return missed.length > 0 && left.every((id) => missed.some((m) => same(m.id, id)));
}

/** Whether recording this outcome changes the request's round. */
export function changesRound(r: ApprovalRequest, o: ReachOutcome): boolean {
  return JSON.stringify(roundAfter(r, o) ?? null) !== JSON.stringify(r.round ?? null);
}

/**
 * When a round is taken up again: at once after a stop cut it or when only those Countersign's
 * database kept from being reached are left of it, `afterMs` after it began otherwise (its instance
 * died), at most `max` times.
 */
export interface RoundResumption {
  afterMs: number;
  max: number;
}

/** How many times the round was taken up again: a count that is not a whole number of at least 0 (an edited row) counts as spent. */
function resumedCount(round: RoundDue, max: number): number {
  const n = round.resumed ?? 0;
  return Number.isInteger(n) && n >= 0 ? n : max;
}

/**
 * Whether what the round tells of still stands: the request can still be decided, or, for a
 * break-glass use and its overdue review, the use still waits for its review.
 */
function roundStillWanted(r: ApprovalRequest, round: RoundDue): boolean {
  return breakGlassRound(round.occasion) ? reviewOpen(r) : isDecidable(r);
}

/** Whether the request's round is to be taken up again now. */
export function roundToResume(r: ApprovalRequest, now: Date, when: RoundResumption): boolean {
  const round = r.round;
  if (!round || !roundStillWanted(r, round) || resumedCount(round, when.max) >= when.max) return false;
  return round.cut === true || onlyMissedLeft(round) || now.getTime() - Date.parse(round.at) >= when.afterMs;
}

/**
 * Takes the request's round up again (before anyone is told, so that of several instances only the
 * one whose write won tells): those still without an outcome who may still decide (`deciders`,
 * lowercase object ids) and the approval channels still named (`channels`: the request's own),
 * audited as approvers.round_resumed. The round is named anew,
 * so that a late answer of the old one leaves it alone.
 */
export function resumeRound(r: ApprovalRequest, now: Date, deciders: readonly string[], when: RoundResumption, channels: readonly string[]): Transition {
  if (!roundToResume(r, now, when)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} has no round of messages to take up again.`);
  const round = r.round!;
  // Only people who may decide, each once, and only the request's own approval channels: what the
  // round names beyond them (a row edited in the database) is not sent to.
  const may = new Set(deciders.map((id) => id.toLowerCase()));
  const people = [...new Map(round.people.filter((id) => may.has(id.toLowerCase())).map((id) => [id.toLowerCase(), id])).values()];
  const allowed = new Set(channels);
  const kept = [...new Set(round.channels.filter((c) => allowed.has(c)))];
  const at = now.toISOString();
  const resumed = resumedCount(round, when.max) + 1;
  const rest = withRound(r, round.occasion, { people, channels: kept }, at);
  // No card shows the round: bookkeeping, which leaves the request's updatedAt and the version its card shows as they were.
  const updated = bookkeeping(rest, now, rest.round ? { round: { ...rest.round, resumed } } : {});
  const to = [...people, ...kept];
  const why = round.cut ? 'Countersign stopped during the round' : onlyMissedLeft(round) ? "Countersign's database failed during the round" : `no outcome recorded since ${round.at}`;
  const detail = `${round.occasion}: ${to.length} not told yet (${why}); taken up again, time ${resumed} of at most ${when.max}`;
  return { ok: true, request: updated, events: [requestEvent(updated, 'approvers.round_resumed', at, { result: 'ok', detail }, { data: { occasion: round.occasion, to } })] };
}
