/**
 * The people, tenants and conversations of every test: one definition, used by the unit tests, the
 * harness that talks to the bot over HTTP, the end-to-end test and the benchmarks.
 *
 * Alice asks; Bob and Dave approve (platform-approvers in config/countersign.example.yaml, Dave
 * also asks); Erin audits; Carol holds no role; Mallory is from another tenant. Their ids and
 * names are the Agents Playground's (playground/.m365agentsplayground.yml). Frank is no one in the
 * example config: tests that build their own roles make him an approver, and his id has letters so
 * that tests of letter-case handling use him (an all-digit id has no case to change).
 */
import path from 'node:path';
import type { Actor, Source } from '../../src/domain/request';

/** The tenant of the example config and of the Playground. */
export const TENANT = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
/** A tenant Countersign does not serve. */
export const OTHER_TENANT = '99999999-9999-4999-8999-999999999999';

/** A person as Teams sends them: the channel account id besides the Entra identity. */
export interface Person extends Actor {
  id: string;
}

export const people = {
  alice: { id: 'user-alice', aadObjectId: '11111111-1111-4111-8111-111111111111', name: 'Alice Requester', tenantId: TENANT },
  bob: { id: 'user-bob', aadObjectId: '22222222-2222-4222-8222-222222222222', name: 'Bob Approver', tenantId: TENANT },
  carol: { id: 'user-carol', aadObjectId: '33333333-3333-4333-8333-333333333333', name: 'Carol NoRole', tenantId: TENANT },
  erin: { id: 'user-erin', aadObjectId: '44444444-4444-4444-8444-444444444444', name: 'Erin Auditor', tenantId: TENANT },
  dave: { id: 'user-dave', aadObjectId: '55555555-5555-4555-8555-555555555555', name: 'Dave Lead', tenantId: TENANT },
  mallory: { id: 'user-mallory', aadObjectId: '66666666-6666-4666-8666-666666666666', name: 'Mallory Outsider', tenantId: OTHER_TENANT },
  frank: { id: 'user-frank', aadObjectId: 'c0ffee00-ca70-4ca7-8ca7-ca70ca70ca70', name: 'Frank Approver', tenantId: TENANT },
} satisfies Record<string, Person>;

/** The identity a use case sees (what the Teams layer takes from an authenticated activity). */
export function actorOf(person: Actor): Actor {
  return { aadObjectId: person.aadObjectId, tenantId: person.tenantId, name: person.name };
}

export const alice = actorOf(people.alice);
export const bob = actorOf(people.bob);
export const carol = actorOf(people.carol);
export const dave = actorOf(people.dave);
export const erin = actorOf(people.erin);
export const mallory = actorOf(people.mallory);
export const frank = actorOf(people.frank);

export interface Conversation {
  id: string;
  conversationType: 'personal' | 'groupChat' | 'channel';
}

/** The operations channel where requests are asked for and decided. */
export const opsChannel: Conversation = { id: '19:ops-channel@thread.tacv2', conversationType: 'channel' };

/** Where a message in the operations channel comes from, as the use cases see it. */
export function sourceIn(conversation: Conversation = opsChannel, activityId = 'activity-1'): Source {
  return { channelId: 'msteams', conversationId: conversation.id, conversationType: conversation.conversationType, activityId };
}

/** The shipped example configuration (its templates sit beside it). */
export const EXAMPLE_CONFIG = path.resolve(__dirname, '..', '..', 'config', 'countersign.example.yaml');
