/**
 * Whether a person may ask for a command now: their role for it (from the current config), where
 * they ask from, and their rate of new requests. Asked before a request form starts (so someone who
 * may not request is told at once, and no form state is kept for them) and again when the request
 * is created. Every refusal is audited as `request.refused`.
 */
import { neutralise } from '../domain/audit';
import type { CommandSpec } from '../domain/catalog';
import { reasonProblem } from '../domain/reason';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import type { Actor, ApprovalRequest, Source } from '../domain/request';
import { repeatRefusal } from '../domain/same-operation';
import { zoneOrUtc } from '../domain/delegation-time';
import { DEFAULT_MAX_AHEAD_SECONDS, parseRunAt, type RunAtParse } from '../domain/schedule';
import type { AppDeps } from './context';
import { elapsedOn } from './ports';
import { accessWithGroups } from './group-access';
import { requestTextRefusal } from './input-gate';
import { boundedActor, boundedSource } from '../domain/input-limits';

export interface RequestAttempt {
  command: CommandSpec;
  values: Record<string, string>;
  reason?: string;
  actor: Actor;
  source: Source;
  /** The run time asked for, as typed after `at` (ISO 8601, or HH:MM in `timeZone`). */
  runAt?: string;
  /** The sender's IANA zone as Teams reported it (absent: UTC). */
  timeZone?: string;
  /**
   * What the request answers, when one answer must make one request however often it is sent: its
   * id is derived from `key` (ids.ts). A confirmation card (its conversation and message id), or a
   * typed message (its conversation and activity id: Teams sends a message again, with the same id,
   * when its turn took more than about 15 s, to this instance or another).
   */
  answering?: { key: string; what: 'confirmation' | 'message' };
}

/** The run time asked for, resolved in the sender's zone (undefined when none was asked for). */
export function resolveRunAt(deps: Pick<AppDeps, 'clock'>, attempt: RequestAttempt): RunAtParse | undefined {
  if (!attempt.runAt) return undefined;
  const maxAhead = attempt.command.policy?.schedule?.maxAheadSeconds ?? DEFAULT_MAX_AHEAD_SECONDS;
  return parseRunAt(attempt.runAt, deps.clock.now(), zoneOrUtc(attempt.timeZone), maxAhead);
}

/** Unreadable, past, or further ahead than the approval stays valid. */
function runTimeRefusal(deps: Pick<AppDeps, 'clock'>, attempt: RequestAttempt): Refusal | undefined {
  const parsed = resolveRunAt(deps, attempt);
  return parsed && !parsed.ok ? refusal(RefusalReason.RunTimeRefused, `Cannot schedule "${attempt.command.name}": ${parsed.problem} Nothing was requested.`) : undefined;
}

/**
 * The refusal for a person past their rate of new requests, or undefined. With `slot`, a request
 * that may go is counted at once, in the same step as the check: the slot it took is handed to
 * `slot`, to be given back (releaseRequest) if the request is not created after all.
 */
function rateRefusal(deps: Pick<AppDeps, 'requestRate' | 'clock'>, actor: Actor, slot?: (taken: RequestSlot) => void): Refusal | undefined {
  const rate = deps.requestRate;
  if (!rate) return undefined;
  // In memory, per process: measured on the monotonic clock, so a wall-clock step neither holds a person back for its length nor frees them early.
  const now = elapsedOn(deps.clock);
  const wait = rate.waitFor(actor.aadObjectId, now);
  if (wait <= 0) {
    slot?.({ person: actor.aadObjectId, at: rate.record(actor.aadObjectId, now) });
    return undefined;
  }
  const minutes = Math.max(1, Math.ceil(wait / 60_000));
  return refusal(RefusalReason.RateLimited, `You have reached the limit of ${rate.describe()}; try again in ${minutes} minute(s). Nothing was requested.`);
}

