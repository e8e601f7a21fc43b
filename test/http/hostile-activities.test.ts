/**
 * Hostile activities at POST /api/messages, authentication off on loopback (as the Agents
 * Playground posts them): a deterministic generator (fixed seed) mutates real message and card-click
 * activities (fields missing or of the wrong type, text with NUL, bidirectional overrides, joiners,
 * huge text, mentions of anyone, odd attachments, nested depth bombs, duplicated and __proto__ keys)
 * and sends raw bodies that are no activity at all. Properties, for every case:
 *
 * - the answer is a definite status (200, 400, 413, 415) within a bound, never a 5xx, never a stack;
 * - a 400 names what was wrong in a sentence, and a click answered 200 says something to the person;
 * - nothing is approved or executed (nobody who may approve ever clicks), the request stays pending;
 * - a card action that gets past the tenant gate and is not a refresh is recorded as `click.refused`
 *   (docs/audit.md); the audit chain still verifies; no turn fails and nothing is rejected unhandled.
 */
import assert from 'node:assert/strict';
import { verifyChain } from '../../src/audit/verify/verify';
import { ConversationRateLimiter } from '../../src/teams/rate-limit';
import { REFUSAL_BUDGET } from '../../src/app/refusal-budget';
import { auditOf, requestVia, type PostedRequest } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people, type Person } from '../support/teams';

/** A small seeded generator (mulberry32): the same seed, the same cases. */
function random(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}
type Random = ReturnType<typeof random>;

/** Placeholders replaced in the body's text: values JSON.stringify cannot write (depth bombs, repeated or __proto__ keys). */
const RAW = '\u0001raw:';
const raw = (text: string) => `${RAW}${text}`;
function bodyText(a: unknown): string {
  return JSON.stringify(a).replace(/"\\u0001raw:((?:[^"\\]|\\.)*)"/g, (_, s: string) => JSON.parse(`"${s}"`) as string);
}

const depthBomb = (levels: number, arrays: boolean) => raw((arrays ? '[' : '{"a":').repeat(levels) + '1' + (arrays ? ']' : '}').repeat(levels));

/** Strings a person, a broken client or an attacker could put anywhere. */
function hostileString(r: Random, posted: PostedRequest): string {
  return r.pick([
    () => '',
    () => ' ',
    () => 'approve\u0000',
    () => `${posted.requestId}\u0000`,
    () => `\u202E${posted.requestId}`,
    () => `help\u202Edlrow`,
    () => 'status\u200D CS-0000',
    () => '\uFEFFpending',
    () => '\uD800',
    () => 'x'.repeat(r.pick([65, 257, 513, 4001, 70_000, 300_000])),
    () => '👩🏽‍💻',
    () => '<at>Countersign</at> approve',
    () => posted.requestId.toLowerCase(),
    () => `${posted.requestId} `,
    () => '__proto__',
    () => 'constructor',
    () => '${requestId}',
    () => '../../etc/passwd',
    () => 'line\r\nbreak',
    () => people.bob.aadObjectId,
    () => 'msteams',
    () => 'approve',
    () => 'refresh',
    () => 'CS-00000000',
  ])();
}

function hostileValue(r: Random, posted: PostedRequest): unknown {
  // Mostly text of the right type (it gets past the shape check, to the bot), else anything.
  if (r.next() < 0.6) return hostileString(r, posted);
  return r.pick([
    () => undefined,
    () => null,
    () => r.pick([0, -1, 1e308, 42, 3.5]),
    () => r.pick([true, false]),
    () => [],
    () => [1, 'a', null],
    () => ({}),
    () => ({ id: 5, aadObjectId: [] }),
    () => raw('{"__proto__":{"polluted":true},"id":"x"}'),
    () => raw('{"id":"a","id":"b","aadObjectId":"1","aadObjectId":2}'),
    () => depthBomb(r.pick([20, 5000]), r.next() < 0.5),
    () => Array.from({ length: r.pick([101, 5000]) }, () => ({ type: 'mention' })),
    () => hostileString(r, posted),
    () => hostileString(r, posted),
    () => hostileString(r, posted),
  ])();
}

