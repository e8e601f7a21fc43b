/**
 * Who sent an activity and from where, read only from the authenticated activity (never from card
 * data). The channel's JWT, validated by the adapter, is what makes these fields trustworthy.
 */
import type { Activity } from 'botbuilder';
import type { Actor, ConversationKind, Source } from '../domain/request';

interface TeamsChannelData {
  tenant?: { id?: string };
}

export function actorOf(activity: Partial<Activity>): Actor {
  const channelData = (activity.channelData ?? {}) as TeamsChannelData;
  return {
    aadObjectId: activity.from?.aadObjectId ?? '',
    tenantId: activity.conversation?.tenantId ?? channelData.tenant?.id ?? '',
    name: (activity.from?.name ?? activity.from?.id ?? 'unknown').slice(0, 200),
  };
}

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
