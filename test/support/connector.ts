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
  /** Post the next N new messages but answer without an activity id (as a connector may). */
  omitIdNextSends = 0;
  /** How long a card update takes to reach the service (ms; 0 by default): it is applied, recorded and answered after that. */
  updateDelayMs: (activity: Record<string, unknown>) => number = () => 0;
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

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const delay = req.method === 'PUT' && body ? this.updateDelayMs(JSON.parse(body) as Record<string, unknown>) : 0;
      if (delay > 0) setTimeout(() => this.answer(req, res, body), delay);
      else this.answer(req, res, body);
    });
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    if (this.throttleNext > 0) {
      this.throttleNext--;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
      res.end(JSON.stringify({ error: { code: 'TooManyRequests', message: 'slow down' } }));
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
    const activity = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    let id: string;
    let kind: SentActivity['kind'];
    if (req.method === 'PUT' && m[2]) {
      id = decodeURIComponent(m[2]);
      kind = 'update';
    } else {
      if (this.failCards && cardOf(activity)) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'ServiceError', message: 'the message could not be posted' } }));
        return;
      }
      id = `activity-${++this.counter}`;
      kind = m[2] ? 'reply' : 'send';
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
