/**
 * The logs an operator reads: JSON lines whose ids tie one HTTP request, one Teams activity and one
 * execution together, and which never contain a secret.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, withLogContext } from '../../src/log/logger';
import { secretValues } from '../../src/settings';
import { cardActions } from '../support/connector';
import { opsChannel, people } from '../support/teams';
import { settled, startLoggedCountersign, type LoggedCountersign, type LogLine } from './support';

const APP_PASSWORD = 'Qx7~app-password-value.9';
const CLIENT_SECRET = 'cs-8Kq~client-secret-value';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.c2lnbmF0dXJl';

function memoryLogger(secrets: string[] = []) {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out.push(...String(chunk).split('\n').filter((l) => l.trim()));
      cb();
    },
  });
  return { log: createLogger('debug', sink, { secrets }), out };
}

describe('logs: never a secret', () => {
  it('redacts secrets under their usual keys, at the top level and one level down', () => {
    const { log, out } = memoryLogger();
    log.info({ MicrosoftAppPassword: APP_PASSWORD, credential: { clientSecret: CLIENT_SECRET }, headers: { authorization: `Bearer ${JWT}` } }, 'settings');
    log.info({ env: { AZURE_CLIENT_SECRET: CLIENT_SECRET }, request: { headers: { authorization: 'Basic dXNlcjpwYXNz' } } }, 'env');
    const text = out.join('\n');
    for (const secret of [APP_PASSWORD, CLIENT_SECRET, JWT, 'dXNlcjpwYXNz']) assert.ok(!text.includes(secret), `a log line contains ${secret}:\n${text}`);
    assert.equal(JSON.parse(out[0]).MicrosoftAppPassword, '[redacted]');
  });

  it("redacts down to three levels, in an error's own fields too, and never changes the caller's objects", () => {
    const { log, out } = memoryLogger();
    const logged = { outer: { inner: { password: APP_PASSWORD, keep: 'visible' } }, err: Object.assign(new Error('boom'), { token: JWT }) };
    log.warn(logged, 'nested');
    const line = JSON.parse(out[0]);
    assert.equal(line.outer.inner.password, '[redacted]');
    assert.equal(line.outer.inner.keep, 'visible');
    assert.equal(line.err.token, '[redacted]');
    assert.equal(line.err.message, 'boom');
    assert.equal(logged.outer.inner.password, APP_PASSWORD, "the caller's object is left as it was");
    assert.equal((logged.err as Error & { token: string }).token, JWT);
  });

  it('scrubs bearer tokens, JSON web tokens and the configured secret values wherever they appear in a line', () => {
    const { log, out } = memoryLogger([APP_PASSWORD, CLIENT_SECRET]);
    log.error({ err: `request failed: Authorization: Bearer ${JWT}` }, 'card update failed');
    log.warn({ path: `/callback?token=${JWT}&secret=${encodeURIComponent(CLIENT_SECRET)}` }, 'http error');
    log.info({ deep: { deeper: { deepest: { note: `password was ${APP_PASSWORD}`, q: `"${CLIENT_SECRET}"` } } } }, 'nested');
    const text = out.join('\n');
    for (const secret of [APP_PASSWORD, CLIENT_SECRET, JWT]) assert.ok(!text.includes(secret), `a log line contains ${secret}:\n${text}`);
    assert.match(text, /Bearer \[redacted\]/);
    assert.equal(out.length, 3, 'every line is still written, and still JSON');
    for (const line of out) JSON.parse(line);
  });

  it("scrubs an audit download link's token wherever it stands in a line, whatever the path around it, percent-encoded too", () => {
    const { log, out } = memoryLogger([]);
    const secret = 'A'.repeat(20) + '_-' + 'b'.repeat(21);
    const signature = 'Z9'.repeat(43);
    const token = `1796552139.${secret}.${signature}`;
    log.warn({ path: `/api/audit/download//${token}`, status: 404 }, 'http error');
    log.info({ path: `/Api/audit/download/${token}/manifest` }, 'http request');
    log.warn({ err: `ResourceNotFound: /api//audit/download/${token} does not exist` }, 'http error');
    log.info({ url: `http://127.0.0.1/x?link=${token.replace(/\./g, '%2E').replace('A', '%41')}` }, 'http request');
    const text = out.join('\n');
    for (const part of [secret, signature, secret.slice(1), signature.slice(0, 43)]) assert.ok(!text.includes(part), `a log line contains the token:\n${text}`);
    assert.match(text, /"path":"\/api\/audit\/download\/\/\[token\]"/);
    assert.match(text, /"path":"\/Api\/audit\/download\/\[token\]\/manifest"/);
    assert.match(text, /link=\[token\]/);
    for (const line of out) JSON.parse(line);
  });

  it("scrubs a storage SAS's signature and a connection string's key or password wherever they stand in a line, percent-encoded too", () => {
    const { log, out } = memoryLogger([]);
    const sig = 'q7V%2BdF0yX3kz9Lw1mN2bC4eR5tY6uI7oP8aS9dF0gH1%3D';
    const key = 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDRA==';
    const sas = `https://acct.blob.core.windows.net/templates/nested.json?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-07T00:00:00Z&sig=${sig}`;
    log.warn({ err: `InvalidContentLink: Unable to download deployment content from '${sas}'.` }, 'execution failed');
    log.info({ url: `http://127.0.0.1/x?next=${encodeURIComponent(sas)}` }, 'http request');
    log.error({ err: `could not open DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key};EndpointSuffix=core.windows.net` }, 'library error');
    log.error({ text: `Server=tcp:db.database.windows.net;User ID=ops;Password=Tr0ub4dor&3;Database=x and Endpoint=sb://ns/;SharedAccessKeyName=a;SharedAccessKey=${key}` }, 'library error');
    const text = out.join('\n');
    for (const secret of [sig, encodeURIComponent(sig), key, 'Tr0ub4dor']) assert.ok(!text.includes(secret), `a log line contains ${secret}:\n${text}`);
    assert.match(text, /&sig=\[redacted\]'/);
    assert.match(text, /%26sig%3D\[redacted\]/);
    assert.match(text, /AccountKey=\[redacted\];EndpointSuffix=core\.windows\.net/, 'the rest of the string stays readable');
    assert.match(text, /sv=2022-11-02&ss=b/, 'the SAS\'s other fields (no secret) stay');
    for (const line of out) JSON.parse(line);
  });

  it("knows the process's secrets: the bot's app password and the Azure client secret", () => {
    assert.deepEqual(secretValues({ MicrosoftAppPassword: APP_PASSWORD, AZURE_CLIENT_SECRET: CLIENT_SECRET, HOME: '/root' }, APP_PASSWORD), [APP_PASSWORD, CLIENT_SECRET]);
    assert.deepEqual(secretValues({}, ''), []);
  });

  it('keeps the ids of the scope a line is logged in, and lets nested scopes add to them', async () => {
    const { log, out } = memoryLogger();
    await withLogContext({ reqId: 'r-1' }, async () => {
      await withLogContext({ correlationId: 'c-1', activityId: undefined }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        log.info({}, 'inside');
      });
      log.info({}, 'outside the turn');
    });
    log.info({}, 'outside everything');
    const [inside, outside, none] = out.map((l) => JSON.parse(l) as LogLine);
    assert.equal(inside.reqId, 'r-1');
    assert.equal(inside.correlationId, 'c-1');
    assert.ok(!('activityId' in inside), 'an unknown id is left out, not logged as undefined');
    assert.equal(outside.reqId, 'r-1');
    assert.equal(outside.correlationId, undefined);
    assert.equal(none.reqId, undefined);
  });

  it("never carries one line's own fields into the next line of the same scope", async () => {
    const { log, out } = memoryLogger();
    await withLogContext({ job: 'sweep' }, async () => {
      log.warn({ requestId: 'CS-AAAAAAAA', err: 'disk full' }, 'first');
      log.info({}, 'second');
    });
    const [first, second] = out.map((l) => JSON.parse(l) as LogLine);
    assert.equal(first.requestId, 'CS-AAAAAAAA');
    assert.equal(second.job, 'sweep');
    assert.equal(second.requestId, undefined, 'the request of the line before is not this line\'s');
    assert.equal(second.err, undefined);
  });
});

describe('logs: correlation ids over a whole approval', function () {
  this.timeout(30000);
  let c: LoggedCountersign;
  beforeEach(async () => {
    c = await startLoggedCountersign({ secrets: [APP_PASSWORD, CLIENT_SECRET] });
  });
  afterEach(async () => {
    await c.stop();
  });

  /** Posts one activity the way Teams does and returns its activity id. */
  async function post(person: (typeof people)[keyof typeof people], extra: Record<string, unknown>): Promise<{ activityId: string; requestIdHeader: string | null }> {
    const activity = c.teams.activity(person, opsChannel, extra);
    const res = await fetch(`${c.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
    await res.text();
    assert.equal(res.status, 200);
    return { activityId: activity.id as string, requestIdHeader: res.headers.get('x-request-id') };
  }

  function linesOf(activityId: string): LogLine[] {
    return c.lines.filter((l) => l.activityId === activityId);
  }

  function oneCorrelationId(activityId: string): string {
    const ids = new Set(linesOf(activityId).map((l) => l.correlationId));
    assert.equal(ids.size, 1, `lines of activity ${activityId} carry ${ids.size} correlation ids: ${JSON.stringify(linesOf(activityId))}`);
    const [id] = ids;
    assert.equal(typeof id, 'string');
    return id as string;
  }

  it('gives every line of one turn, the use cases included, the same ids, and each turn its own', async () => {
    const asked = await post(people.alice, { type: 'message', text: 'deploy production api-service reason: release 2.4' });
    const created = c.lines.find((l) => l.msg === 'request created');
    assert.ok(created, 'the use case logged the new request');
    assert.equal(created.activityId, asked.activityId, 'the app layer line carries the activity id of its turn');
    assert.equal(created.conversationId, opsChannel.id);
    assert.equal(created.activityType, 'message');
    const askedTurn = oneCorrelationId(asked.activityId);

    const cardId = c.connector.sent.find((s) => cardActions((s.activity.attachments as { content: Record<string, unknown> }[] | undefined)?.[0]?.content).length > 0)!.id;
    const card = c.connector.card(cardId);
    const approve = cardActions(card).find((a) => a.verb === 'approve')!;
    const invoke = (person: (typeof people)[keyof typeof people]) =>
      post(person, { type: 'invoke', name: 'adaptiveCard/action', replyToId: cardId, value: { action: { type: 'Action.Execute', verb: 'approve', data: approve.data } } });
    const selfClick = await invoke(people.alice);
    const refused = c.lines.find((l) => l.msg === 'card action refused');
    assert.equal(refused?.activityId, selfClick.activityId);
    const selfTurn = oneCorrelationId(selfClick.activityId);
    assert.notEqual(selfTurn, askedTurn, 'two turns, two correlation ids');

    // The HTTP request id comes back to the caller and is on every line of that request.
    assert.ok(selfClick.requestIdHeader, 'the response names its request id');
    assert.ok(linesOf(selfClick.activityId).every((l) => l.reqId === selfClick.requestIdHeader));
    const access = c.lines.find((l) => l.msg === 'http request' && l.reqId === selfClick.requestIdHeader);
    assert.equal(access?.path, '/api/messages');
    assert.equal(access?.status, 200);
  });

  it("logs an execution under the approving click's correlation id and the request id", async () => {
    await post(people.alice, { type: 'message', text: 'deploy production api-service' });
    const cardId = c.connector.sent.find((s) => cardActions((s.activity.attachments as { content: Record<string, unknown> }[] | undefined)?.[0]?.content).length > 0)!.id;
    const approve = cardActions(c.connector.card(cardId)).find((a) => a.verb === 'approve')!;
    const click = await post(people.bob, { type: 'invoke', name: 'adaptiveCard/action', replyToId: cardId, value: { action: { type: 'Action.Execute', verb: 'approve', data: approve.data } } });
    await settled(c);

    const clickTurn = oneCorrelationId(click.activityId);
    const requestId = approve.data.requestId as string;
    for (const msg of ['execution started', 'execution finished']) {
      const line = c.lines.find((l) => l.msg === msg);
      assert.ok(line, `"${msg}" was logged`);
      assert.equal(line.correlationId, clickTurn, `"${msg}" carries the approving click's correlation id`);
      assert.equal(line.requestId, requestId);
    }
    const text = c.raw.join('\n');
    for (const secret of [APP_PASSWORD, CLIENT_SECRET]) assert.ok(!text.includes(secret));
    assert.ok(!/Bearer (?!\[redacted\])/.test(text), 'no bearer token in the logs');
  });
});
