/**
 * Activities are validated at the edge: a body of the wrong shape is answered 400 with a short
 * reason (never 5xx, never an internal message or stack), and a Bot Framework authentication that
 * cannot be done (the signing keys cannot be fetched) is 503, audited, logged as JSON.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import zlib from 'node:zlib';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { auditOf, requestVia } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { eventually, opsChannel, people } from '../support/teams';

const APP_ID = '0b7c4d2e-1f3a-4b5c-9d8e-7f6a5b4c3d2e';

async function post(h: Harness, body: string, contentType = 'application/json', headers: Record<string, string> = {}) {
  const res = await fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
  return { status: res.status, text: await res.text() };
}

/**
 * Stands for an object (or array) nested `levels` deep, put into the body's text by `bodyOf`
 * (JSON.stringify itself cannot write one that deep).
 */
function nested(levels: number, arrays = false): string {
  return `\u0000deep:${levels}:${arrays ? 'a' : 'o'}`;
}

function bodyOf(a: unknown): string {
  return JSON.stringify(a).replace(/"\\u0000deep:(\d+):([ao])"/g, (_, n: string, kind: string) => (kind === 'a' ? '[' : '{"v":').repeat(Number(n)) + '"bottom"' + (kind === 'a' ? ']' : '}').repeat(Number(n)));
}

function assertShortReason(r: { status: number; text: string }, what: RegExp) {
  assert.equal(r.status, 400, r.text);
  assert.match(r.text, what);
  assert.ok(r.text.length < 300, r.text);
  assert.doesNotMatch(r.text, /\n\s+at |TypeError|ReferenceError|node_modules|\.ts:\d+/);
}