/** Where a mutation lands: the fields the bot and botbuilder read. */
const PATHS = [
  'type', 'name', 'id', 'text', 'replyToId', 'locale', 'localTimezone', 'timestamp', 'deliveryMode', 'textFormat', 'channelId',
  'from', 'from.id', 'from.aadObjectId', 'from.name', 'recipient', 'recipient.id',
  'conversation', 'conversation.id', 'conversation.conversationType', 'conversation.tenantId', 'conversation.isGroup',
  'channelData', 'channelData.tenant', 'channelData.tenant.id', 'channelData.eventType',
  'value', 'value.action', 'value.action.type', 'value.action.verb', 'value.action.data', 'value.action.data.requestId', 'value.action.data.hash', 'value.action.data.comment', 'value.countersign', 'value.reason',
  'entities', 'attachments', 'membersAdded',
];

const CLICK_PATHS = PATHS.filter((p) => p.startsWith('value') || p === 'replyToId' || p.startsWith('from'));

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = target;
  for (const p of parts.slice(0, -1)) {
    if (!at[p] || typeof at[p] !== 'object' || Array.isArray(at[p])) at[p] = {};
    at = at[p] as Record<string, unknown>;
  }
  if (value === undefined) delete at[parts.at(-1)!];
  else at[parts.at(-1)!] = value;
}

/** Entities that mention anyone (the bot, an approver, nobody), or are not entities at all. */
function entities(r: Random): unknown {
  return r.pick([
    () => [{ type: 'mention', mentioned: { id: 'bot-countersign', name: 'Countersign' }, text: '<at>Countersign</at>' }],
    () => [{ type: 'mention', mentioned: { id: people.bob.id, aadObjectId: people.bob.aadObjectId, name: 'Bob' }, text: '<at>Bob</at>' }],
    () => [{ type: 'mention', mentioned: { id: 'bot-countersign' }, text: 5 }],
    () => [{ type: 'mention', mentioned: { id: 'bot-countersign' }, text: 'x'.repeat(10_000) }],
    () => [{ type: 'clientInfo', timezone: r.pick(['Mars/Olympus', '', 'Europe/Berlin\u0000', 'x'.repeat(500), 7]) , locale: 'xx-\u202E' }],
    () => [{ type: 'mention' }],
    () => [null],
    () => [{ type: '' }],
  ])();
}

function attachments(r: Random): unknown {
  return r.pick([
    () => [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'approve' }] } }],
    () => [{ contentType: 'text/html', content: '<script>alert(1)</script>' }],
    () => [{ contentType: 5, content: null }],
    () => [{ contentType: 'application/vnd.microsoft.teams.file.download.info', contentUrl: 'file:///etc/passwd', name: '../x' }],
    () => ['not an object'],
    () => [{ content: depthBomb(5000, false) }],
  ])();
}

/** People who may not approve the request (never Bob or Dave, so nothing can be approved). */
const CLICKERS: Person[] = [people.alice, people.carol, people.mallory, people.erin];
const VERBS = ['approve', 'reject', 'cancel', 'refresh', 'ratify', 'flag', 'execute', '', 'APPROVE', 'approve ', '__proto__'];
const INVOKE_NAMES = [...Array<string>(14).fill('adaptiveCard/action'), 'task/fetch', 'task/submit', 'composeExtension/query', 'signin/verifyState', 'actionableMessage/executeAction', 'fileConsent/invoke', 'message/submitAction', 'handoff/action', 'application/search', 'signin/tokenExchange', 'unknown/thing', ''];
const TEXTS = [
  'help', 'pending', 'status CS-00000000', 'audit export', 'audit export format=csv', 'delegate', 'delegate <at>Bob</at> until tomorrow', 'revoke delegation', 'approve', 'cancel', 'break-glass', 'list groups', 'help deploy', '? delete',
  // Requests with hostile parameters and reasons: refused by the text checks, or asked for (never approved).
  'delete resource group staging\u202Eold', 'delete resource group staging-old reason: \u0000', 'set owner="a\u200Db" on resource group staging-old',
  'delete resource group staging-old reason: x\u2066y', 'break-glass delete resource group staging-old reason: \u202E', 'resources \uD800',
];
/** Activity types other than a message or an invoke, and what Teams puts in channelData for some. */
const OTHER_TYPES: [string, Record<string, unknown>][] = [
  ['messageUpdate', { channelData: { eventType: 'editMessage' } }],
  ['messageDelete', { channelData: { eventType: 'softDeleteMessage' } }],
  ['messageUpdate', { channelData: { eventType: 'undeleteMessage' } }],
  ['conversationUpdate', { membersAdded: [{ id: 'bot-countersign' }] }],
  ['conversationUpdate', { membersRemoved: [{ id: 'bot-countersign' }], channelData: { eventType: 'teamDeleted' } }],
  ['installationUpdate', { action: 'add' }],
  ['messageReaction', { reactionsAdded: [{ type: 'like' }] }],
  ['event', { name: 'application/vnd.microsoft.meetingStart' }],
  ['typing', {}],
  ['endOfConversation', {}],
  ['trace', {}],
  ['handoff', {}],
];

