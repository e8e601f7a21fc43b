/**
 * A platform stops Countersign with SIGTERM (a deployment slot swap, a scale-in). It must stop taking
 * activities, finish the turns and card updates under way, close the database cleanly and exit 0,
 * so nothing a person saw or approved is lost.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { verifyChain } from '../../src/audit/verify/verify';
import type { AuditRecord } from '../../src/domain/audit';
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { cardActions, cardText, FakeConnector } from '../support/connector';
import { EXAMPLE_CONFIG } from '../support/people';
import { eventually, opsChannel, people, shown, TeamsDriver, type Person } from '../support/teams';
import { spawnCountersign, type CountersignProcess } from './child';
import { ConnectorGate } from './gate';
import { startHarness } from '../support/harness';
import { ConversationRateLimiter } from '../../src/teams/rate-limit';
import { aRequest, anEvent } from '../store/fixtures';
import type { RequestQuery } from '../../src/app/ports';
import type { CountersignStore as Store } from '../../src/store/countersign-store';
import { auditOf } from '../support/flows';

const APP_PASSWORD = 'Zr4~never-logged-app-password';
const CLIENT_SECRET = 'Yq2~never-logged-client-secret';

describe('SIGTERM (Countersign in its own process)', function () {
  this.timeout(90000);
  let dataDir: string;
  let connector: FakeConnector;
  let gate: ConnectorGate;
  let countersign: CountersignProcess | undefined;

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-sigterm-'));
    connector = await new FakeConnector().start();
    gate = await new ConnectorGate(connector.url).start();
  });
  afterEach(async () => {
    countersign?.kill();
    await countersign?.exited;
    await gate.stop();
    await connector.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Posts an activity the way Teams does; the bot talks back through the gate. */
  function post(person: Person, extra: Record<string, unknown>): Promise<Response> {
    const activity = { ...new TeamsDriver(countersign!.url, connector).activity(person, opsChannel, extra), serviceUrl: gate.url };
    return fetch(`${countersign!.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
  }

  it('refuses new activities with 503, finishes the turns and card updates under way, closes the store and exits 0', async () => {
    countersign = await spawnCountersign({
      COUNTERSIGN_DATA_DIR: dataDir,
      COUNTERSIGN_CONFIG: EXAMPLE_CONFIG,
      LOG_LEVEL: 'debug',
      MicrosoftAppPassword: APP_PASSWORD,
      AZURE_CLIENT_SECRET: CLIENT_SECRET,
    });
    const db = databaseFile(dataDir);

    // A request, with its card posted.
    assert.equal((await post(people.alice, { type: 'message', text: 'tag staging-old owner platform reason: inventory' })).status, 200);
    const posted = connector.sent.find((s) => cardActions((s.activity.attachments as { content: Record<string, unknown> }[] | undefined)?.[0]?.content).length > 0);
    assert.ok(posted, 'the request card was posted');
    const approve = cardActions(connector.card(posted.id)).find((a) => a.verb === 'approve')!;

    // Teams stalls: Bob's approval sets off card updates, and Alice's "help" turn waits on its reply.
    gate.hold();
    const click = await post(people.bob, { type: 'invoke', name: 'adaptiveCard/action', replyToId: posted.id, value: { action: { type: 'Action.Execute', verb: 'approve', data: approve.data } } });
    assert.equal(click.status, 200, 'the click is answered at once');
    const helpTurn = post(people.alice, { type: 'message', text: 'help' });
    await eventually('a card update and a reply waiting at the gate', () => gate.waiting().some((c) => c.startsWith('PUT')) && gate.waiting().some((c) => c.startsWith('POST')));

    countersign.child.kill('SIGTERM');
    await countersign.waitForLog('stopping');

    const late = await post(people.alice, { type: 'message', text: 'tag staging-old owner someone-else' });
    assert.equal(late.status, 503, 'a new activity is turned away while draining');
    assert.match(((await late.json()) as { error: string }).error, /shutting down/);
    const ready = await fetch(`${countersign.url}/readyz`);
    assert.equal(ready.status, 503, 'readiness fails while draining, so traffic goes elsewhere');
    assert.equal(countersign.child.exitCode, null, 'still running: work is under way');

    gate.release();
    assert.equal((await helpTurn).status, 200, 'the turn under way finished');
    assert.deepEqual(await countersign.exited, { code: 0, signal: null });

    // Everyone's card reached its final state before the process went away.
    assert.match(cardText(connector.card(posted.id)), /SUCCEEDED/);
    assert.ok(connector.texts(opsChannel.id).some((t) => /succeeded/.test(t)), 'the requester was told');
    assert.ok(countersign.lines().some((l) => l.msg === 'Countersign stopped'));

    // The database was closed cleanly (the WAL checkpointed away) and holds exactly what happened.
    assert.equal(fs.existsSync(`${db}-wal`), false, 'no write-ahead log left behind');
    const store = await openSqliteStore({ file: db });
    try {
      const requests = await store.requests.list({});
      assert.deepEqual(requests.map((r) => [r.command, r.state]), [['tag', 'succeeded']], 'the refused activity created nothing');
      const records: AuditRecord[] = [];
      for await (const r of store.audit.read()) records.push(r);
      assert.ok(records.some((r) => r.type === 'execution.succeeded'));
      assert.equal((await verifyChain(store.audit.read())).ok, true);
    } finally {
      await store.close();
    }

    const output = countersign.stdout.join('\n') + countersign.stderr.join('');
    for (const secret of [APP_PASSWORD, CLIENT_SECRET]) assert.ok(!output.includes(secret), `the logs contain the secret ${secret}`);
  });

  it('stops on SIGHUP as on SIGTERM: drained, logged, exit 0 (the config is read at start only; SIGHUP is no reload)', async () => {
    countersign = await spawnCountersign({ COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_CONFIG: EXAMPLE_CONFIG });
    countersign.child.kill('SIGHUP');
    assert.deepEqual(await countersign.exited, { code: 0, signal: null });
    assert.ok(countersign.lines().some((l) => l.msg === 'stopping' && l.signal === 'SIGHUP'), 'the stop is logged with its signal');
    assert.ok(countersign.lines().some((l) => l.msg === 'Countersign stopped'), 'the stop went to its end');
  });

  it('logs a refused URL by its path only, never the query string where callers put tokens', async () => {
    countersign = await spawnCountersign({
      COUNTERSIGN_DATA_DIR: dataDir,
      COUNTERSIGN_CONFIG: EXAMPLE_CONFIG,
      LOG_LEVEL: 'debug',
      MicrosoftAppPassword: APP_PASSWORD,
      AZURE_CLIENT_SECRET: CLIENT_SECRET,
    });
    const res = await fetch(`${countersign.url}/no-such-path?secret=${encodeURIComponent(CLIENT_SECRET)}&pw=${APP_PASSWORD}&t=Bearer%20abcdefghij`);
    assert.equal(res.status, 404);
    await countersign.waitForLog('http error');
    countersign.child.kill('SIGTERM');
    assert.deepEqual(await countersign.exited, { code: 0, signal: null });
    const output = countersign.stdout.join('\n') + countersign.stderr.join('');
    assert.ok(countersign.lines().some((l) => l.msg === 'http error' && l.path === '/no-such-path' && l.status === 404), 'the refused request is logged');
    for (const secret of [APP_PASSWORD, CLIENT_SECRET, 'abcdefghij']) assert.ok(!output.includes(secret), `the logs contain ${secret}:\n${output}`);
  });
});

describe('a stop with messages held back by Teams\' rate limit (in process)', function () {
  this.timeout(30000);

  it('waits the grace period, drops what still waits for the conversation\'s budget, says how many, and closes', async () => {
    const h = await startHarness({ shutdownGraceMs: 300 });
    try {
      // The channel's reference is stored when someone speaks there.
      await h.teams.say(people.alice, 'help');
      // One message a minute for this test: the first goes, the next two wait well past the grace.
      h.bot.notifier.limiter = new ConversationRateLimiter([{ max: 1, perMs: 60_000 }]);
      const before = h.connector.sent.length;
      const posts = ['first', 'second', 'third'].map((text) => h.bot.notifier.post(opsChannel.id, { type: 'message', text }));
      await posts[0];
      const started = Date.now();
      await h.bot.stop();
      const took = Date.now() - started;
      assert.ok(took < 5000, `the stop took ${took} ms`);
      const outcomes = await Promise.allSettled(posts);
      assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'rejected']);
      assert.deepEqual(h.connector.sent.slice(before).map((s) => (s.activity as { text?: string }).text), ['first']);
      const dropped = h.logs.find((l) => String(l.msg).includes('were not sent'));
      assert.equal(dropped?.dropped, 2);
      // The messages' share of the grace: what the executions (none here) left of it, at least a quarter.
      const share = Number(dropped?.graceMs);
      assert.ok(share >= 75 && share <= 300, `the messages waited ${share} ms of the 300 ms grace`);
      assert.ok(h.logs.some((l) => l.msg === 'Countersign stopped'), 'the stop went to its end (store closed)');
    } finally {
      await h.stop().catch(() => undefined);
    }
  });

  it('starts no other card of the start\'s catch-up once stopping: a stop right after a start over many lately ended requests does not wait out the grace', async () => {
    // 2,000 requests that ended within the day, as the start's catch-up of cards reads them: each
    // card update waits 150 ms to settle, 20 at a time, so bringing them all up to date takes 15 s.
    const ended = Array.from({ length: 2000 }, (_, i) => aRequest(`ended-${i}`, { state: 'succeeded', updatedAt: new Date().toISOString() }));
    let pagesRead = 0;
    const withEnded = (store: Store): Store => {
      const requests = new Proxy(store.requests, {
        get(target, key) {
          const value = Reflect.get(target, key) as unknown;
          if (key !== 'list') return typeof value === 'function' ? value.bind(target) : value;
          return async (q: RequestQuery) => {
            if (!q.updatedSince) return target.list(q);
            pagesRead++;
            return ended.slice(q.offset ?? 0, (q.offset ?? 0) + (q.limit ?? ended.length));
          };
        },
      });
      return new Proxy(store, {
        get(target, key) {
          if (key === 'requests') return requests;
          const value = Reflect.get(target, key) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    };
    const h = await startHarness({ shutdownGraceMs: 10_000, wrapStore: withEnded });
    try {
      await eventually('the start\'s catch-up of cards under way', () => pagesRead > 0);
      const started = Date.now();
      await h.bot.stop();
      const took = Date.now() - started;
      assert.ok(took < 3000, `the stop took ${took} ms of its 10 s grace`);
      assert.ok(!h.logs.some((l) => String(l.msg).includes('left unfinished')), 'nothing was left unfinished');
      assert.ok(h.logs.some((l) => l.msg === 'Countersign stopped'));
    } finally {
      await h.stop().catch(() => undefined);
    }
  });

  it('cuts off at the end of the grace an audit export a reader holds without reading, records it, and closes', async function () {
    // Without the cut, the stop waits for the reader: up to COUNTERSIGN_AUDIT_EXPORT_IDLE (2 minutes) each time it reads.
    this.timeout(30000);
    const h = await startHarness({ shutdownGraceMs: 300 });
    try {
      // About 20 MB of records: more than the socket's buffers hold for a reader that takes nothing.
      const time = h.clock.now().toISOString();
      for (let i = 0; i < 20; i++) await h.bot.deps.store.audit.append(Array.from({ length: 10 }, () => anEvent('request.created', { time, outcome: { result: 'ok', detail: 'x'.repeat(100_000) } })));
      const day = 24 * 3600 * 1000;
      const window = `${new Date(Date.now() - day).toISOString()} ${new Date(Date.now() + day).toISOString()}`;
      const from = await h.teams.say(people.erin, `audit export ${window} jsonl`, { id: `a:personal-${people.erin.id}`, conversationType: 'personal' });
      const link = new URL(/\[download it\]\((http[^)\s]+)\)/.exec(shown(String(h.teams.since(from)[0].activity.text)))![1]);
      // A reader that asks and then reads nothing: the export waits on it (for up to the 2 minutes of COUNTERSIGN_AUDIT_EXPORT_IDLE).
      const reader = net.connect(Number(link.port), link.hostname);
      reader.pause();
      reader.on('error', () => undefined);
      reader.write(`GET ${link.pathname} HTTP/1.1\r\nHost: ${link.host}\r\n\r\n`);
      await eventually('the export started', async () => (await auditOf(h, { types: ['audit.export_started'] })).length === 1);

      await h.bot.stop();
      reader.destroy();
      const [exported] = await auditOf(h, { types: ['audit.exported'] });
      // Recorded before its last bytes go out (audit.md): whole, or broken off when cut before that.
      assert.ok(exported, 'the export cut off is recorded');
      assert.ok(h.logs.some((l) => String(l.msg).startsWith('audit exports still being downloaded at shutdown were cut off')));
      const stopped = await auditOf(h, { types: ['audit.checkpoint'] });
      assert.ok(stopped.at(-1)!.seq > exported.seq, 'the shutdown checkpoint signs the record of the cut-off export');
      assert.ok(h.logs.some((l) => l.msg === 'Countersign stopped'));
    } finally {
      await h.stop().catch(() => undefined);
    }
  });
});