describe('activities validated at the edge', function () {
  this.timeout(30000);

  describe('shape', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness();
    });
    after(async () => {
      await h.stop();
    });

    const base = () => h.teams.activity(people.alice, opsChannel, { type: 'message', text: 'help' }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

    const cases: [string, (a: Record<string, any>) => void, RegExp][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      ['from.aadObjectId as a number', (a) => (a.from.aadObjectId = 12345), /from\.aadObjectId must be a string/],
      ['from.aadObjectId as an array', (a) => (a.from.aadObjectId = [people.bob.aadObjectId]), /from\.aadObjectId must be a string/],
      ['a numeric tenant id', (a) => (a.conversation.tenantId = 42), /conversation\.tenantId must be a string/],
      ['a numeric channelData tenant id', (a) => (a.channelData.tenant.id = 42), /channelData\.tenant\.id must be a string/],
      ['a numeric name', (a) => (a.from.name = 7), /from\.name must be a string/],
      ['no type', (a) => delete a.type, /type is missing/],
      ['no conversation', (a) => delete a.conversation, /conversation is missing/],
      ['a conversation without id', (a) => delete a.conversation.id, /conversation\.id is missing/],
      ['text as an object', (a) => (a.text = { x: 1 }), /text must be a string/],
      ['entities as a string', (a) => (a.entities = 'mention'), /entities must be an array/],
      ['an entity without a type', (a) => (a.entities = [{}]), /entities\[0\]\.type is missing or not a string/],
      ['an entity with a numeric type', (a) => (a.entities = [{ type: 5 }]), /entities\[0\]\.type is missing or not a string/],
      ['a mention naming nobody', (a) => (a.entities = [{ type: 'mention' }]), /entities\[0\]\.mentioned must be an object/],
      ['a mention without an id', (a) => (a.entities = [{ type: 'mention', mentioned: { name: 'Bob' } }]), /entities\[0\]\.mentioned\.id is missing/],
      // Stored as the conversation's reference: 5,000 levels (well under 1 MB) made JSON.stringify throw.
      ['a conversation nested 5,000 levels deep', (a) => (a.conversation.extra = nested(5000)), /conversation nests objects more than 8 levels deep/],
      ['a sender nested 5,000 levels deep', (a) => (a.from.properties = nested(5000)), /from nests objects more than 8 levels deep/],
      // Sent back as the Bot Connector's x-ms-conversation-id header, which cannot carry it: the turn failed, 500.
      ['a conversation id with a zero-width joiner', (a) => (a.conversation.id = 'status\u200D CS-0000'), /conversation\.id holds U\+200D \(at position 7\), which no Teams conversation id holds/],
      ['a conversation id with a line feed', (a) => (a.conversation.id = '19:ops\nchannel'), /conversation\.id holds U\+000A \(at position 7\)/],
      ['a conversation id with a lone surrogate', (a) => (a.conversation.id = '19:\uD800'), /conversation\.id holds U\+D800 \(at position 4\)/],
      // Named in the path of the reply's URL, which cannot encode it: the turn failed with "URI malformed", 500.
      ['an activity id with a lone surrogate', (a) => (a.id = 'f:1\uDC00'), /^\{"error":"Not a valid Bot Framework activity: id holds U\+DC00 \(at position 4\), half of a character: no reply can name it\."\}$/],
      // Copied into every reply's conversation, whose serializer refused it: the turn failed, 500.
      ['a numeric conversation.aadObjectId', (a) => (a.conversation.aadObjectId = 2), /conversation\.aadObjectId must be a string/],
      ['a recipient nested in arrays 5,000 levels deep', (a) => (a.recipient.extra = nested(5000, true)), /recipient nests objects more than 8 levels deep/],
    ];
    for (const [name, change, reason] of cases) {
      it(`answers 400 with a short reason for ${name}`, async () => {
        const a = base();
        change(a);
        assertShortReason(await post(h, bodyOf(a)), reason);
      });
    }

    it('answers 400 to a Host header it cannot read, on any path, and goes on answering (it used to end the process)', async () => {
      const port = Number(new URL(h.bot.url).port);
      const raw = (head: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1', () => socket.end(`${head}\r\nconnection: close\r\n\r\n`));
          let answer = '';
          socket.on('data', (c: Buffer) => (answer += c.toString('utf8')));
          socket.on('end', () => resolve(answer));
          socket.on('error', reject);
        });
      for (const head of ['GET /healthz HTTP/1.1\r\nhost: 127.0.0.1:abc', 'POST /api/messages HTTP/1.1\r\nhost: 127.0.0.256\r\ncontent-length: 0', 'GET /readyz HTTP/1.1\r\nhost: [::1']) {
        const answer = await raw(head);
        assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/, head);
        assert.match(answer, /"error":"Countersign cannot read this request's address: its Host header \(.*\) or its target is not a valid host and path\."/);
      }
      assert.equal((await fetch(`${h.bot.url}/healthz`)).status, 200, 'still running');
    });

    it('answers 400 to a form-encoded body, a non-JSON body, a JSON array and JSON null', async () => {
      assertShortReason(await post(h, 'type=message&text=help&conversation[id]=x', 'application/x-www-form-urlencoded'), /application\/json/);
      assertShortReason(await post(h, 'type: message', 'text/plain'), /application\/json/);
      assertShortReason(await post(h, '[{"type":"message"}]'), /JSON object/);
      assertShortReason(await post(h, 'null'), /JSON object/);
      const broken = await post(h, '{"type": "message", ');
      assert.equal(broken.status, 400);
      assert.doesNotMatch(broken.text, /\n\s+at /);
    });

    it('answers 400 to an invoke Countersign does not handle, saying so when it has no name at all', async () => {
      const invoke = (extra: Record<string, unknown>) => ({ ...h.teams.activity(people.alice, opsChannel, { type: 'invoke', value: {} }), ...extra });
      const unnamed = await post(h, JSON.stringify(invoke({})));
      assert.deepEqual([unnamed.status, JSON.parse(unnamed.text)], [400, { error: 'This invoke has no name; Countersign handles only adaptiveCard/action invokes.' }]);
      const other = await post(h, JSON.stringify(invoke({ name: 'composeExtension/query' })));
      assert.deepEqual([other.status, JSON.parse(other.text)], [400, { error: 'Countersign does not handle "composeExtension/query" invokes (only adaptiveCard/action).' }]);
      // Two that botbuilder reads before finding no handler, sent without their value: the same answer, no failed turn.
      for (const name of ['fileConsent/invoke', 'composeExtension/submitAction']) {
        const { value: _none, ...bare } = invoke({ name });
        const r = await post(h, JSON.stringify(bare));
        assert.deepEqual([r.status, JSON.parse(r.text)], [400, { error: `Countersign does not handle "${name}" invokes (only adaptiveCard/action).` }]);
      }
      assert.ok(!h.logs.some((l) => l.msg === 'turn failed'), 'no turn failed');
    });

    it('answers 400 with the same sentence to an invoke botbuilder finds malformed, not an empty 400 or botbuilder\'s words', async () => {
      // botbuilder answers these itself, before finding no handler: a file consent that neither
      // accepts nor declines, a message-extension preview that neither edits nor sends, a search
      // without its query. The sender got 400 with no body, or botbuilder's own error object.
      const invokes: [string, unknown][] = [
        ['fileConsent/invoke', { action: 'maybe' }],
        ['fileConsent/invoke', { action: 5 }],
        ['composeExtension/submitAction', { botMessagePreviewAction: 'publish' }],
        ['application/search', { kind: 'search' }],
        ['application/search', 'not an object'],
      ];
      for (const [name, value] of invokes) {
        const r = await post(h, JSON.stringify(h.teams.activity(people.alice, opsChannel, { type: 'invoke', name, value })));
        assert.equal(r.status, 400, `${name} ${JSON.stringify(value)}`);
        assert.deepEqual(JSON.parse(r.text || 'null'), { error: `Countersign does not handle "${name}" invokes (only adaptiveCard/action).` }, `${name} ${JSON.stringify(value)}`);
      }
      assert.ok(!h.logs.some((l) => l.msg === 'turn failed'), 'no turn failed');
    });

    it('answers malformed JSON in the documented form, not with the body parser\'s words', async () => {
      const broken = await post(h, '{"type": "message", ');
      assert.deepEqual([broken.status, JSON.parse(broken.text)], [400, { error: 'Not a valid Bot Framework activity: the body is not valid JSON.' }]);
      assert.doesNotMatch(broken.text, /InvalidContent|Invalid JSON|position/);
    });

    it('refuses a compressed body before inflating it: a small gzip request cannot fill the bot\'s memory', async () => {
      const inflated = Buffer.alloc(50 * 1024 * 1024, ' ');
      const body = zlib.gzipSync(Buffer.concat([Buffer.from('{"type":"message","text":"'), inflated, Buffer.from('"}')]));
      assert.ok(body.length < 100 * 1024, 'the request is small on the wire');
      const before = process.memoryUsage().rss;
      const res = await fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
      assert.deepEqual([res.status, await res.json()], [415, { error: 'Countersign does not accept compressed request bodies (Content-Encoding: gzip); send it uncompressed.' }]);
      assert.ok(process.memoryUsage().rss - before < 40 * 1024 * 1024, 'the 50 MB were never inflated');
      for (const encoding of ['deflate', 'br', 'gzip, identity']) {
        const other = await fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body: '{}' });
        assert.equal(other.status, 415, encoding);
      }
      for (const none of ['identity', ' ']) {
        const plain = await fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': none }, body: '[]' });
        assert.deepEqual([plain.status, await plain.json()], [400, { error: 'Not a valid Bot Framework activity: the body must be a JSON object (a Bot Framework activity).' }], `"${none}" is no encoding at all`);
      }
      assert.equal((await fetch(`${h.bot.url}/healthz`)).status, 200);
    });

    it('refuses a multipart upload before reading it: nothing lands in the temp directory, authenticated or not', async () => {
      const uploads = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('upload_'));
      const before = new Set(uploads());
      const boundary = 'countersign-boundary';
      const file = Buffer.alloc(5 * 1024 * 1024, 'a');
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
        file,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const res = await fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body }).catch(() => undefined);
      // Answered at once and the connection closed: the client may see the answer or a reset while it still sends.
      if (res) assert.deepEqual([res.status, await res.json()], [400, { error: 'The request body must be a Bot Framework activity sent as application/json.' }]);
      assert.deepEqual(uploads().filter((f) => !before.has(f)), [], 'no upload was written to the temp directory');
      // Any other route: a body that is not JSON is refused too (415), here on a GET that carries one.
      const elsewhere = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(`${h.bot.url}/healthz`, { method: 'GET', headers: { 'content-type': 'text/plain', 'content-length': '1' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end('x');
      });
      assert.deepEqual([elsewhere.status, JSON.parse(elsewhere.text)], [415, { error: 'Countersign reads only application/json request bodies.' }]);
      assert.equal((await fetch(`${h.bot.url}/healthz`)).status, 200);
    });

    it('answers a body over 1 MB with 413 and a short reason', async () => {
      const big = await post(h, JSON.stringify({ type: 'message', text: 'x'.repeat(1024 * 1024) }));
      assert.deepEqual([big.status, JSON.parse(big.text)], [413, { error: 'The request body is larger than 1048576 bytes (1 MB).' }]);
    });

    it('hands back an x-request-id on every response, a path or method no route takes included', async () => {
      for (const [method, path, status] of [['GET', '/nothing', 404], ['GET', '/api/messages', 405], ['POST', '/api/messages', 400], ['GET', '/healthz', 200]] as const) {
        const res = await fetch(`${h.bot.url}${path}`, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{' } : {}) });
        assert.equal(res.status, status, `${method} ${path}`);
        assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, `${method} ${path}`);
      }
    });

    it('answers a path or method no route takes in the documented {"error": ...} form, naming what it does take', async () => {
      const nowhere = await fetch(`${h.bot.url}/nothing?token=secret`);
      assert.equal(nowhere.status, 404);
      const missing = (await nowhere.json()) as { error: string };
      assert.deepEqual(Object.keys(missing), ['error']);
      assert.match(missing.error, /^No endpoint at \/nothing\. Countersign answers POST and HEAD \/api\/messages, GET \/healthz, GET \/readyz, GET \/api\/audit\/public-key, GET \/api\/audit\/download\/<token>/);
      assert.doesNotMatch(missing.error, /secret/);
      const wrongMethod = await fetch(`${h.bot.url}/api/messages`);
      assert.deepEqual([wrongMethod.status, await wrongMethod.json()], [405, { error: 'GET is not allowed on /api/messages; it takes HEAD, POST.' }]);
      const probe = await fetch(`${h.bot.url}/healthz`, { method: 'DELETE' });
      assert.deepEqual([probe.status, await probe.json()], [405, { error: 'DELETE is not allowed on /healthz; it takes GET.' }]);
    });

    it('takes a sender, recipient and conversation with a few levels of members, as Teams may send', async () => {
      const a = base();
      a.from.properties = { a: { b: { c: ['d'] } } };
      a.conversation.properties = { a: { b: 1 } };
      assert.equal((await post(h, JSON.stringify(a))).status, 200);
    });

    it('answers a message that mentions the bot and has no text with help, not a failed turn', async () => {
      for (const extra of [{}, { value: { submitted: true } }]) {
        const a = base();
        delete a.text;
        Object.assign(a, extra, { entities: [{ type: 'mention', mentioned: { id: 'bot-countersign', name: 'Countersign' }, text: '<at>Countersign</at>' }] });
        const sent = h.connector.sent.length;
        assert.equal((await post(h, JSON.stringify(a))).status, 200);
        const replies = h.teams.since(sent).map((x) => String(x.activity.text ?? ''));
        assert.ok(!replies.some((t) => /internal error/.test(t)), JSON.stringify(replies));
      }
      assert.ok(!h.logs.some((l) => l.msg === 'turn failed'), JSON.stringify(h.logs.filter((l) => l.msg === 'turn failed')));
    });

    it('takes nothing out of the command for a mention of the bot whose text is missing or not in the message', async () => {
      for (const mention of [{}, { text: '<at>Someone else</at>' }]) {
        const a = base();
        a.text = 'status undefinedCS-1';
        a.entities = [{ type: 'mention', mentioned: { id: 'bot-countersign', name: 'Countersign' }, ...mention }];
        const sent = h.connector.sent.length;
        assert.equal((await post(h, JSON.stringify(a))).status, 200);
        assert.deepEqual(h.teams.since(sent).map((x) => x.activity.text), ['[SANDBOX] "undefinedCS-1" is not a request id: request ids are CS- and 8 letters or digits, such as CS-7K3M9QXW. Type "pending" to see your open requests.']);
      }
    });

    it('still answers a well-formed activity, and nothing was requested by the malformed ones', async () => {
      const from = await h.teams.say(people.alice, 'help');
      assert.ok(h.teams.since(from).length > 0);
      assert.deepEqual(await h.bot.deps.store.requests.list({}), []);
    });
  });

  describe('authentication that cannot be done', () => {
    let metadata: http.Server;
    let metadataHits = 0;
    let h: Harness;
    before(async () => {
      metadata = http.createServer((_req, res) => {
        metadataHits++;
        res.statusCode = 500;
        res.end('metadata store down');
      });
      await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(metadata.address() as AddressInfo).port}/v1/.well-known/openidconfiguration`;
      h = await startHarness({ env: { MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret', BotOpenIdMetadata: url } });
    });
    after(async () => {
      await h.stop();
      await new Promise<void>((resolve) => metadata.close(() => resolve()));
    });

    /** A token shaped like a channel's (issuer api.botframework.com), so validation goes to fetch the keys. */
    function channelLikeToken(): string {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      return `${b64({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${b64({ iss: 'https://api.botframework.com', aud: APP_ID, iat: now, nbf: now, exp: now + 600, serviceurl: h.connector.url })}.${'s'.repeat(43)}`;
    }

    it('answers 503 without anything internal, audits it, and logs JSON only', async () => {
      const errors: unknown[] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => void errors.push(args);
      let r: { status: number; text: string };
      try {
        const activity = h.teams.activity(people.alice, opsChannel, { type: 'message', text: 'help' });
        r = await post(h, JSON.stringify(activity), 'application/json', { authorization: `Bearer ${channelLikeToken()}` });
      } finally {
        console.error = original;
      }
      assert.equal(r.status, 503, r.text);
      assert.ok(metadataHits > 0, 'the metadata endpoint was asked');
      assert.doesNotMatch(r.text, /openID|Failed to load|metadata|\n\s+at /i);
      assert.deepEqual(errors, [], 'nothing written raw to stderr by the framework');
      // The 503 goes out at once; the refusal is recorded right after it.
      const refusals = async () => (await auditOf(h)).filter((e) => e.type === 'auth.refused');
      await eventually('the refusal is in the audit', async () => (await refusals()).length > 0);
      const refused = await refusals();
      assert.equal(refused.length, 1);
      assert.equal(refused[0].outcome.reason, 'auth-unavailable');
      assert.ok(h.logs.some((l) => l.msg === 'Bot Framework authentication unavailable'));
      assert.equal(h.connector.sent.length, 0, 'nothing was answered in Teams');
    });

    it('still answers 401 to a request without a token', async () => {
      const refusals = async () => (await auditOf(h)).filter((e) => e.type === 'auth.refused');
      const before = (await refusals()).length;
      const activity = h.teams.activity(people.alice, opsChannel, { type: 'message', text: 'help' });
      const r = await post(h, JSON.stringify(activity));
      assert.equal(r.status, 401);
      // The 401 goes out at once; the refusal is recorded right after it.
      const last = await eventually('the refusal is in the audit', async () => (await refusals()).slice(before).at(-1));
      assert.equal(last.type, 'auth.refused');
      assert.equal(last.outcome.reason, 'missing-token');
    });
  });

  describe('a turn that failed after authentication', () => {
    let h: Harness;
    let failing = false;
    before(async () => {
      h = await startHarness({
        // The store's request reads fail while `failing` (a database that does not answer).
        wrapStore: (store) => {
          const requests = new Proxy(store.requests, {
            get: (target, p) => {
              const v = (target as unknown as Record<PropertyKey, unknown>)[p];
              if (p === 'get') return async (...args: unknown[]) => {
                if (failing) throw new Error('reads are failing');
                return (v as (...a: unknown[]) => unknown).apply(target, args);
              };
              return typeof v === 'function' ? v.bind(target) : v;
            },
          });
          return new Proxy(store, { get: (target, p) => (p === 'requests' ? requests : ((v) => (typeof v === 'function' ? v.bind(target) : v))((target as unknown as Record<PropertyKey, unknown>)[p])) });
        },
      });
    });
    after(async () => {
      failing = false;
      await h.stop();
    });

    it('answers an invoke (a card refresh) 500 with the request id, not 501, and logs activity failed', async () => {
      const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
      failing = true;
      try {
        const refresh = h.teams.activity(people.bob, opsChannel, { type: 'invoke', name: 'adaptiveCard/action', replyToId: cardId, value: { action: { type: 'Action.Execute', verb: 'refresh', data: { requestId } } } });
        const r = await post(h, JSON.stringify(refresh));
        assert.equal(r.status, 500, r.text);
        const failed = h.logs.find((l) => l.msg === 'activity failed');
        assert.ok(failed, 'logged as activity failed');
        assert.deepEqual(JSON.parse(r.text), { error: `Countersign could not handle this activity (request ${String(failed.reqId)}).` });
        assert.match(String(failed.err), /reads are failing/);
      } finally {
        failing = false;
      }
    });

    it('answers a message 200 and tells the person in the conversation what failed', async () => {
      const { requestId } = await requestVia(h, 'delete resource group staging-api-service');
      failing = true;
      try {
        const sent = h.connector.sent.length;
        const r = await post(h, JSON.stringify(h.teams.activity(people.bob, opsChannel, { type: 'message', text: `status ${requestId}` })));
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(h.teams.since(sent).map((x) => x.activity.text), ['[SANDBOX] Countersign could not handle this message: it hit an internal error, so nothing was changed. Try again, and tell the team that runs Countersign if it keeps happening.']);
      } finally {
        failing = false;
      }
    });
  });
});
