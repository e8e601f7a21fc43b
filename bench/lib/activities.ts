/**
 * The activities the load generator sends, shaped as Teams sends them (the same shape as
 * test/support/teams.ts), sent by the people of the example config (test/support/people.ts).
 */
import { people, TENANT, type Person } from '../../test/support/people';

export { TENANT };
export const CHANNEL = { id: '19:incident-bridge@thread.tacv2', conversationType: 'channel' as const };

export const alice = people.alice;
export const bob = people.bob;
const dave = people.dave;

/** A pending request and the card message that was posted for it. */
export interface ClickTarget {
  requestId: string;
  cardActivityId: string;
  operationHash: string;
}

function activity(connectorUrl: string, person: Person, i: number, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    channelId: 'msteams',
    serviceUrl: connectorUrl,
    id: `bench-in-${i}`,
    timestamp: new Date().toISOString(),
    from: { id: person.id, name: person.name, aadObjectId: person.aadObjectId },
    recipient: { id: 'bot-countersign', name: 'Countersign' },
    conversation: { id: CHANNEL.id, conversationType: CHANNEL.conversationType, tenantId: TENANT, isGroup: true },
    channelData: { tenant: { id: TENANT } },
    ...extra,
  };
}

/** Bob clicks Approve on the card posted for the request. */
export function clickActivity(connectorUrl: string, target: ClickTarget, i: number): Record<string, unknown> {
  return activity(connectorUrl, bob, i, {
    type: 'invoke',
    name: 'adaptiveCard/action',
    replyToId: target.cardActivityId,
    value: { action: { type: 'Action.Execute', verb: 'approve', data: { requestId: target.requestId, hash: target.operationHash } } },
  });
}

/**
 * Alice or Dave asks for a resource group to be deleted (no what-if, so no Azure call), in one of
 * 1,000 channels: a bot's replies into one conversation are held to Teams' limits (60 in 30 s),
 * so a load of hundreds of requests a second is an incident spread over many channels, not one.
 */
export function messageActivity(connectorUrl: string, i: number): Record<string, unknown> {
  return activity(connectorUrl, i % 2 === 0 ? alice : dave, i, {
    conversation: { id: `19:incident-bridge-${i % 1000}@thread.tacv2`, conversationType: CHANNEL.conversationType, tenantId: TENANT, isGroup: true },
    type: 'message',
    // A group of its own for each: the same one asked again by its requester while open is refused.
    text: `delete resource group staging-old-${i} reason: incident 4711 cleanup`,
  });
}
