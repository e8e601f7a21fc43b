/**
 * Refusals of people of the tenants served that decide nothing and that one script could repeat
 * without end, yet that a compliance reviewer wants to see: `status <id>` for a request the person
 * may not see, or that does not exist (probing for ids), and an answer to a request form or
 * confirmation that is not the one waiting for the person's answer (someone else's, or an old copy).
 * Each kind is recorded as `request.refused` one by one up to each person's own budget a minute
 * (refusal-budget.ts), then counted per person into one `repeated` record, so a flood cannot fill
 * the append-only log, and one person's flood does not silence the records of anyone else's. Every other refusal of these people stays recorded one by one.
 */
import { neutralise, requestRef, type AuditEventDraft } from '../domain/audit';
import { clipped, INPUT_LIMITS } from '../domain/input-limits';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import { repeatedText, type RepeatedRefusals } from '../domain/repeated-refusals';
import type { Actor, ApprovalRequest, Source } from '../domain/request';
import type { AppDeps } from './context';
import { boundedActor, boundedSource } from './input-gate';
import { RefusalBudget } from './refusal-budget';

/** One refusal of such a kind: who, where, why, and the facts of its kind. */
export interface PersonRefusal {
  actor: Actor;
  source: Source;
  refusal: Refusal;
  /** The request it named, when one exists: the record is then in that request's trail. */
  request?: ApprovalRequest;
  data: Record<string, unknown>;
}

/** One kind's budget: its records one by one, then counted per person. */
export class PersonRefusals {
  private readonly budget: RefusalBudget;

  constructor(
    private readonly deps: Pick<AppDeps, 'store' | 'clock' | 'log'>,
    /** How the kind's `repeated` record begins ("status of a request not seen") and the data it carries. */
    what: string,
    summaryData: Record<string, unknown>,
  ) {
    this.budget = new RefusalBudget(
      deps.clock,
      async (repeated) => {
        await deps.store.audit.append([repeatedEvent(what, summaryData, repeated, deps.clock.now().toISOString())]);
      },
      (err) => deps.log.error({ err: String(err), what }, 'could not record the count of refused attempts'),
      'person',
    );
  }

  /** Records the refusal (or, past the budget, counts it); an audit write that fails fails the caller. */
  async record(r: PersonRefusal): Promise<void> {
    if (!this.budget.admit(r.refusal.reason, clipped(r.actor.aadObjectId, INPUT_LIMITS.aadObjectId))) return;
    await this.deps.store.audit.append([
      neutralise({
        type: 'request.refused' as const,
        time: this.deps.clock.now().toISOString(),
        actor: boundedActor(r.actor),
        source: boundedSource(r.source),
        ...(r.request ? { request: requestRef(r.request), target: r.request.target } : {}),
        outcome: { result: 'refused' as const, reason: r.refusal.reason, detail: r.refusal.message.slice(0, 600) },
        data: r.data,
      }),
    ]);
  }

  /** At a stop: what was counted and not yet recorded is recorded. */
  flush(): Promise<void> {
    return this.budget.flush();
  }
}

function repeatedEvent(what: string, data: Record<string, unknown>, r: RepeatedRefusals, time: string): AuditEventDraft {
  return neutralise({
    type: 'request.refused' as const,
    time,
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
