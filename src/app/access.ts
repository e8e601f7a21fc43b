/**
 * The tenant gate: every activity, whatever it is, passes it before anything else happens (the
 * size of its texts is checked after it). A refusal is audited (who, from where, what kind of
 * activity: the ids as the activity claims them, each clipped to its limit, since nothing here is
 * known to be Teams' own yet) and told to the sender in words.
 *
 * Any Teams tenant can message a multi-tenant bot (a sideloaded manifest naming its id is enough),
 * and the audit log is append-only: these refusals go through the budget a minute the refusals of
 * unauthenticated callers go through (refusal-budget.ts). The first ones of a minute are recorded
 * one by one and told; the rest are counted into one record and not told (a reply is a call to the
 * Bot Connector in the sender's conversation). People of the allowed tenants never meet this gate's
 * refusals, and theirs stay recorded one by one.
 */
import { neutralise } from '../domain/audit';
import { RefusalReason } from '../domain/refusal';
import { repeatedText, type RepeatedRefusals } from '../domain/repeated-refusals';
import type { Actor, Source } from '../domain/request';
import type { AppDeps } from './context';
import { boundedActor, boundedSource, clipped, INPUT_LIMITS } from '../domain/input-limits';
import { RefusalBudget } from './refusal-budget';

/**
 * Refused: `message` says why. `counted`: past the budget a minute, the refusal was only counted, and
 * nothing is posted to the sender (an invoke's HTTP answer may still say it: that posts nothing).
 */
export type Admission = { ok: true } | { ok: false; message: string; counted?: true };

/** The tenant ids an activity names, each where it names one (Teams sends both; they must agree). */
export interface TenantClaims {
  /** `conversation.tenantId` */
  conversation?: string;
  /** `channelData.tenant.id` */
  channelData?: string;
}

/**
 * The one Bot Framework channel served. The identity Countersign decides on (from.aadObjectId, the
 * tenant) is Teams': an activity the Bot Connector signs for another channel of the same bot
 * registration (Web Chat, Direct Line) carries whatever ids its client put there.
 */
const TEAMS_CHANNEL = 'msteams';

export class TenantGate {
  private readonly budget: RefusalBudget;

  constructor(private readonly deps: AppDeps) {
    this.budget = new RefusalBudget(
      deps.clock,
      async (repeated) => {
        await deps.store.audit.append([repeatedTenantRefusedEvent(repeated, deps.clock.now().toISOString())]);
      },
      (err) => deps.log.error({ err: String(err) }, 'could not record the count of activities refused at the tenant gate'),
      'tenant',
    );
  }

  async admit(actor: Actor, source: Source, activityType: string, claims: TenantClaims = {}): Promise<Admission> {
    const { deps } = this;
    if (source.channelId !== TEAMS_CHANNEL) return this.refuseChannel(actor, source, activityType);
    // Two tenants in one activity: whichever is allowed, it cannot be told which one the sender is in.
    const disagree = claims.conversation !== undefined && claims.channelData !== undefined && claims.conversation !== claims.channelData;
    if (!disagree && deps.config.access.tenantAllowed(actor.tenantId)) return { ok: true };
    // Refused: what it claims is told and recorded within the limits of each field.
    claims = { ...(claims.conversation !== undefined ? { conversation: clipped(claims.conversation, INPUT_LIMITS.tenantId) } : {}), ...(claims.channelData !== undefined ? { channelData: clipped(claims.channelData, INPUT_LIMITS.tenantId) } : {}) };
    actor = boundedActor(actor);
    activityType = activityType.slice(0, 40);
    deps.log.warn({ tenantId: actor.tenantId, activityType, ...(disagree ? { conversationTenantId: claims.conversation, channelDataTenantId: claims.channelData } : {}) }, 'tenant refused');
    const message = disagree
      ? `This activity names two tenants, ${claims.conversation || '(empty)'} (conversation.tenantId) and ${claims.channelData || '(empty)'} (channelData.tenant.id): it is not accepted.`
      : `Tenant ${actor.tenantId || '(none)'} is not allowed to use Countersign.`;
    if (!this.budget.admit(RefusalReason.TenantNotAllowed, actor.tenantId || '(none)')) return { ok: false, message, counted: true };
    const detail = disagree
      ? `activity type ${activityType}; conversation.tenantId ${claims.conversation} and channelData.tenant.id ${claims.channelData} differ`
      : `activity type ${activityType}`;
    await recordRefusal(deps, actor, source, RefusalReason.TenantNotAllowed, detail);
    return { ok: false, message };
  }

  /** At a stop: the refusals counted but not yet recorded are recorded. */
  flush(): Promise<void> {
    return this.budget.flush();
  }

  private async refuseChannel(claimed: Actor, source: Source, type: string): Promise<Admission> {
    const { deps } = this;
    const channel = source.channelId.slice(0, 64);
    const actor = boundedActor(claimed);
    const activityType = type.slice(0, 40);
    deps.log.warn({ channelId: channel, activityType }, 'channel refused');
    const message = `Countersign works only in Microsoft Teams (channel ${TEAMS_CHANNEL}); this activity came from channel "${channel}", so nothing was done.`;
    if (!this.budget.admit(RefusalReason.ChannelNotAllowed, actor.tenantId || '(none)')) return { ok: false, message, counted: true };
    await recordRefusal(deps, actor, source, RefusalReason.ChannelNotAllowed, `activity type ${activityType}; channel ${channel}, not ${TEAMS_CHANNEL}`);
    return { ok: false, message };
  }
}

/** The tenant.refused record of an activity turned away at the gate. */
function recordRefusal(deps: AppDeps, actor: Actor, source: Source, reason: RefusalReason, detail: string): Promise<unknown> {
  return deps.store.audit.append([
    neutralise({ type: 'tenant.refused' as const, time: deps.clock.now().toISOString(), actor: boundedActor(actor), source: boundedSource(source), outcome: { result: 'refused' as const, reason, detail } }),
  ]);
}

/** The record of a minute's gate refusals past the budget: how many, why, from which tenants as claimed. */
function repeatedTenantRefusedEvent(r: RepeatedRefusals, time: string) {
  return neutralise({
    type: 'tenant.refused' as const,
    time,
    outcome: { result: 'refused' as const, reason: 'repeated', detail: `Activity from a tenant or channel not served: ${repeatedText(r)}` },
    data: { repeated: r },
  });
}