/** What a message's value may carry: a form's answer, a card action sent as a message, junk. */
const FORM_VALUES: ((p: PostedRequest) => unknown)[] = [
  (p) => ({ action: { verb: 'approve', data: { requestId: p.requestId } } }),
  (p) => ({ verb: 'approve', requestId: p.requestId }),
  () => ({ countersign: 'request-form', reason: 'x\u202Ey', 'param.group': 'staging-old' }),
  () => ({ countersign: 'confirm' }),
  () => ({ countersign: { nested: true }, reason: 5 }),
  () => ({ 'param.__proto__': 'x', 'param.': 'y' }),
];

interface Case {
  label: string;
  body: string;
  contentType: string;
  /** The card action it carries, when it is an adaptiveCard/action invoke (as sent). */
  click?: boolean;
}

function activityCase(h: Harness, r: Random, posted: PostedRequest, n: number): Case {
  const person = r.pick(CLICKERS);
  const isClick = r.next() < 0.55;
  const a = isClick
    ? h.teams.activity(person, opsChannel, {
        type: 'invoke',
        name: r.pick(INVOKE_NAMES),
        replyToId: r.next() < 0.8 ? posted.cardId : 'some-other-card',
        // The requester may cancel (a decision, not a refusal): she clicks anything else.
        value: { action: { type: 'Action.Execute', verb: ((v) => (person === people.alice && v === 'cancel' ? 'reject' : v))(r.pick(VERBS)), data: { ...posted.data, ...(r.next() < 0.3 ? { comment: 'ok' } : {}) } } },
      })
    : r.next() < 0.2
      ? h.teams.activity(person, opsChannel, ((t) => ({ type: t[0], text: 'help', ...t[1] }))(r.pick(OTHER_TYPES)))
      : h.teams.activity(person, opsChannel, { type: 'message', text: r.pick([...TEXTS, `status ${posted.requestId}`]), ...(r.next() < 0.2 ? { value: r.pick(FORM_VALUES)(posted) } : {}) });
  if (r.next() < 0.05) a.deliveryMode = r.pick(['expectReplies', 'notification', 'ephemeral', 'bogus']);
  if (r.next() < 0.3) a.entities = entities(r);
  if (r.next() < 0.15) a.attachments = attachments(r);
  const changes: string[] = [];
  for (let i = 0, count = 1 + r.int(3); i < count; i++) {
    const path = isClick && r.next() < 0.5 ? r.pick(CLICK_PATHS) : r.pick(PATHS);
    const value = path === 'entities' ? entities(r) : path === 'attachments' ? attachments(r) : hostileValue(r, posted);
    // Never make someone who may approve the clicker: that could approve for real.
    if (path === 'from.aadObjectId' && (value === people.bob.aadObjectId)) continue;
    setPath(a, path, value);
    changes.push(`${path}=${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : JSON.stringify(value)?.slice(0, 40)}`);
  }
  const click = a.type === 'invoke' && a.name === 'adaptiveCard/action';
  return { label: `#${n} ${person.name} ${String(a.type).slice(0, 20)} ${String(a.name ?? '').slice(0, 30)} ${changes.join(' ')}`, body: bodyText(a), contentType: 'application/json', click };
}

