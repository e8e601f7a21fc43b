/**
 * `npm run local:as` (scripts/local-as.ts) against a stand-in Agents Playground on a loopback port and a
 * data folder holding the two tables it reads: which port it finds, how it names a mistyped action, how
 * it tells the card the bot answered with, and the exit code that says whether the bot took the click
 * (0), refused it (3) or could not be reached (4).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { requestCard } from '../../src/cards/request-card';
import type { ApprovalRequest } from '../../src/domain/request';
import { databaseFile } from '../../src/settings';
import { MESSAGE_RESPONSE } from '../../src/teams/replies';
import { DEFAULT_PLAYGROUND_PORT, removeLocalTrial, writeLocalTrial } from '../../scripts/local-trial-file';
import { bob, requestIn } from '../support/requests';
import { openPostgresStore } from '../../src/store/postgres';
import { createTestDatabase } from '../support/postgres';

const ROOT = path.resolve(__dirname, '..', '..');
const ID = 'CS-7K3M9QXW';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function localAs(args: string[], env: Record<string, string>): Promise<Run> {
  const base = { ...process.env };
  delete base.PLAYGROUND_PORT;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/local-as.ts', ...args],
      { cwd: ROOT, env: { ...base, ...env }, timeout: 15_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run local:as', () => {
  let dataDir: string;
  let playground: http.Server;
  let port: number;
  let clicks: { from?: { id?: string }; value?: { action?: { verb?: string } } }[];
  let answer: unknown;

  function store(r: ApprovalRequest): void {
    const db = new Database(databaseFile(dataDir));
    db.exec('CREATE TABLE IF NOT EXISTS requests (id TEXT PRIMARY KEY, body TEXT)');
    db.exec('CREATE TABLE IF NOT EXISTS card_messages (request_id TEXT, conversation_id TEXT, activity_id TEXT)');
    db.prepare('INSERT OR REPLACE INTO requests (id, body) VALUES (?, ?)').run(r.id, JSON.stringify(r));
    db.prepare('INSERT INTO card_messages VALUES (?, ?, ?)').run(r.id, 'group-chat-ops', 'activity-7');
    db.close();
  }

  /** The bot's invoke answer with the request's card, as the Playground passes it on. */
  function answerWithCardOf(r: ApprovalRequest, notice?: string): void {
    answer = { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: requestCard(r, notice ? { notice } : {}) };
  }

  before(async () => {
    playground = http.createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/_internal/v1/config') {
          const config = { currentUser: { id: 'user-alice' }, users: [{ id: 'user-bob' }, { id: 'user-dave' }], groupChats: [{ id: 'group-chat-ops', name: 'Ops', members: ['user-alice', 'user-bob'] }] };
          res.end(JSON.stringify({ config }));
        } else if (req.url === '/_conversation/v1/invoke') {
          clicks.push(JSON.parse(text) as (typeof clicks)[number]);
          if (answer === 'UserNotFound') {
            res.statusCode = 400;
            res.end(JSON.stringify({ code: 'UserNotFound', message: 'User not found in conversation' }));
            return;
          }
          if (answer === 'ActivityNotFound') {
            // What the Playground answers for a card not on its page (posted before it last started).
            res.statusCode = 400;
            res.end(JSON.stringify({ code: 'ActivityNotFoundInConversation', message: 'Message does not exist in the thread.' }));
            return;
          }
          if (answer === 'BotDown') {
            // What the Playground answers when the bot does not answer it (ApiError.wrapError(e, 502)).
            res.statusCode = 502;
            res.end(JSON.stringify({ code: 'InternalServerError', message: 'connect ECONNREFUSED 127.0.0.1:3978' }));
            return;
          }
          res.end(JSON.stringify(answer));
        } else {
          res.statusCode = 404;
          res.end('{}');
        }
      });
    });
    await new Promise<void>((resolve) => playground.listen(0, '127.0.0.1', resolve));
    port = (playground.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => playground.close(() => resolve())));

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'countersign-local-as-'));
    clicks = [];
    const rejected = requestIn('rejected', { id: ID, rejection: { by: bob, at: '2026-12-05T12:27:00.000Z' } });
    store(rejected);
    answerWithCardOf(rejected);
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('finds the Playground on the port a running `npm run local` recorded, without PLAYGROUND_PORT', async () => {
    writeLocalTrial(dataDir, port);
    try {
      const run = await localAs(['bob', 'reject', ID.toLowerCase(), 'not today'], { COUNTERSIGN_DATA_DIR: dataDir });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(clicks.length, 1);
      assert.equal(clicks[0].from?.id, 'user-bob');
      assert.equal(clicks[0].value?.action?.verb, 'reject');
    } finally {
      removeLocalTrial(dataDir);
    }
  });

  it('names PLAYGROUND_PORT and its value when it is no port, and clicks nothing', async () => {
    const run = await localAs(['bob', 'approve', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: 'abc' });
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'PLAYGROUND_PORT: must be a port number from 1 to 65535, got "abc"\n');
    assert.equal(clicks.length, 0);
  });

  it('names the store it looked in by its full path when it is outside the working directory, not as ../../…', async () => {
    store(requestIn('pending', { id: ID }));
    const missing = await localAs(['bob', 'approve', 'CS-0000000A'], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(missing.code, 1);
    assert.ok(missing.stderr.startsWith(`There is no request CS-0000000A in ${databaseFile(dataDir)}.`), missing.stderr);
  });

  it('reads the request and its card from PostgreSQL when the local trial runs on it (COUNTERSIGN_STORE=postgres)', async function () {
    this.timeout(30_000);
    const db = await createTestDatabase();
    try {
      const store = await openPostgresStore({ connection: db.connection });
      const pending = requestIn('pending', { id: ID });
      await store.requests.insert(pending, []);
      await store.cards.saveCardMessage(ID, { conversationId: 'group-chat-ops', activityId: 'activity-pg' });
      await store.close();
      const env = { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port), COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: db.url };
      const run = await localAs(['bob', 'approve', ID], env);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(clicks.length, 1);
      assert.equal((clicks[0] as { replyToId?: string }).replyToId, 'activity-pg');
      const missing = await localAs(['bob', 'approve', 'CS-0000000A'], env);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /There is no request CS-0000000A in the PostgreSQL database /);
    } finally {
      await db.drop();
    }
  });

  it('says PLAYGROUND_PORT chose the port when nothing answers there', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const free = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const run = await localAs(['bob', 'approve', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(free) });
    assert.equal(run.code, 4);
    assert.match(run.stderr, new RegExp(`does not answer at http://127\\.0\\.0\\.1:${free} \\(PLAYGROUND_PORT\\)`));
  });

  it('names the trial file it looked for, and COUNTERSIGN_DATA_DIR, when no npm run local recorded itself in its data folder', async () => {
    // The Playground answers (PLAYGROUND_PORT), but this data folder is not the trial's: it holds no request.
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'countersign-local-as-other-'));
    try {
      const run = await localAs(['bob', 'approve', ID], { COUNTERSIGN_DATA_DIR: elsewhere, PLAYGROUND_PORT: String(port) });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /Cannot read the local bot's store/);
      assert.ok(run.stderr.includes(`No running npm run local is recorded in ${path.join(elsewhere, 'local-trial.json')}`), run.stderr);
      assert.ok(run.stderr.includes(`COUNTERSIGN_DATA_DIR must be the one npm run local was started with (here it is ${elsewhere}).`), run.stderr);
      assert.equal(clicks.length, 0);
      // A trial file left by a stopped npm run local is named as such.
      writeFileSync(path.join(elsewhere, 'local-trial.json'), `${JSON.stringify({ playgroundPort: port, pid: 2 ** 22 + 1 })}\n`);
      const stale = await localAs(['bob', 'approve', ID], { COUNTERSIGN_DATA_DIR: elsewhere, PLAYGROUND_PORT: String(port) });
      assert.ok(stale.stderr.includes(`${path.join(elsewhere, 'local-trial.json')} was left by an npm run local that has stopped`), stale.stderr);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('says where it looked for the trial when the Playground does not answer on the default port', async function () {
    // Only where nothing listens on the default port (a developer's own npm run local may).
    const probe = http.createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(DEFAULT_PLAYGROUND_PORT, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (!free) this.skip();
    const run = await localAs(['bob', 'approve', ID], { COUNTERSIGN_DATA_DIR: dataDir });
    assert.equal(run.code, 4);
    assert.match(run.stderr, new RegExp(`does not answer at http://127\\.0\\.0\\.1:${DEFAULT_PLAYGROUND_PORT} \\(the default port`));
    assert.ok(run.stderr.includes(`No running npm run local is recorded in ${path.join(dataDir, 'local-trial.json')}: COUNTERSIGN_DATA_DIR must be the one`), run.stderr);
  });

  it('says where to ask when the person is not in the conversation holding the card', async () => {
    answer = 'UserNotFound';
    const r = await localAs(['dave', 'approve', ID], { PLAYGROUND_PORT: String(port), COUNTERSIGN_DATA_DIR: dataDir });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /The Playground answered 400: .*UserNotFound/);
    assert.match(r.stderr, /user-dave is not in the conversation holding the request's card\. Ask for the request in a group chat they are in, where user-dave can click it, then try again\./);
  });

  it('says how to post the card again when it is not on the Playground\'s page (posted before npm run local last started)', async () => {
    answer = 'ActivityNotFound';
    const r = await localAs(['bob', 'approve', ID], { PLAYGROUND_PORT: String(port), COUNTERSIGN_DATA_DIR: dataDir });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /The request's card is not on the Playground's page: it keeps its messages in memory only, so a card posted before npm run local last started is gone\. Type "status CS-7K3M9QXW" in \*Ops\* to post it again, then run this again\./);
  });

  it('names a request id it does not hold as typed, saying a look-alike letter was read as its digit', async () => {
    const r = await localAs(['bob', 'approve', 'cs-nope1234'], { PLAYGROUND_PORT: String(port), COUNTERSIGN_DATA_DIR: dataDir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /There is no request CS-N0PE1234 \(typed CS-NOPE1234: I and L are read as 1, O as 0\) in /);
  });

  it('names a mistyped action, with the one meant', async () => {
    const run = await localAs(['bob', 'aprove', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Unknown action "aprove": did you mean approve\?/);
    assert.equal(clicks.length, 0);
    const other = await localAs(['bob', 'frobnicate', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.match(other.stderr, /Unknown action "frobnicate": it is one of approve, reject, cancel, ratify, flag\./);
  });

  it('refuses words an action does not take, naming them, and clicks nothing', async () => {
    for (const verb of ['approve', 'cancel', 'ratify']) {
      const run = await localAs(['bob', verb, ID, 'extra', 'words'], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
      assert.equal(run.code, 2, `${verb}: ${run.stderr}`);
      assert.ok(run.stderr.startsWith(`${verb} takes only a request id, not "extra words": `), run.stderr);
      assert.match(run.stderr, /\(only reject and flag take one\)\. Remove "extra words" and run it again\./);
    }
    assert.equal(clicks.length, 0);
    // reject takes the rest as its comment, as its card's comment box does.
    const run = await localAs(['bob', 'reject', ID, 'not', 'today'], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((clicks[0].value?.action as { data?: { comment?: string } }).data?.comment, 'not today');
  });

  it("clicks a break-glass card's Ratify and Flag as the person named, Flag with its comment", async () => {
    for (const verb of ['ratify', 'flag']) {
      const run = await localAs(['dave', verb, ID, ...(verb === 'flag' ? ['no', 'incident', 'open'] : [])], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^user-dave clicked ${verb} on request ${ID}: `));
    }
    assert.deepEqual(
      clicks.map((c) => [c.from?.id, c.value?.action?.verb]),
      [
        ['user-dave', 'ratify'],
        ['user-dave', 'flag'],
      ],
    );
    assert.equal((clicks[1].value?.action as { data?: { comment?: string } }).data?.comment, 'no incident open');
  });

  it('tells the card with its times as plain date and time, not as Adaptive Card expressions', async () => {
    const run = await localAs(['bob', 'reject', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /clicked reject on request CS-7K3M9QXW: the card now says REJECTED: Rejected by .+, 2026-12-05 12:27 UTC\n$/);
    assert.doesNotMatch(run.stdout, /\{\{|DATE\(|TIME\(/);
  });

  it('tells the state of a request approved to run later, with when it runs', async () => {
    const scheduled = requestIn('scheduled', { id: ID, runAt: '2026-03-07T02:00:00.000Z' });
    answerWithCardOf(scheduled);
    const run = await localAs(['bob', 'approve', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /the card now says APPROVED, SCHEDULED: Runs at 2026-03-07 02:00 UTC\n$/);
  });

  it('tells who approved a request that runs at once, as its card does, not the bare state', async () => {
    const approved = requestIn('approved', { id: ID });
    answerWithCardOf(approved);
    const run = await localAs(['bob', 'approve', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /clicked approve on request CS-7K3M9QXW: the card now says APPROVED: Approved by Bob Approver, \d{4}-\d\d-\d\d \d\d:\d\d UTC\n$/);
  });

  it('tells who ratified or flagged a break-glass use, not only its state and result', async () => {
    const use = { reason: 'INC-4711', usedAt: '2026-12-05T12:00:00.000Z', reviewDueAt: '2026-12-06T12:00:00.000Z' };
    const dave = { ...bob, name: 'Dave Approver' };
    answerWithCardOf(requestIn('succeeded', { id: ID, approvals: [], breakGlass: { ...use, review: { verdict: 'ratified', by: dave, at: '2026-12-05T12:27:00.000Z' } } }));
    const ratified = await localAs(['dave', 'ratify', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(ratified.code, 0, ratified.stderr);
    assert.match(ratified.stdout, /clicked ratify on request CS-7K3M9QXW: the card now says BREAK-GLASS · SUCCEEDED: Succeeded; BREAK-GLASS ratified by Dave Approver, 2026-12-05 12:27 UTC\n$/);
    answerWithCardOf(requestIn('succeeded', { id: ID, approvals: [], breakGlass: { ...use, review: { verdict: 'flagged', by: dave, at: '2026-12-05T12:27:00.000Z', comment: 'no incident open' } } }));
    const flagged = await localAs(['dave', 'flag', ID, 'no', 'incident', 'open'], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(flagged.code, 0, flagged.stderr);
    assert.match(flagged.stdout, /: the card now says BREAK-GLASS · SUCCEEDED: Succeeded; BREAK-GLASS FLAGGED by Dave Approver, 2026-12-05 12:27 UTC: no incident open\n$/);
  });

  it('exits 3, saying why, when the bot refuses the click with its notice on the card', async () => {
    const pending = requestIn('pending', { id: ID });
    answerWithCardOf(pending, 'You asked for request CS-7K3M9QXW, so you cannot approve it: a second person must.');
    const run = await localAs(['alice', 'approve', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(run.code, 3, run.stderr);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, `user-alice clicked approve on request ${ID}, and the bot refused it: You asked for request CS-7K3M9QXW, so you cannot approve it: a second person must. (the card now says PENDING APPROVAL)\n`);
    assert.equal(clicks.length, 1);
  });

  it('exits 3 when the bot answers with a message in place of the card', async () => {
    answer = { statusCode: 200, type: MESSAGE_RESPONSE, value: 'There is no request CS-7K3M9QXW.' };
    const run = await localAs(['bob', 'approve', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /and the bot refused it: There is no request CS-7K3M9QXW\.\n$/);
  });

  it('exits 4 when the Playground answers that it could not reach the bot', async () => {
    answer = 'BotDown';
    const run = await localAs(['bob', 'approve', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /^The Playground answered 502: .*ECONNREFUSED.*\nIt could not get an answer from the bot: is npm run local still running/);
    assert.equal(run.stdout, '');
  });

  it('exits 1 when the answer is no card and no message, whatever it is', async () => {
    answer = { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: { type: 'AdaptiveCard', body: [] } };
    const run = await localAs(['bob', 'approve', ID], { COUNTERSIGN_DATA_DIR: dataDir, PLAYGROUND_PORT: String(port) });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /the bot's answer could not be read: it is a card that has no state/);
  });
});