/** The refusal of a reason the command's policy finds missing, too short or empty of meaning. */
function reasonRefusal(attempt: Pick<RequestAttempt, 'command' | 'values' | 'reason'>): Refusal | undefined {
  const asked = [attempt.command.name, ...Object.values(attempt.values)].join(' ');
  const problem = reasonProblem(attempt.reason, attempt.command.policy?.reason, asked);
  return problem ? refusal(RefusalReason.ReasonInsufficient, `${problem} Nothing was requested.`) : undefined;
}

/** A request counted against its requester's rate before it was created. */
export interface RequestSlot {
  person: string;
  at: number;
}

/**
 * Undefined when the person may go on; otherwise the audited refusal. `complete` attempts (the
 * request is about to be created) also have their reason and values checked. With `slot`, an
 * attempt that may go is counted against the person's rate at once (see rateRefusal).
 */
export async function mayRequest(deps: AppDeps, attempt: RequestAttempt, complete = false, slot?: (taken: RequestSlot) => void): Promise<Refusal | undefined> {
  const { command, actor, source } = attempt;
  // A requester role that lists Entra groups: the person's memberships are looked up first (group-access.ts).
  const resolved = await accessWithGroups(deps, [actor], command.policy?.requesterRoles ?? []);
  const roleRefusal = deps.config.access.checkActor(actor) ?? (resolved.ok ? resolved.access.checkRequester(command, actor, source) : resolved.refusal);
  const refused = roleRefusal ?? (complete ? (requestTextRefusal(attempt) ?? reasonRefusal(attempt) ?? runTimeRefusal(deps, attempt)) : undefined) ?? rateRefusal(deps, actor, slot);
  if (!refused) {
    // The form asks again for a reason the policy refuses; the refusal of the one typed is audited all the same.
    if (!complete) await auditTypedReason(deps, attempt, 'before the form');
    return undefined;
  }
  return auditRefused(deps, attempt, refused, complete ? {} : { stage: 'before the form' });
}

/**
 * A reason typed (in the message, or in the form) that the command's policy refuses: audited as
 * request.refused (reason-insufficient) when it is typed, even though the form then asks for a
 * better one, so that attempts to get past the reason rule show in the trail. A reason left out is
 * only missing, not refused.
 */
export async function auditTypedReason(deps: Pick<AppDeps, 'store' | 'clock'>, attempt: RequestAttempt, stage: 'before the form' | 'form', more: Record<string, unknown> = {}): Promise<void> {
  if (!attempt.reason?.trim()) return;
  const refused = reasonRefusal(attempt);
  if (refused) await auditRefused(deps, attempt, refused, { stage, ...more });
}

/** Audits a refused attempt as `request.refused` and returns the refusal. */
export async function auditRefused(deps: Pick<AppDeps, 'store' | 'clock'>, attempt: RequestAttempt, refused: Refusal, more: Record<string, unknown> = {}): Promise<Refusal> {
  await deps.store.audit.append([
    neutralise({
      type: 'request.refused' as const,
      time: deps.clock.now().toISOString(),
      actor: boundedActor(attempt.actor),
      source: boundedSource(attempt.source),
      outcome: { result: 'refused' as const, reason: refused.reason, detail: refused.message },
      data: { command: attempt.command.name, parameters: attempt.values, ...(attempt.runAt ? { runAt: attempt.runAt.slice(0, 40) } : {}), ...more },
    }),
  ]);
  return refused;
}

/** Gives back the slot of a request that was not created after all. */
export function releaseRequest(deps: Pick<AppDeps, 'requestRate'>, slot: RequestSlot | undefined): void {
  if (slot) deps.requestRate?.release(slot.person, slot.at);
}

/**
 * The audited refusal of an attempt that would repeat `open`, a request its requester already has
 * open for the same operation (domain/same-operation.ts).
 */
export function refuseRepeat(deps: Pick<AppDeps, 'store' | 'clock'>, attempt: RequestAttempt, open: ApprovalRequest, more: Record<string, unknown> = {}): Promise<Refusal> {
  return auditRefused(deps, attempt, repeatRefusal(open), { openRequest: open.id, openState: open.state, ...more });
}
