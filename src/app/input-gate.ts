/**
 * The first check on every activity: each piece of text the client sent is within its documented
 * limit (domain/input-limits.ts). Past a limit the activity goes no further: the person is told which
 * field and which limit, and the refusal is audited with the oversized fields bounded (prefix,
 * length, SHA-256) and the actor and source clipped, so no audit record grows with attacker input.
 */
import { clipped, controlledFields, controlledForAudit, describeControlled, describeOversized, INPUT_LIMITS, oversizedFields, oversizedForAudit, type ClientText } from '../domain/input-limits';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import { CONVERSATION_KINDS, type Actor, type ApprovalRequest, type Source } from '../domain/request';
import { isRequestId } from '../domain/request-ids';
import { unsafeTextProblem } from '../domain/text-safety';
import type { AppDeps } from './context';
import { refusedEvent, type PersonRefusals } from './person-refusals';

export interface ClientInput {
  /** A card click is audited as `click.refused`, anything else as `request.refused`. */
  kind: 'click' | 'message' | 'other';
  activityType: string;
  actor: Actor;
  source: Source;
  /** `conversation.conversationType` as the activity sent it (the source holds what it is read as). */
  conversationType?: string;
  texts: ClientText[];
}

/**
 * Undefined when every field is within its limit and holds no control character it may not, and the
 * conversation is of a type Countersign knows; otherwise the (audited) refusal to tell the person.
 */
/** `clicks`: the budget a refused click is recorded through (none: one by one). */
export async function admitClientText(deps: Pick<AppDeps, 'store' | 'clock' | 'log'>, input: ClientInput, clicks?: PersonRefusals): Promise<Refusal | undefined> {
  const over = oversizedFields(input.texts);
  const controlled = over.length > 0 ? [] : controlledFields(input.texts);
  const found =
    over.length > 0
      ? { why: refusal(RefusalReason.InputTooLong, describeOversized(over)), fields: over, data: { oversized: oversizedForAudit(over) }, said: 'input over its limit refused' }
      : controlled.length > 0
        ? { why: refusal(RefusalReason.UnsafeText, describeControlled(controlled)), fields: controlled, data: { controlled: controlledForAudit(controlled) }, said: 'input with a control character refused' }
        : undefined;
  if (!found) return await unknownConversationType(deps, input, clicks);
  await auditGateRefusal(deps, input, found.why, found.data, clicks);
  deps.log.warn({ fields: found.fields.map((o) => o.field.slice(0, 80)), by: clipped(input.actor.aadObjectId, INPUT_LIMITS.aadObjectId) }, found.said);
  return found.why;
}

/** The most of an unknown conversation type said back and recorded: Teams' own are a few letters. */
const CONVERSATION_TYPE_SHOWN = 40;

/**
 * The refusal of an activity from a conversation of a type Teams does not send (`meeting`, or
 * anything but personal, groupChat and channel), else undefined. Read as a personal chat, as it was,
 * its sender was answered as in one: `pending` listed every request they may see, a form was posted
 * there. A missing or empty type is not refused: the Agents Playground sends its personal chats
 * without one. A person's message or click is recorded; another activity (a conversation update, a
 * reaction) is only logged, nobody having asked for anything.
 */
async function unknownConversationType(deps: Pick<AppDeps, 'store' | 'clock' | 'log'>, input: ClientInput, clicks: PersonRefusals | undefined): Promise<Refusal | undefined> {
  const sent = input.conversationType;
  if (sent === undefined || sent === '' || (CONVERSATION_KINDS as readonly string[]).includes(sent)) return undefined;
  const shown = clipped(sent, CONVERSATION_TYPE_SHOWN);
  const why = refusal(
    RefusalReason.UnknownConversationType,
    `This conversation's type, ${JSON.stringify(shown)}${sent.length > shown.length ? ` (${sent.length} characters)` : ''}, is not one Countersign knows: it answers only in personal chats, group chats and channels (personal, groupChat, channel). Nothing was done.`,
  );
  if (input.kind !== 'other') await auditGateRefusal(deps, input, why, { conversationType: shown }, clicks);
  deps.log.warn({ conversationType: shown, activityType: input.activityType.slice(0, 40), by: clipped(input.actor.aadObjectId, INPUT_LIMITS.aadObjectId) }, 'activity from a conversation of an unknown type refused');
  return why;
}

/**
 * The request a refused click's card is for, when its requestId is within its limit and names one:
 * its refusal then belongs to that request's trail (its evidence bundle, an export by request).
 */
async function clickedRequest(deps: Pick<AppDeps, 'store'>, input: ClientInput): Promise<ApprovalRequest | undefined> {
  if (input.kind !== 'click') return undefined;
  const id = input.texts.find((t) => t.kind === 'requestId' && t.label === undefined)?.value;
  // Only an id of the request ids' form is looked up (one holding U+0000 cannot even be sent to PostgreSQL).
  if (id === undefined || !isRequestId(id)) return undefined;
  return await deps.store.requests.get(id);
}

/** A refused click goes through its person's budget when given (person-refusals.ts); anything else is recorded one by one. */
async function auditGateRefusal(deps: Pick<AppDeps, 'store' | 'clock'>, input: ClientInput, why: Refusal, data: Record<string, unknown>, clicks: PersonRefusals | undefined): Promise<void> {
  const clicked = await clickedRequest(deps, input);
  const refused = { actor: input.actor, source: input.source, refusal: why, ...(clicked ? { request: clicked } : {}), detail: `${why.message.slice(0, 600)} (activity type ${input.activityType.slice(0, 40)})`, data };
  if (input.kind === 'click' && clicks) return clicks.record(refused);
  await deps.store.audit.append([refusedEvent(input.kind === 'click' ? 'click.refused' : 'request.refused', deps.clock.now().toISOString(), refused)]);
}

/**
 * A reason or parameter value that would change what a card says (a line break, control or
 * text-direction character), that holds what a card cannot show (an invisible character), or is past
 * its limit: refused whatever the catalog's pattern allows.
 */
export function requestTextRefusal(input: { values: Record<string, string>; reason?: string }): Refusal | undefined {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(input.values)) {
    const p = unsafeTextProblem(`The parameter ${name.slice(0, 40)}`, value, 'parameter');
    if (p) problems.push(p);
  }
  if (input.reason !== undefined) {
    if (input.reason.length > INPUT_LIMITS.reason) return refusal(RefusalReason.InputTooLong, describeOversized([{ field: 'reason', limit: INPUT_LIMITS.reason, value: input.reason }]));
    const p = unsafeTextProblem('The reason', input.reason, 'free-text');
    if (p) problems.push(p);
  }
  return problems.length ? refusal(RefusalReason.UnsafeText, `${problems.join('; ')}. Nothing was requested.`) : undefined;
}

/** A decision's comment under the same rule as a reason. */
export function commentRefusal(comment: string | undefined, requestId: string): Refusal | undefined {
  if (comment === undefined) return undefined;
  if (comment.length > INPUT_LIMITS.comment) return refusal(RefusalReason.InputTooLong, describeOversized([{ field: 'comment', limit: INPUT_LIMITS.comment, value: comment }]), requestId);
  const p = unsafeTextProblem('The comment', comment, 'free-text');
  return p ? refusal(RefusalReason.UnsafeText, `${p}. Nothing was changed on request ${requestId}.`, requestId) : undefined;
}
