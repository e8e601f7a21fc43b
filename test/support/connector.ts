/**
 * A local stand-in for the Bot Connector service on a real loopback socket: it records every
 * activity the bot sends and every card update, and answers like the real service (ids, 200s, and
 * 429s on demand).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SentActivity {
  conversationId: string;
  id: string;
  kind: 'send' | 'reply' | 'update';
  activity: Record<string, unknown>;
  /** When the connector received it (ms since the epoch). */
  at: number;
}

export class FakeConnector {
  readonly sent: SentActivity[] = [];
  private server?: http.Server;
  private counter = 0;
  /** Answer the next N calls with 429 (Retry-After: 0). */
  throttleNext = 0;
  /** Answer new messages that carry a card with 500 while true (nothing is posted; retries fail too). */
  failCards = false;
  /** Answer new messages without a card (text) with 500 while true. */
  failTexts = false;
  /** Post the next N new messages but answer without an activity id (as a connector may). */
  omitIdNextSends = 0;
  /**
   * As Teams does: a new message carrying both text and a card is posted as two messages (the text,
   * then the card) and answered without an activity id, since one id cannot name both.
   */
  splitsTextAndCard = true;
  /**
   * The members Teams knows, by channel account id ('29:…'), as GET
   * /v3/conversations/{id}/members/{memberId} answers for them (TeamsChannelAccount: id, name,
   * aadObjectId, tenantId, ...); anyone else is answered 404 MemberNotFoundInConversation.
   */
  readonly members = new Map<string, Record<string, unknown>>();
  /** Every member lookup: conversation id and member id. */
  readonly memberLookups: { conversationId: string; memberId: string }[] = [];
  /** The Retry-After (seconds) of throttleNext's 429s. */
  retryAfterSeconds = 0;
  /** When set, throttleNext counts only calls whose "METHOD path" matches. */
  throttleOnly?: RegExp;
  /** When each 429 was answered (ms since the epoch). */
  readonly throttledAt: number[] = [];
  /**
   * People (Entra object ids, lowercase) for whom starting a personal chat fails as Teams answers it
   * when the app is not installed for them: 403 (the bot is not in their roster) or 404.
   */
  readonly notInstalledFor = new Map<string, 403 | 404>();
  /** Conversations Teams no longer knows: a message posted there is answered 404 ConversationNotFound. */
  readonly goneConversations = new Set<string>();
  /** Personal chats whose person blocked the bot (or channels whose moderation does): a message posted there is answered 403 ConversationBlockedByUser. */
  readonly blockedConversations = new Set<string>();
  /** Channels and chats the bot was removed from: a message posted there is answered 403 BotNotInConversationRoster. */
  readonly removedFrom = new Set<string>();
  /** Personal chats the bot started (POST /v3/conversations), by the member's object id. */
  readonly createdChats: { aadObjectId: string; conversationId: string; tenantId?: string; at: number }[] = [];
  /** How long a card update takes to reach the service (ms; 0 by default): it is applied, recorded and answered after that. */
  updateDelayMs: (activity: Record<string, unknown>) => number = () => 0;
  /** How long the answer to a posted activity (a reply, a new message) is held, by its content (a slow connector). */
  postDelayMs: (activity: Record<string, unknown>) => number = () => 0;
  /**
   * Whether a held post (postDelayMs) whose sender is gone by then (its process killed, its
   * connection closed) is dropped, neither posted nor recorded, rather than posted anyway.
   */
  dropPostsOfGoneSenders = false;
  /** The id a posted activity is given (the n-th one posted): Teams' ids are short, a test may make them long. */
  postedId: (n: number, activity: Record<string, unknown>) => string = (n) => `activity-${n}`;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** True for a personal chat the bot started (approvers are told there). */
  startedChat(conversationId: string): boolean {
    return this.createdChats.some((c) => c.conversationId === conversationId);
  }

