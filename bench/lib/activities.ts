/**
 * The activities the load generator sends, shaped as Teams sends them (the same shape as
 * test/support/teams.ts), and the people of the example config who send them.
 */
export const TENANT = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
export const CHANNEL = { id: '19:incident-bridge@thread.tacv2', conversationType: 'channel' as const };

export interface Person {
  id: string;
  aadObjectId: string;
  name: string;
}

export const alice: Person = { id: 'user-alice', aadObjectId: '11111111-1111-4111-8111-111111111111', name: 'Alice Requester' };
export const bob: Person = { id: 'user-bob', aadObjectId: '22222222-2222-4222-8222-222222222222', name: 'Bob Approver' };
const dave: Person = { id: 'user-dave', aadObjectId: '55555555-5555-4555-8555-555555555555', name: 'Dave Lead' };

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

/** Alice or Dave asks for a resource group to be deleted (no what-if, so no Azure call). */
export function messageActivity(connectorUrl: string, i: number): Record<string, unknown> {
  return activity(connectorUrl, i % 2 === 0 ? alice : dave, i, {
    type: 'message',
    text: `delete resource group staging-old-${i % 1000} reason: incident 4711 cleanup`,
  });
}
