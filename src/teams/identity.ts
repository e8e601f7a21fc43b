/**
 * Who sent an activity and from where, read only from the authenticated activity (never from card
 * data). The channel's JWT, validated by the adapter, is what makes these fields trustworthy.
 */
import type { Activity } from 'botbuilder';
import type { ClientText, InputField } from '../domain/input-limits';
import type { Actor, ConversationKind, Source } from '../domain/request';
import type { TenantClaims } from '../app/access';
import { zoneOrUtc } from '../domain/delegation-time';

interface TeamsChannelData {
  tenant?: { id?: string };
}

export function actorOf(activity: Partial<Activity>): Actor {
  const channelData = (activity.channelData ?? {}) as TeamsChannelData;
  return {
    aadObjectId: activity.from?.aadObjectId ?? '',
    tenantId: activity.conversation?.tenantId ?? channelData.tenant?.id ?? '',
    // A blank display name would leave a card reading " asks to …" and "Requested by ,": the object id names them instead.
    name: (activity.from?.name?.trim() ? activity.from.name : activity.from?.aadObjectId || activity.from?.id || 'unknown').slice(0, 200),
  };
}

/** Each tenant id the activity names, where it names one: the tenant gate refuses two that differ. */
export function tenantClaimsOf(activity: Partial<Activity>): TenantClaims {
  const channelData = (activity.channelData ?? {}) as TeamsChannelData;
  const conversation = activity.conversation?.tenantId;
  const fromChannelData = channelData.tenant?.id;
  return { ...(typeof conversation === 'string' ? { conversation } : {}), ...(typeof fromChannelData === 'string' ? { channelData: fromChannelData } : {}) };
}

/** The sender's time zone when the client sent one this runtime knows (Intl accepts it), else undefined. */
export function knownTimeZoneOf(activity: Partial<Activity>): string | undefined {
  const zone = timeZoneOf(activity);
  return zone && zoneOrUtc(zone) === zone ? zone : undefined;
}

/** The sender's IANA time zone, when the client sent it (activity.localTimezone, or a clientInfo entity). */
export function timeZoneOf(activity: Partial<Activity>): string | undefined {
  if (typeof activity.localTimezone === 'string' && activity.localTimezone) return activity.localTimezone.slice(0, 64);
  const info = (activity.entities ?? []).find((e) => e.type === 'clientInfo') as { timezone?: unknown } | undefined;
  return typeof info?.timezone === 'string' && info.timezone ? info.timezone.slice(0, 64) : undefined;
}

/**
 * The conversation's kind. One without a type is a personal chat unless it says it is a group (the
 * Agents Playground sends its personal chats without one); a type Teams does not send (`meeting`)
 * is refused by the app's input gate before anything reads it (it would read as personal here).
 */
function conversationKind(activity: Partial<Activity>): ConversationKind {
  const t = activity.conversation?.conversationType;
  if (t === 'channel') return 'channel';
  if (t === 'groupChat' || activity.conversation?.isGroup) return 'groupChat';
  return 'personal';
}

export function sourceOf(activity: Partial<Activity>): Source {
  return {
    channelId: activity.channelId ?? 'unknown',
    conversationId: activity.conversation?.id ?? '',
    conversationType: conversationKind(activity),
    ...(activity.id ? { activityId: activity.id } : {}),
  };
}

/**
 * A typed message's key: its conversation and activity id, when it has both. Teams sends a message
 * again, with the same id, when the bot took more than about 15 s to answer it; the use cases
 * recognise the second sending by this key, on this instance or another.
 */
export function messageKeyOf(activity: Partial<Activity>): string | undefined {
  const { id, conversation } = activity;
  return id && conversation?.id ? `message/${conversation.id}/${id}` : undefined;
}

/** The client-supplied text of an activity, each piece named by the limit it falls under (domain/input-limits). */
export function clientTextOf(activity: Partial<Activity>): ClientText[] {
  const texts: ClientText[] = [];
  const add = (kind: InputField, value: unknown, label?: string) => {
    if (typeof value === 'string') texts.push(label ? { kind, value, label } : { kind, value });
  };
  const channelData = (activity.channelData ?? {}) as TeamsChannelData;
  add('aadObjectId', activity.from?.aadObjectId);
  add('userId', activity.from?.id);
  add('name', activity.from?.name);
  add('tenantId', activity.conversation?.tenantId);
  add('tenantId', channelData.tenant?.id);
  add('conversationId', activity.conversation?.id);
  add('channelId', activity.channelId);
  add('activityId', activity.id);
  add('replyToId', activity.replyToId);
  add('messageText', activity.text);
  // Whom the message @mentions (delegate @someone): the ids and name Teams, or a crafted body, put there.
  for (const e of Array.isArray(activity.entities) ? activity.entities : []) {
    const mentioned = e?.type === 'mention' && e.mentioned && typeof e.mentioned === 'object' ? (e.mentioned as Record<string, unknown>) : undefined;
    if (!mentioned) continue;
    add('userId', mentioned.id, 'mention id');
    add('name', mentioned.name, 'mention name');
    add('aadObjectId', mentioned.aadObjectId, 'mention aadObjectId');
  }
  const value = (activity.value && typeof activity.value === 'object' ? activity.value : {}) as Record<string, unknown>;
  if (activity.type === 'invoke') {
    const action = (value.action && typeof value.action === 'object' ? value.action : {}) as Record<string, unknown>;
    const data = (action.data && typeof action.data === 'object' ? action.data : {}) as Record<string, unknown>;
    add('verb', action.verb);
    add('requestId', data.requestId);
    add('comment', data.comment);
    add('cardHash', data.hash);
  } else {
    // A submitted request form: its reason and parameter inputs.
    add('reason', value.reason);
    for (const [key, v] of Object.entries(value)) if (key.startsWith('param.')) add('parameterValue', v, `parameter ${key.slice(6, 46)}`);
    // A card action sent as a message (clickInSubmission): refused, and said back, so bounded like a click's.
    const submitted = clickInSubmission(activity);
    if (submitted) {
      add('verb', submitted.verb);
      add('requestId', submitted.requestId);
    }
  }
  return texts;
}

/**
 * The card action a message's value carries in place of a form's answer (which names `countersign`):
 * an Action.Submit or messageBack shaped like a request card's button, `{verb, requestId}` or
 * `{action: {verb, data: {requestId}}}`. No button of Countersign's sends one (they are
 * Action.Execute invokes): it is refused as a click, never decided.
 */
export function clickInSubmission(activity: Partial<Activity>): { verb: string; requestId: string } | undefined {
  if (activity.type !== 'message' || !activity.value || typeof activity.value !== 'object' || Array.isArray(activity.value)) return undefined;
  const value = activity.value as Record<string, unknown>;
  if (value.countersign !== undefined) return undefined;
  const action = (value.action && typeof value.action === 'object' ? value.action : {}) as Record<string, unknown>;
  const data = (action.data && typeof action.data === 'object' ? action.data : {}) as Record<string, unknown>;
  const verb = [value.verb, action.verb].find((v) => typeof v === 'string');
  const requestId = [value.requestId, data.requestId].find((v) => typeof v === 'string');
  return verb === undefined && requestId === undefined ? undefined : { verb: (verb as string | undefined) ?? '', requestId: (requestId as string | undefined) ?? '' };
}