function rawCase(h: Harness, r: Random, n: number): Case {
  const base = () => h.teams.activity(people.carol, opsChannel, { type: 'message', text: 'help' });
  const [label, body, contentType] = r.pick<[string, () => string, string]>([
    ['an array', () => '[{"type":"message"}]', 'application/json'],
    ['a number', () => '42', 'application/json'],
    ['a string', () => '"message"', 'application/json'],
    ['true', () => 'true', 'application/json'],
    ['null', () => 'null', 'application/json'],
    ['whitespace', () => '   ', 'application/json'],
    ['a byte-order mark', () => `\uFEFF${JSON.stringify(base())}`, 'application/json'],
    ['invalid UTF-8', () => `{"type":"message","text":"\xff\xfe"}`, 'application/json'],
    ['repeated keys', () => JSON.stringify(base()).replace('"type":"message"', '"type":"message","type":"invoke","name":"adaptiveCard/action"'), 'application/json'],
    ['a __proto__ key', () => JSON.stringify(base()).replace('{', '{"__proto__":{"type":"invoke"},'), 'application/json'],
    ['a depth bomb of 100,000 levels', () => '['.repeat(100_000) + ']'.repeat(100_000), 'application/json'],
    ['a body above 1 MB', () => JSON.stringify({ ...base(), text: 'x'.repeat(1_100_000) }), 'application/json'],
    ['text/plain', () => JSON.stringify(base()), 'text/plain'],
    ['no content type', () => JSON.stringify(base()), ''],
    ['a JSON type other than application/json', () => JSON.stringify(base()), 'application/vnd.api+json'],
    ['a charset', () => JSON.stringify(base()), 'application/json; charset=utf-8'],
    ['upper case', () => JSON.stringify(base()), 'APPLICATION/JSON'],
    ['UTF-16', () => JSON.stringify(base()), 'application/json; charset=utf-16'],
    ['form-encoded', () => 'type=message&text=help', 'application/x-www-form-urlencoded'],
  ]);
  return { label: `#${n} raw: ${label}`, body: body(), contentType };
}

const ANSWER_BOUND_MS = 10_000;

async function send(h: Harness, c: Case): Promise<{ status: number; text: string; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: c.contentType ? { 'content-type': c.contentType } : {}, body: c.body, signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
  return { status: res.status, text: await res.text(), ms: Date.now() - started };
}

