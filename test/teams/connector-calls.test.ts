/**
 * Countersign's calls to the Bot Connector, against a connector on a real loopback socket that
 * hangs, fails or loses its answers on demand: each call ends within COUNTERSIGN_TEAMS_SEND_TIMEOUT,
 * is tried only as often as withTeamsRetry says (botbuilder's client retried each attempt about four
 * times more), and a new message that may have been posted is never posted again.
 */
import assert from 'node:assert/strict';
import type { ConversationReference } from 'botbuilder';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../src/log/context';
import { createAdapter } from '../../src/teams/adapter';
import { ConnectorTimeoutError } from '../../src/teams/connector-calls';
import { TeamsNotifier } from '../../src/teams/notifier';
import { withTeamsRetry } from '../../src/teams/teams-retry';
import { TeamsApproverMessenger } from '../../src/teams/personal-conversations';
import { MemoryStore } from '../support/memory-store';
import { buildRequest, bob, TENANT } from '../support/requests';

type Answer = 'ok' | 'hang' | 'accept-then-500' | 'accept-then-reset' | { status: number; retryAfter?: string };

/** A Bot Connector whose every answer a test decides; it records each call and each message it posted. */
class ScriptedConnector {
  readonly calls: { method: string; path: string; at: number }[] = [];
  /** Activities the connector accepted (posted or updated), whatever it answered after. */
  readonly accepted: { method: string; path: string; text?: string }[] = [];
  answer: (method: string, path: string) => Answer = () => 'ok';
  url = '';
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private readonly sockets = new Set<import('node:net').Socket>();
  private counter = 0;

  async start(): Promise<this> {
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  count(method: string, path: RegExp): number {
    return this.calls.filter((c) => c.method === method && path.test(c.path)).length;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let received = '';
    req.on('data', (chunk) => (received += chunk));
    req.on('end', () => {
      const method = req.method ?? '';
      const path = req.url ?? '';
      this.calls.push({ method, path, at: Date.now() });
      const answer = this.answer(method, path);
      if (answer === 'hang') return;
      if (typeof answer === 'object') {
        res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.retryAfter !== undefined ? { 'retry-after': answer.retryAfter } : {}) });
        res.end(JSON.stringify({ error: { code: 'Injected', message: `answered ${answer.status}` } }));
        return;
      }
      const text = received ? (JSON.parse(received) as { text?: unknown }).text : undefined;
      this.accepted.push({ method, path, ...(typeof text === 'string' ? { text } : {}) });
      if (answer === 'accept-then-reset') {
        req.socket.destroy();
        return;
      }
      const body = /^\/v3\/conversations\/?$/.test(path) ? { id: 'a:personal-bob' } : { id: `activity-${++this.counter}` };
      res.writeHead(answer === 'accept-then-500' ? 500 : method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer === 'accept-then-500' ? { error: { code: 'ServiceError', message: 'internal error' } } : body));
    });
  }
}

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const app = { id: '', type: 'MultiTenant' as const, tenantId: '', password: '' };
const CHANNEL = '19:ops-channel@thread.tacv2';
const CARD = { conversationId: CHANNEL, activityId: 'card-1' };
const TIMEOUT_MS = 400;