  /** Cards currently shown in a conversation, by activity id (updates replace the original). */
  cardsIn(conversationId: string): Map<string, Record<string, unknown>> {
    const cards = new Map<string, Record<string, unknown>>();
    for (const s of this.sent) {
      if (s.conversationId !== conversationId) continue;
      const card = cardOf(s.activity);
      if (card) cards.set(s.id, card);
    }
    return cards;
  }

  /** The latest version of a posted card message. */
  card(activityId: string): Record<string, unknown> | undefined {
    let latest: Record<string, unknown> | undefined;
    for (const s of this.sent) if (s.id === activityId) latest = cardOf(s.activity) ?? latest;
    return latest;
  }

  texts(conversationId?: string): string[] {
    return this.sent
      .filter((s) => s.kind !== 'update' && (!conversationId || s.conversationId === conversationId))
      .map((s) => s.activity.text)
      .filter((t): t is string => typeof t === 'string');
  }

  updates(activityId: string): SentActivity[] {
    return this.sent.filter((s) => s.kind === 'update' && s.id === activityId);
  }

  private answerMember(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    return memberAnswer(this, req, res);
  }

  /** POST /v3/conversations: a one-to-one chat with one member (Teams' answer to createConversation). */
  private createConversation(body: string, res: http.ServerResponse): void {
    const params = (body ? JSON.parse(body) : {}) as { isGroup?: boolean; members?: { id?: string }[]; tenantId?: string };
    const member = params.members?.[0]?.id?.toLowerCase();
    const refusal = member ? this.notInstalledFor.get(member) : undefined;
    if (!member || params.isGroup || (params.members?.length ?? 0) !== 1) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'BadArgument', message: 'a personal chat has exactly one member' } }));
      return;
    }
    if (refusal) {
      res.writeHead(refusal, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: refusal === 403 ? 'Forbidden' : 'NotFound', message: refusal === 403 ? 'The bot is not part of the conversation roster.' : 'User not found' } }));
      return;
    }
    const conversationId = personalChatId(member);
    this.createdChats.push({ aadObjectId: member, conversationId, ...(params.tenantId ? { tenantId: params.tenantId } : {}), at: Date.now() });
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: conversationId }));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      let activity: Record<string, unknown> | undefined;
      try {
        activity = body ? (JSON.parse(body) as Record<string, unknown>) : undefined;
      } catch {
        activity = undefined; // not an activity (a form-encoded token request)
      }
      const delay = !activity ? 0 : req.method === 'PUT' ? this.updateDelayMs(activity) : req.method === 'POST' ? this.postDelayMs(activity) : 0;
      if (delay > 0) setTimeout(() => (this.dropPostsOfGoneSenders && req.method === 'POST' && res.socket?.destroyed !== false ? undefined : this.answer(req, res, body)), delay);
      else this.answer(req, res, body);
    });
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    if (this.throttleNext > 0 && (!this.throttleOnly || this.throttleOnly.test(`${req.method} ${req.url}`))) {
      this.throttleNext--;
      this.throttledAt.push(Date.now());
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(this.retryAfterSeconds) });
      res.end(JSON.stringify({ error: { code: 'TooManyRequests', message: 'slow down' } }));
      return;
    }
    if (this.answerMember(req, res)) return;
    if (req.method === 'POST' && /^(?:\/[^/]+)*?\/v3\/conversations\/?(?:\?.*)?$/.test(req.url ?? '')) {
      this.createConversation(body, res);
      return;
    }
    // A service URL may carry a path of its own (Teams' regional ones do): /amer/v3/conversations/…
    const m = /^(?:\/[^/]+)*?\/v3\/conversations\/([^/]+)\/activities(?:\/([^/?]+))?/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404);
      res.end();
      return;
    }
    const conversationId = decodeURIComponent(m[1]);
    if (this.goneConversations.has(conversationId)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'ConversationNotFound', message: 'Conversation not found.' } }));
      return;
    }
    if (this.blockedConversations.has(conversationId) && req.method === 'POST') {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'ConversationBlockedByUser', message: 'User blocked the conversation with the bot.' } }));
      return;
    }
    if (this.removedFrom.has(conversationId.split(';')[0]) && req.method === 'POST') {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'BotNotInConversationRoster', message: 'The bot is not part of the conversation roster.' } }));
      return;
    }
    const activity = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    let id: string;
    let kind: SentActivity['kind'];
    if (req.method === 'PUT' && m[2]) {
      id = decodeURIComponent(m[2]);
      kind = 'update';
    } else {
      if ((this.failCards && cardOf(activity)) || (this.failTexts && !cardOf(activity))) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'ServiceError', message: 'the message could not be posted' } }));
        return;
      }
      id = this.postedId(++this.counter, activity);
      kind = m[2] ? 'reply' : 'send';
      if (this.splitsTextAndCard && typeof activity.text === 'string' && activity.text !== '' && cardOf(activity)) {
        const { text, attachments, ...rest } = activity;
        this.sent.push({ conversationId, id, kind, activity: { ...rest, text }, at: Date.now() });
        this.sent.push({ conversationId, id: `activity-${++this.counter}`, kind, activity: { ...rest, attachments }, at: Date.now() });
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end('{}');
        return;
      }
    }
    this.sent.push({ conversationId, id, kind, activity, at: Date.now() });
    res.writeHead(200, { 'content-type': 'application/json' });
    if (kind !== 'update' && this.omitIdNextSends > 0) {
      this.omitIdNextSends--;
      res.end('{}');
      return;
    }
    res.end(JSON.stringify({ id }));
  }
}

