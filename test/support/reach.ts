/**
 * Reaching approvers in tests: the example config with reminders, an escalation and an approval
 * channel on "delete resource group" (time to live 1h), and a messenger that records what people
 * would have been sent.
 */
import fs from 'node:fs';
import type { ApproverMessenger, Delivery, DeliveryOptions, Recipient } from '../../src/app/ports';
import type { ApprovalRequest } from '../../src/domain/request';
import { EXAMPLE_CONFIG } from './people';

/** Why a person is not reached when Countersign's database failed while their chat was looked up (as Teams' messenger words it). */
export const STORE_FAULT_WHY = 'Countersign could not read its own database to find their chat (another process was holding it); nothing was sent';

/** Where "delete resource group" cards also go. */
export const APPROVALS_CHANNEL = '19:approvals@thread.tacv2';

/**
 * The example config, plus: incident-leads (Frank, and Alice, who asks and so may never approve her
 * own), and on "delete resource group" reminders at half-life and 15 minutes before expiry (30 and
 * 45 minutes in), escalation to incident-leads after 40 minutes, the card also in the approvals channel.
 */
export function reachConfigText(policyLines: string[] = ['reminders: { at: ["50%", "15m"], max: 2 }', 'escalation: { role: incident-leads, after: 40m }', `notify: { channels: ["${APPROVALS_CHANNEL}"] }`]): string {
  const example = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
  const roles = '  auditors:\n';
  const command = example.indexOf('  - name: delete resource group\n');
  const policy = example.indexOf('      ttl: 1h\n', command);
  if (!example.includes(roles) || command < 0 || policy < 0) throw new Error('the example config changed: update test/support/reach.ts');
  const withPolicy = example.slice(0, policy) + policyLines.map((l) => `      ${l}\n`).join('') + example.slice(policy);
  return withPolicy.replace(roles, '  incident-leads:\n    - c0ffee00-ca70-4ca7-8ca7-ca70ca70ca70\n    - 11111111-1111-4111-8111-111111111111\n' + roles);
}

export interface SentCard {
  requestId: string;
  version: number;
  /** An object id (personal chat) or a conversation id. */
  to: string;
  text?: string;
  conversationId: string;
  activityId: string;
}

/**
 * Records every card sent; people in `unreachable` cannot be reached (with the reason given); a card
 * to someone held (`hold`) waits for Teams' answer until the test gives it.
 */
export class RecordingMessenger implements ApproverMessenger {
  readonly sent: SentCard[] = [];
  readonly unreachable = new Map<string, string>();
  /** People whose personal chat cannot be looked up because Countersign's own database fails (nothing is sent to them). */
  readonly storeFaults = new Set<string>();
  /** Whom a card was started to (object ids, conversation ids), in order, held or not. */
  readonly started: string[] = [];
  private readonly holds = new Map<string, Promise<Delivery | undefined>>();
  private count = 0;

  /**
   * Holds the next card to `to` (an object id or a conversation id) as a connector that does not
   * answer would: the returned function answers it, with what Teams answered, or with nothing (it goes).
   */
  hold(to: string): (answer?: Delivery) => void {
    let answer!: (a?: Delivery) => void;
    this.holds.set(to, new Promise((resolve) => (answer = resolve)));
    return (a) => answer(a);
  }

  async cardToPerson(request: ApprovalRequest, person: Recipient, text?: string, options: DeliveryOptions = {}): Promise<Delivery> {
    // As Teams' messenger: a card already bound in the person's chat is the delivery, nothing is posted.
    const bound = options.unlessBoundIn?.find((m) => m.conversationId === `personal-${person.aadObjectId}`);
    if (bound) return { ok: true, message: bound };
    const held = await this.held(person.aadObjectId);
    if (held) return held;
    const why = this.unreachable.get(person.aadObjectId);
    if (why) return { ok: false, why };
    if (this.storeFaults.has(person.aadObjectId)) return { ok: false, why: STORE_FAULT_WHY, storeFault: true };
    return this.record(request, person.aadObjectId, `personal-${person.aadObjectId}`, text);
  }

  async cardToConversation(request: ApprovalRequest, conversationId: string, text?: string, options: DeliveryOptions = {}): Promise<Delivery> {
    const bound = options.unlessBoundIn?.find((m) => m.conversationId === conversationId);
    if (bound) return { ok: true, message: bound };
    return (await this.held(conversationId)) ?? this.record(request, conversationId, conversationId, text);
  }

  /** Text alone posted in a conversation (a reminder where the card is already as often as it may be). */
  readonly texts: { requestId: string; conversationId: string; text: string }[] = [];

  async textToConversation(request: ApprovalRequest, conversationId: string, text: string): Promise<{ ok: true }> {
    this.texts.push({ requestId: request.id, conversationId, text });
    return { ok: true };
  }

  /** The IANA zone Teams last sent with each person's activity (by object id), as kept with their personal chat. */
  readonly zones = new Map<string, string>();

  async timeZoneOf(person: Recipient): Promise<string | undefined> {
    return this.zones.get(person.aadObjectId);
  }

  /** As Teams' messenger: a person's personal chat is known once a card went there. */
  async personalChatOf(person: Recipient): Promise<string | undefined> {
    const chat = `personal-${person.aadObjectId}`;
    return this.sent.some((s) => s.conversationId === chat) ? chat : undefined;
  }

  private async held(to: string): Promise<Delivery | undefined> {
    this.started.push(to);
    const hold = this.holds.get(to);
    if (!hold) return undefined;
    this.holds.delete(to);
    return hold;
  }

  /** Who was sent a card of the request (in order): every card, only reminders (a card with a text), or only the others. */
  to(requestId: string, which: 'all' | 'reminders' | 'told' = 'all'): string[] {
    return this.sent.filter((s) => s.requestId === requestId && (which === 'all' || (which === 'reminders') === !!s.text)).map((s) => s.to);
  }

  private record(request: ApprovalRequest, to: string, conversationId: string, text?: string): Delivery {
    const activityId = `sent-${++this.count}`;
    this.sent.push({ requestId: request.id, version: request.version, to, conversationId, activityId, ...(text ? { text } : {}) });
    return { ok: true, message: { conversationId, activityId } };
  }
}
