/** Steps that scenario tests share: ask for something, wait for the background work, read the audit. */
import assert from 'node:assert/strict';
import type { AuditFilter } from '../../src/domain/audit';
import type { AuditRecord } from '../../src/domain/audit';
import { cardActions, cardOf } from './connector';
import type { Harness } from './harness';
import { opsChannel, people, type Conversation, type Person } from './teams';

export interface PostedRequest {
  cardId: string;
  requestId: string;
  /** The data of the card's Approve button (request id and operation hash). */
  data: Record<string, unknown>;
}

/** Types a command that needs approval; returns the posted request card. */
export async function requestVia(h: Harness, text: string, who: Person = people.alice, conversation: Conversation = opsChannel): Promise<PostedRequest> {
  const from = await h.teams.say(who, text, conversation);
  // The approvers are told in the background (personal chats): done before the test goes on, so what follows is in order.
  await h.bot.app.tellingIdle();
  // New messages only: an earlier request's card updated meanwhile (a running deployment's, with its Cancel button) is not this one.
  const posted = h.teams.since(from).filter((s) => s.kind !== 'update' && s.conversationId === conversation.id && cardActions(cardOf(s.activity)).length > 0);
  assert.equal(posted.length, 1, `expected one request card, got: ${JSON.stringify(h.teams.since(from).map((s) => s.activity.text ?? 'card'))}`);
  const data = cardActions(h.connector.card(posted[0].id))[0].data;
  return { cardId: posted[0].id, requestId: data.requestId as string, data };
}

/** Waits for executions and card updates under way. */
export async function settled(h: Harness): Promise<void> {
  await h.bot.executor.idle();
  await h.bot.app.tellingIdle();
  await h.bot.notifier.idle();
}

export async function auditOf(h: Harness, filter: AuditFilter = {}): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of h.bot.deps.store.audit.read(filter)) out.push(r);
  return out;
}
