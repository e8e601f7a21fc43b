/**
 * Refusals of people of the tenants served that decide nothing and that one script could repeat
 * without end, yet that a compliance reviewer wants to see: `status <id>` for a request the person
 * may not see, or that does not exist (probing for ids), and an answer to a request form or
 * confirmation that is not the one waiting for the person's answer (someone else's, or an old copy).
 * Each kind is recorded as `request.refused` one by one up to each person's own budget a minute
 * (refusal-budget.ts), then counted per person into one `repeated` record, so a flood cannot fill
 * the append-only log, and one person's flood does not silence the records of anyone else's.
 * Refused card clicks (`click.refused`: a click someone scripted, forged or repeated, as well as an
 * approver approving their own request) pass a budget of the same kind; past it their `repeated`
 * records are written per request the clicks named, so each request's trail still counts them.
 * Every other refusal of these people stays recorded one by one.
 */
import { neutralise, requestRef, type AuditEventDraft } from '../domain/audit';
import { boundedActor, boundedSource, clipped, INPUT_LIMITS } from '../domain/input-limits';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import { repeatedText, type RepeatedRefusals } from '../domain/repeated-refusals';
import type { Actor, ApprovalRequest, Source } from '../domain/request';
import type { AppDeps } from './context';
import { RefusalBudget } from './refusal-budget';

/** One refusal of such a kind: who, where, why, and the facts of its kind. */
export interface PersonRefusal {
  actor: Actor;
  source: Source;
  refusal: Refusal;
  /** The request it named, when one exists: the record is then in that request's trail. */
  request?: ApprovalRequest;
  data: Record<string, unknown>;
  /** The record's detail, when not the refusal's message (at most 600 characters of it). */
  detail?: string;
}

/** The record type of a kind's refusals, and of its `repeated` summaries. */
type RefusalType = 'request.refused' | 'click.refused';

/** One kind's budget: its records one by one, then counted per person. */
export class PersonRefusals {
  private readonly budget: RefusalBudget;

  constructor(
    private readonly deps: Pick<AppDeps, 'store' | 'clock' | 'log'>,
    /** How the kind's `repeated` record begins ("status of a request not seen") and the data it carries. */
    what: string,
    summaryData: Record<string, unknown>,
    private readonly type: RefusalType = 'request.refused',
  ) {
    this.budget = new RefusalBudget(
      deps.clock,
      async (repeated) => {
        // A summary of the clicks on one request's cards is in that request's trail (read again: its record is kept from the refusals' minute only by id).
        const request = repeated.request !== undefined ? await deps.store.requests.get(repeated.request) : undefined;
        await deps.store.audit.append([repeatedEvent(type, what, summaryData, repeated, deps.clock.now().toISOString(), request)]);
      },
      (err) => deps.log.error({ err: String(err), what }, 'could not record the count of refused attempts'),
      'person',
    );
  }

  /** Records the refusal (or, past the budget, counts it); an audit write that fails fails the caller. */
  async record(r: PersonRefusal): Promise<void> {
    // Refused clicks are summarised per request they name (one that exists); other kinds in one summary.
    const named = this.type === 'click.refused' ? r.request?.id : undefined;
    if (!this.budget.admit(r.refusal.reason, clipped(r.actor.aadObjectId, INPUT_LIMITS.aadObjectId), named)) return;
    await this.deps.store.audit.append([refusedEvent(this.type, this.deps.clock.now().toISOString(), r)]);
  }

  /** At a stop: what was counted and not yet recorded is recorded. */
  flush(): Promise<void> {
    return this.budget.flush();
  }
}

/** The record of one refusal of such a kind (actor and source clipped to their limits). */
export function refusedEvent(type: RefusalType, time: string, r: PersonRefusal): AuditEventDraft {
  return neutralise({
    type,
    time,
    actor: boundedActor(r.actor),
    source: boundedSource(r.source),
    ...(r.request ? { request: requestRef(r.request), target: r.request.target } : {}),
    outcome: { result: 'refused' as const, reason: r.refusal.reason, detail: r.detail ?? r.refusal.message.slice(0, 600) },
    data: r.data,
  });
}

function repeatedEvent(type: RefusalType, what: string, data: Record<string, unknown>, r: RepeatedRefusals, time: string, request?: ApprovalRequest): AuditEventDraft {
  return neutralise({
    type,
    time,
    ...(request ? { request: requestRef(request), target: request.target } : {}),
    outcome: { result: 'refused' as const, reason: 'repeated', detail: `${what}: ${repeatedText(r)}` },
    data: { ...data, repeated: r },
  });
}

/** What a form answer is: which card's button, as the card's data names it. */
export interface FormAnswer {
  actor: Actor;
  source: Source;
  /** The button's kind (`form`, `form-cancel`, `confirm`, `confirm-cancel`), as sent. */
  answer: string;
  /** The command the answered card names, as sent. */
  command?: string;
  /** The message id of the card answered (the activity's replyToId). */
  answered?: string;
  /** Whether the person has a form of their own waiting for an answer in this conversation. */
  formOpen: boolean;
}

/**
 * The refusal of an answer to a form or confirmation that is not the one waiting for this person's
 * answer, and its record: it neither goes on with their own form nor changes that card.
 */
export async function refuseFormAnswer(deps: Pick<AppDeps, 'config'>, budget: PersonRefusals, a: FormAnswer): Promise<Refusal> {
  const why = refusal(
    RefusalReason.FormMismatch,
    a.formOpen
      ? "That card is not the form waiting for your answer (an old copy, or someone else's): nothing was requested. Use the newest form Countersign sent you, or type the command again."
      : 'That form is no longer active (it was finished, cancelled or replaced), or it is not yours. Type the command again.',
  );
  // Only a command configured now is named: the card's data is the client's, and anything else in it is not recorded.
  const command = a.command !== undefined ? deps.config.catalog.find(a.command)?.name : undefined;
  await budget.record({
    actor: a.actor,
    source: a.source,
    refusal: why,
    data: {
      stage: 'form',
      answer: String(a.answer).slice(0, 40),
      ...(command ? { command } : {}),
      ...(a.answered !== undefined ? { answeredMessage: clipped(a.answered, INPUT_LIMITS.activityId) } : {}),
      formOpen: a.formOpen,
    },
  });
  return why;
}