/** GET /v3/conversations/{id}/members/{memberId}: the member's account, or 404 as the real service answers. */
function memberAnswer(connector: FakeConnector, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const m = /^(?:\/[^/]+)*?\/v3\/conversations\/([^/]+)\/members\/([^/?]+)$/.exec(req.url ?? '');
  if (req.method !== 'GET' || !m) return false;
  const [conversationId, memberId] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
  connector.memberLookups.push({ conversationId, memberId });
  const member = connector.members.get(memberId);
  res.writeHead(member ? 200 : 404, { 'content-type': 'application/json' });
  res.end(JSON.stringify(member ?? { error: { code: 'MemberNotFoundInConversation', message: 'The member is not found in the conversation.' } }));
  return true;
}

/** The personal chat id the fake connector gives a person (stable, as Teams' one-to-one chats are). */
function personalChatId(aadObjectId: string): string {
  return `a:personal-${aadObjectId.toLowerCase()}`;
}

export function cardOf(activity: Record<string, unknown>): Record<string, unknown> | undefined {
  const attachments = activity.attachments as { contentType?: string; content?: Record<string, unknown> }[] | undefined;
  return attachments?.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
}

/** All visible text of a card, flattened (TextBlock texts, fact titles and values, action titles). */
export function cardText(card: Record<string, unknown> | undefined): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of ['text', 'title', 'value', 'label']) if (typeof o[k] === 'string') parts.push(o[k] as string);
      for (const [k, x] of Object.entries(o)) if (k !== 'data' && typeof x === 'object') walk(x);
    }
  };
  walk(card);
  return parts.join('\n');
}

/** Action.Execute buttons of a card: verb and data. */
export function cardActions(card: Record<string, unknown> | undefined): { verb: string; title: string; data: Record<string, unknown> }[] {
  const found: { verb: string; title: string; data: Record<string, unknown> }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type === 'Action.Execute') found.push({ verb: String(o.verb), title: String(o.title), data: (o.data ?? {}) as Record<string, unknown> });
      // The card's refresh (Teams' per-person view) is no button anyone sees.
      for (const [k, x] of Object.entries(o)) if (k !== 'refresh') walk(x);
    }
  };
  walk(card);
  return found;
}
