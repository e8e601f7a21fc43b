/**
 * Talks to the real bot over HTTP the way Teams does: message and invoke activities from named
 * people, with the fake Bot Connector as serviceUrl so replies and card updates are observable.
 */
import { cardActions, type FakeConnector } from './connector';

export const TENANT = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

export interface Person {
  id: string;
  aadObjectId: string;
  name: string;
  tenantId: string;
}

/** The people of the example config (config/countersign.example.yaml). */
export const people = {
  alice: { id: 'user-alice', aadObjectId: '11111111-1111-4111-8111-111111111111', name: 'Alice Requester', tenantId: TENANT },
  bob: { id: 'user-bob', aadObjectId: '22222222-2222-4222-8222-222222222222', name: 'Bob Approver', tenantId: TENANT },
  carol: { id: 'user-carol', aadObjectId: '33333333-3333-4333-8333-333333333333', name: 'Carol NoRole', tenantId: TENANT },
  erin: { id: 'user-erin', aadObjectId: '44444444-4444-4444-8444-444444444444', name: 'Erin Auditor', tenantId: TENANT },
  dave: { id: 'user-dave', aadObjectId: '55555555-5555-4555-8555-555555555555', name: 'Dave Lead', tenantId: TENANT },
  mallory: { id: 'user-mallory', aadObjectId: '66666666-6666-4666-8666-666666666666', name: 'Mallory Outsider', tenantId: '99999999-9999-4999-8999-999999999999' },
} satisfies Record<string, Person>;

export interface Conversation {
  id: string;
  conversationType: 'personal' | 'groupChat' | 'channel';
}

export const opsChannel: Conversation = { id: '19:ops-channel@thread.tacv2', conversationType: 'channel' };

let activityCounter = 0;

export class TeamsDriver {
  constructor(
    private readonly botUrl: string,
    readonly connector: FakeConnector,
  ) {}

  activity(person: Person, conversation: Conversation, extra: Record<string, unknown>): Record<string, unknown> {
    return {
      channelId: 'msteams',
      serviceUrl: this.connector.url,
      id: `incoming-${++activityCounter}`,
      timestamp: new Date().toISOString(),
      from: { id: person.id, name: person.name, aadObjectId: person.aadObjectId },
      recipient: { id: 'bot-countersign', name: 'Countersign' },
      conversation: { id: conversation.id, conversationType: conversation.conversationType, tenantId: person.tenantId, isGroup: conversation.conversationType !== 'personal' },
      channelData: { tenant: { id: person.tenantId } },
      ...extra,
    };
  }

  async post(activity: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.botUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(activity),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Sends a message; resolves after the bot finished the turn (its replies are at the connector). */
  async say(person: Person, text: string, conversation: Conversation = opsChannel, value?: unknown): Promise<number> {
    const before = this.connector.sent.length;
    const res = await this.post(this.activity(person, conversation, { type: 'message', text, ...(value ? { value } : {}) }));
    if (res.status !== 200) throw new Error(`bot answered ${res.status}: ${JSON.stringify(res.body)}`);
    return before;
  }

  /** Replies the bot sent since index `from`. */
  since(from: number) {
    return this.connector.sent.slice(from);
  }

  /** Clicks an Action.Execute button on a posted card; returns the invoke response body. */
  async click(
    person: Person,
    cardActivityId: string,
    verb: string,
    options: { conversation?: Conversation; data?: Record<string, unknown>; comment?: string } = {},
  ): Promise<InvokeResult> {
    const card = this.connector.card(cardActivityId);
    const action = cardActions(card).find((a) => a.verb === verb);
    const data = { ...(action?.data ?? {}), ...(options.data ?? {}), ...(options.comment !== undefined ? { comment: options.comment } : {}) };
    const res = await this.post(
      this.activity(person, options.conversation ?? opsChannel, {
        type: 'invoke',
        name: 'adaptiveCard/action',
        replyToId: cardActivityId,
        value: { action: { type: 'Action.Execute', verb, data } },
      }),
    );
    return { status: res.status, body: res.body as InvokeResult['body'] };
  }
}

export interface InvokeResult {
  status: number;
  body: { statusCode: number; type: string; value: unknown };
}

/** Waits until the condition holds (polling), or fails with the description. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
