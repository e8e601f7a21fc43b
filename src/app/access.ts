/**
 * The tenant gate: every activity, whatever it is, passes it before anything else happens (the
 * size of its texts is checked after it). A refusal is audited (who, from where, what kind of
 * activity: the ids as the activity claims them, each clipped to its limit, since nothing here is
 * known to be Teams' own yet) and told to the sender in words.
 */
import { neutralise } from '../domain/audit';
import { RefusalReason } from '../domain/refusal';
import type { Actor, Source } from '../domain/request';
import type { AppDeps } from './context';
import { boundedActor, boundedSource } from './input-gate';
import { clipped, INPUT_LIMITS } from '../domain/input-limits';

export type Admission = { ok: true } | { ok: false; message: string };

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

export async function admit(deps: AppDeps, actor: Actor, source: Source, activityType: string, claims: TenantClaims = {}): Promise<Admission> {
  if (source.channelId !== TEAMS_CHANNEL) return refuseChannel(deps, actor, source, activityType);
  // Two tenants in one activity: whichever is allowed, it cannot be told which one the sender is in.
  const disagree = claims.conversation !== undefined && claims.channelData !== undefined && claims.conversation !== claims.channelData;
  if (!disagree && deps.config.access.tenantAllowed(actor.tenantId)) return { ok: true };
  // Refused: what it claims is told and recorded within the limits of each field.
  claims = { ...(claims.conversation !== undefined ? { conversation: clipped(claims.conversation, INPUT_LIMITS.tenantId) } : {}), ...(claims.channelData !== undefined ? { channelData: clipped(claims.channelData, INPUT_LIMITS.tenantId) } : {}) };
  actor = boundedActor(actor);
  activityType = activityType.slice(0, 40);
  const detail = disagree
    ? `activity type ${activityType}; conversation.tenantId ${claims.conversation} and channelData.tenant.id ${claims.channelData} differ`
    : `activity type ${activityType}`;
  await recordRefusal(deps, actor, source, RefusalReason.TenantNotAllowed, detail);
  deps.log.warn({ tenantId: actor.tenantId, activityType, ...(disagree ? { conversationTenantId: claims.conversation, channelDataTenantId: claims.channelData } : {}) }, 'tenant refused');
  if (disagree) {
    return { ok: false, message: `This activity names two tenants, ${claims.conversation || '(empty)'} (conversation.tenantId) and ${claims.channelData || '(empty)'} (channelData.tenant.id): it is not accepted.` };
  }
  return { ok: false, message: `Tenant ${actor.tenantId || '(none)'} is not allowed to use Countersign.` };
}

async function refuseChannel(deps: AppDeps, claimed: Actor, source: Source, type: string): Promise<Admission> {
  const channel = source.channelId.slice(0, 64);
  const actor = boundedActor(claimed);
  const activityType = type.slice(0, 40);
  await recordRefusal(deps, actor, source, RefusalReason.ChannelNotAllowed, `activity type ${activityType}; channel ${channel}, not ${TEAMS_CHANNEL}`);
  deps.log.warn({ channelId: channel, activityType }, 'channel refused');
  return { ok: false, message: `Countersign works only in Microsoft Teams (channel ${TEAMS_CHANNEL}); this activity came from channel "${channel}", so nothing was done.` };
}

/** The tenant.refused record of an activity turned away at the gate. */
function recordRefusal(deps: AppDeps, actor: Actor, source: Source, reason: RefusalReason, detail: string): Promise<unknown> {
  return deps.store.audit.append([
    neutralise({ type: 'tenant.refused' as const, time: deps.clock.now().toISOString(), actor: boundedActor(actor), source: boundedSource(source), outcome: { result: 'refused' as const, reason, detail } }),
  ]);
}