describe('hostile activities at POST /api/messages', function () {
  this.timeout(120_000);
  let h: Harness;
  let posted: PostedRequest;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  const budget = { ...REFUSAL_BUDGET };
  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    // Each refused click is checked for its own record: no person's clicks are counted past a budget
    // a minute here (test/app/click-refusals.test.ts covers that).
    Object.assign(REFUSAL_BUDGET, { perMinute: 100_000 });
    h = await startHarness();
    // Hundreds of activities into one channel in seconds: Teams' rate limits would hold the replies
    // (test/integration/reply-rate-limit.test.ts covers that), not what is checked here.
    h.bot.notifier.limiter = new ConversationRateLimiter([{ max: 1_000_000, perMs: 1000 }]);
    posted = await requestVia(h, 'delete resource group staging-old');
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await h?.stop();
    Object.assign(REFUSAL_BUDGET, budget);
  });

  it('answers every one definitely and plainly, approves nothing, and records each refused click', async () => {
    const r = random(Number(process.env.FUZZ_SEED ?? 20_261_206));
    const failures: string[] = [];
    let clicksChecked = 0;
    const stats: Record<string, number> = {};
    for (let n = 0; n < 400; n++) {
      const c = r.next() < 0.12 ? rawCase(h, r, n) : activityCase(h, r, posted, n);
      const before = (await auditOf(h)).length;
      const sent = h.connector.sent.length;
      const logsBefore = h.logs.length;
      let answer: { status: number; text: string; ms: number };
      try {
        answer = await send(h, c);
      } catch (err) {
        failures.push(`${c.label}: no answer (${String(err)})`);
        if (process.env.FUZZ_DEBUG) console.log(c.label, 'TIMEOUT', h.logs.slice(logsBefore).map((l) => JSON.stringify(l).slice(0, 400)));
        continue;
      }
      const { status, text } = answer;
      if (process.env.FUZZ_DEBUG && (status >= 500 || answer.ms > 3000)) console.log(c.label, status, answer.ms, h.logs.slice(logsBefore).filter((l) => Number(l.level) >= 40).map((l) => JSON.stringify(l).slice(0, 600)));
      stats[`${status} ${c.click ? 'click' : 'other'}`] = (stats[`${status} ${c.click ? 'click' : 'other'}`] ?? 0) + 1;
      const fail = (why: string) => failures.push(`${c.label}: ${why} (HTTP ${status} ${text.slice(0, 300)})`);
      if (![200, 400, 413, 415].includes(status)) fail('not a definite status');
      if (/\n\s+at |TypeError|ReferenceError|Cannot read|undefined is not|node_modules|\.ts:\d+/.test(text)) fail('internals in the answer');
      if (status !== 200) {
        let error: unknown;
        try {
          error = (JSON.parse(text) as { error?: unknown }).error;
        } catch {
          // checked below
        }
        if (typeof error !== 'string' || error.length < 20) fail('a refusal without a sentence saying what was wrong');
      }
      const replies = h.teams.since(sent).map((s) => String(s.activity.text ?? ''));
      if (replies.some((t) => /internal error|could not handle/.test(t))) fail(`a reply says it failed: ${JSON.stringify(replies)}`);
      if (status === 200 && c.click) {
        // deliveryMode expectReplies: the invoke's answer comes among the replies.
        const parsed = JSON.parse(text) as { statusCode?: number; type?: string; value?: unknown; activities?: { type?: string; value?: { body?: unknown } }[] };
        const body = (parsed.activities ? parsed.activities.find((x) => x.type === 'invokeResponse')?.value?.body ?? {} : parsed) as { statusCode?: number; type?: string; value?: unknown };
        const said = body.type === 'application/vnd.microsoft.activity.message' ? body.value : body.type === 'application/vnd.microsoft.card.adaptive' ? 'card' : undefined;
        if (typeof said !== 'string' || !said) fail('a click answered with nothing for the person');
        const sentAction = (JSON.parse(c.body) as { value?: { action?: { verb?: unknown } } }).value?.action;
        const added = (await auditOf(h)).slice(before).map((x) => x.type);
        if (sentAction?.verb !== 'refresh') {
          clicksChecked++;
          if (!added.some((t) => t === 'click.refused' || t === 'tenant.refused') && !/not allowed to use Countersign|names two tenants|works only in Microsoft Teams/.test(String(said))) fail(`a refused click left no click.refused record (${JSON.stringify(added)})`);
        }
      }
    }
    const bad = h.logs.filter((l) => ['turn failed', 'activity failed', 'card action failed'].includes(String(l.msg)) || Number(l.level) >= 50);
    assert.deepEqual(failures, []);
    assert.deepEqual(bad.map((l) => `${String(l.msg)}: ${String(l.err ?? '')}`), [], 'no turn failed');
    assert.deepEqual(unhandled.map(String), [], 'nothing rejected unhandled');
    if (process.env.FUZZ_DEBUG) console.log(stats, clicksChecked);
    assert.ok(clicksChecked > 25, `only ${clicksChecked} clicks reached the click check`);
    const request = await h.bot.deps.store.requests.get(posted.requestId);
    assert.equal(request?.state, 'pending');
    assert.deepEqual(request?.approvals, []);
    const records = await auditOf(h);
    assert.deepEqual(records.filter((x) => /^(approval\.granted|request\.approved|execution\.|breakglass\.used)/.test(x.type)).map((x) => x.type), []);
    assert.equal((await verifyChain(h.bot.deps.store.audit.read())).ok, true);
    assert.equal((await fetch(`${h.bot.url}/healthz`)).status, 200, 'still running');
  });
});