describe('calls to the Bot Connector', function () {
  this.timeout(20_000);
  let connector: ScriptedConnector;
  let store: MemoryStore;
  let logged: { msg: string; fields: Record<string, unknown>; at: number }[];

  beforeEach(async () => {
    connector = await new ScriptedConnector().start();
    store = new MemoryStore();
    logged = [];
    await store.conversations.saveReference(CHANNEL, { channelId: 'msteams', serviceUrl: connector.url, conversation: { id: CHANNEL, conversationType: 'channel' }, bot: { id: 'bot-countersign' } });
    await store.cards.saveCardMessage(buildRequest().id, CARD);
  });
  afterEach(() => connector.stop());

  /** The bot's Teams side over the scripted connector: adapter, notifier (its retries quick) and messenger. */
  function teams() {
    const record = (fields: object, msg?: string) => void logged.push({ msg: msg ?? '', fields: fields as Record<string, unknown>, at: Date.now() });
    const log: Logger = { info: () => undefined, warn: record, error: record };
    const adapter = createAdapter(app, quiet, undefined, TIMEOUT_MS);
    const notifier = new TeamsNotifier(
      adapter,
      '',
      {
        getReference: (id) => store.conversations.getReference(id),
        getCardMessages: (id) => store.cards.getCardMessages(id),
        claimCardVersion: (id, m, v, l) => store.cards.claimCardVersion(id, m, v, l),
        releaseCardVersion: (id, m, v, h) => store.cards.releaseCardVersion(id, m, v, h),
      },
      log,
      0,
    );
    // The documented number of attempts; the waits between them shortened.
    notifier.retryOptions = { ...notifier.retryOptions, baseDelayMs: 1, maxDelayMs: 2 };
    const messenger = new TeamsApproverMessenger(adapter, '', notifier, store.conversations, log);
    return { adapter, notifier, messenger };
  }

  describe('that Teams never answers', () => {
    it('fails a card update after the timeout, naming updateActivity and the time, and a later update goes', async () => {
      const { notifier } = teams();
      let first = true;
      connector.answer = (method) => (method === 'PUT' && first ? ((first = false), 'hang') : 'ok');
      await notifier.cardChanged(buildRequest({ state: 'approved', version: 2 }));
      const timedOut = logged.find((l) => /Teams did not answer updateActivity/.test(String(l.fields.err)));
      assert.ok(timedOut, `logged: ${JSON.stringify(logged)}`);
      assert.match(String(timedOut.fields.err), new RegExp(`^ConnectorTimeoutError: Teams did not answer updateActivity within ${TIMEOUT_MS} ms$`));
      const took = timedOut.at - connector.calls[0].at;
      assert.ok(took >= TIMEOUT_MS - 50 && took < TIMEOUT_MS + 1000, `the hung update ended ${took} ms after it reached the connector`);
      await notifier.cardChanged(buildRequest({ state: 'succeeded', version: 5 }));
      assert.ok(connector.accepted.some((c) => c.method === 'PUT'), 'a later update of the same card went through');
    });

    it('counts a person whose card post hangs as not reached, with why, after the timeout', async () => {
      const { messenger } = teams();
      const chat = { channelId: 'msteams', serviceUrl: connector.url, conversation: { id: 'a:personal-bob', conversationType: 'personal' }, bot: { id: 'bot-countersign' } };
      await store.conversations.saveReference('a:personal-bob', chat);
      await store.conversations.savePersonalReference(TENANT, bob.aadObjectId, chat);
      connector.answer = (method) => (method === 'POST' ? 'hang' : 'ok');
      const delivery = await messenger.cardToPerson(buildRequest(), { tenantId: TENANT, aadObjectId: bob.aadObjectId });
      assert.equal(delivery.ok, false);
      assert.match((delivery as { why: string }).why, new RegExp(`^Teams did not answer (replyToActivity|sendToConversation) within ${TIMEOUT_MS} ms$`));
      assert.equal(connector.count('POST', /activities/), 1);
    });

    it('counts a person whose personal chat cannot be started as not reached once starting it timed out', async () => {
      const { messenger } = teams();
      connector.answer = (method, path) => (method === 'POST' && /^\/v3\/conversations\/?$/.test(path) ? 'hang' : 'ok');
      const delivery = await messenger.cardToPerson(buildRequest(), { tenantId: TENANT, aadObjectId: bob.aadObjectId });
      assert.deepEqual(delivery, { ok: false, why: `Teams did not answer createConversation within ${TIMEOUT_MS} ms` });
      assert.equal(connector.count('POST', /^\/v3\/conversations\/?$/), 1);
    });

    it('ends a turn whose reply hangs: the reply fails after the timeout, naming replyToActivity', async () => {
      const { adapter } = teams();
      connector.answer = () => 'hang';
      let failure: unknown;
      const outcome = await adapter.handle('', message(), async (context) => {
        failure = await context.sendActivity('hello').then(() => undefined, (err: unknown) => err);
      });
      assert.ok(failure instanceof ConnectorTimeoutError, String(failure));
      assert.equal(failure.message, `Teams did not answer replyToActivity within ${TIMEOUT_MS} ms`);
      assert.equal(outcome.kind, 'handled');
      assert.equal(connector.count('POST', /activities/), 1, 'a reply that may have been posted is not sent again');
    });
  });

  describe('that Teams answers with an error', () => {
    it('tries a card update answered 502 exactly as often as withTeamsRetry says (6 attempts), no more', async () => {
      const { adapter, notifier } = teams();
      assert.equal(notifier.retryOptions.attempts, 6, 'docs/operations.md says 6 attempts');
      connector.answer = (method) => (method === 'PUT' ? { status: 502 } : 'ok');
      const reference = (await store.conversations.getReference(CHANNEL)) as ConversationReference;
      // As the notifier sends a card update: a proactive turn that updates the card, its failure carried out, in withTeamsRetry.
      const update = async () => {
        let failure: { error: unknown } | undefined;
        await adapter.continueConversationAsync('', reference, async (context) => {
          await context.updateActivity({ id: CARD.activityId, type: 'message', text: 'updated' }).catch((error: unknown) => void (failure = { error }));
        });
        if (failure) throw failure.error;
      };
      const failed = await withTeamsRetry(update, notifier.retryOptions).then(() => undefined, (err: unknown) => err);
      assert.equal((failed as { statusCode?: number })?.statusCode, 502);
      assert.equal(connector.count('PUT', /activities\/card-1$/), 6);
    });

    const acceptedThenLost = [
      { answer: 'accept-then-500', title: 'posts a card the connector accepted but answered 500 once, and says it may have arrived', why: /^Teams answered 500 to (replyToActivity|sendToConversation): it may have been posted, so it was not sent again$/ },
      { answer: 'accept-then-reset', title: 'posts a card once when the connection broke after the connector accepted it', why: /^the connection to Teams broke during (replyToActivity|sendToConversation): it may have been posted, so it was not sent again$/ },
    ] as const;
    for (const lost of acceptedThenLost) {
      it(lost.title, async () => {
        const { messenger } = teams();
        connector.answer = (method) => (method === 'POST' ? lost.answer : 'ok');
        const delivery = await messenger.cardToConversation(buildRequest(), CHANNEL);
        assert.equal(connector.accepted.length, 1, `posted ${connector.accepted.length} times`);
        assert.equal(delivery.ok, false);
        assert.match((delivery as { why: string }).why, lost.why);
      });
    }

    it('does not post a new message again after a 502 or 504, which may come after it was posted', async () => {
      const { messenger } = teams();
      for (const status of [502, 504]) {
        connector.calls.length = 0;
        connector.answer = (method) => (method === 'POST' ? { status } : 'ok');
        const delivery = await messenger.cardToConversation(buildRequest(), CHANNEL);
        assert.equal(connector.count('POST', /activities/), 1, `${status}: posted ${connector.count('POST', /activities/)} times`);
        assert.equal(delivery.ok, false);
      }
    });

    it('posts a new message again after a 429, which says it was not taken, honouring Retry-After', async () => {
      const { messenger } = teams();
      let throttled = 0;
      connector.answer = (method) => (method === 'POST' && throttled++ < 2 ? { status: 429, retryAfter: '0' } : 'ok');
      const delivery = await messenger.cardToConversation(buildRequest(), CHANNEL);
      assert.equal(delivery.ok, true);
      assert.equal(connector.count('POST', /activities/), 3);
      assert.equal(connector.accepted.length, 1);
    });

    it('sends a turn\'s reply again after a 429, as a proactive message is', async () => {
      const { adapter } = teams();
      let throttled = 0;
      connector.answer = (method) => (method === 'POST' && throttled++ < 1 ? { status: 429, retryAfter: '0' } : 'ok');
      const outcome = await adapter.handle('', message(), async (context) => void (await context.sendActivity('hello')));
      assert.equal(outcome.kind, 'handled');
      assert.equal(connector.count('POST', /activities/), 2);
      assert.deepEqual(connector.accepted.map((a) => a.text), ['hello'], 'the reply itself was posted, once');
    });
  });

  /** A message activity from the channel, as Teams posts it to /api/messages. */
  function message(): Record<string, unknown> {
    return {
      type: 'message',
      id: 'incoming-1',
      text: 'hello',
      channelId: 'msteams',
      serviceUrl: connector.url,
      from: { id: '29:alice', aadObjectId: 'alice' },
      recipient: { id: 'bot-countersign' },
      conversation: { id: CHANNEL, conversationType: 'channel' },
    };
  }
});
