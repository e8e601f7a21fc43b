/**
 * Talks to the real bot over HTTP the way Teams does: message and invoke activities from named
 * people, with the fake Bot Connector as serviceUrl so replies and card updates are observable.
 */
import { cardActions, type FakeConnector } from './connector';
import { opsChannel, type Conversation, type Person } from './people';

// The people and conversations are defined once, in people.ts; re-exported for the HTTP tests.
export { opsChannel, people, TENANT, type Conversation, type Person } from './people';

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
    options: { conversation?: Conversation; data?: Record<string, unknown>; comment?: string; entities?: Record<string, unknown>[] } = {},
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
        ...(options.entities ? { entities: options.entities } : {}),
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

/** A message's text as Teams shows it: HTML character references (src/teams/chat-text.ts) read as their characters. */
export function shown(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/\u200B/g, '');
}
