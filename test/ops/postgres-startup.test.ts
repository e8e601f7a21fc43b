/** Starting Countersign on PostgreSQL through the settings: /readyz names the store; a bad database stops startup. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { Writable } from 'node:stream';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/log/logger';
import { startCountersign, StartupError } from '../../src/composition-root';
import { readSettings } from '../../src/settings';
import { EXAMPLE_CONFIG } from '../support/harness';
import { createTestDatabase } from '../support/postgres';
import type { TestDatabase } from '../support/postgres';
import { cardActions, cardOf, cardText, FakeConnector } from '../support/connector';
import { gatewayFor, startTestSandbox } from '../support/sandbox';
import { people, TeamsDriver, type Conversation } from '../support/teams';

describe('starting on PostgreSQL', function () {
  this.timeout(30_000);
  let db: TestDatabase;
  let dataDir: string;
  // One database and one data directory (its signing key) for the suite, as instances share them: a
  // data directory without the key that signed the database's checkpoints is refused at start.
  before(async () => {
    db = await createTestDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-pg-'));
  });
  after(async () => {
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (env: NodeJS.ProcessEnv, existing?: Awaited<ReturnType<typeof startTestSandbox>>, logLines?: Record<string, unknown>[]) => {
    const sandbox = existing ?? (await startTestSandbox());
    const settings = readSettings({ PORT: '0', COUNTERSIGN_DATA_DIR: dataDir, ...env });
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (logLines?.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) });
    const log = createLogger(logLines ? 'info' : 'silent', sink, { secrets: [] });
    try {
      return { bot: await startCountersign({ settings, config: loadConfig(EXAMPLE_CONFIG), azure: gatewayFor(sandbox), log }), sandbox };
    } catch (err) {
      if (!existing) await sandbox.close();
      throw err;
    }
  };

  it('keeps the audit trail in the database, and /readyz says ready without naming the store', async () => {
    const { bot, sandbox } = await start({ COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: db.url });
    try {
      const res = await fetch(`${bot.url}/readyz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ready', config: true, store: true });
      const c = await db.superuser();
      const rows = await c.query("SELECT type FROM audit_log WHERE type = 'config.loaded'");
      await c.end();
      assert.equal(rows.rowCount, 1);
      assert.equal(fs.existsSync(path.join(dataDir, 'countersign.db')), false, 'no SQLite file beside it');
    } finally {
      await bot.stop();
      await sandbox.close();
    }
  });

  it('lets a form started on one instance be finished on another', async () => {
    const pgEnv = { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: db.url };
    const a = await start(pgEnv);
    const b = await start(pgEnv, a.sandbox);
    const connector = await new FakeConnector().start();
    try {
      const alice: Conversation = { id: 'a:personal-alice', conversationType: 'personal' };
      const [onA, onB] = [new TeamsDriver(a.bot.url, connector), new TeamsDriver(b.bot.url, connector)];
      const lastCard = (driver: TeamsDriver, from: number) => driver.since(from).map((x) => cardOf(x.activity)).filter(Boolean).at(-1);
      let from = await onA.say(people.alice, 'deploy production', alice);
      assert.match(cardText(lastCard(onA, from)), /Complete your request: deploy/);
      from = await onB.say(people.alice, '', alice, { countersign: 'form', command: 'deploy', 'param.environment': 'staging', 'param.service': 'api-service', reason: 'canary' });
      assert.match(cardText(lastCard(onB, from)), /Ask for this\?[\s\S]*deploy staging api-service/);
      from = await onA.say(people.alice, '', alice, { countersign: 'confirm', command: 'deploy' });
      // The request's card (the confirmation itself is updated to say which request it created).
      const card = onA.since(from).map((x) => cardOf(x.activity)).filter((c) => cardActions(c).some((a) => a.data.requestId)).at(-1);
      assert.match(cardText(card), /PENDING APPROVAL[\s\S]*staging-api-service/);
      const requestId = cardActions(card)[0].data.requestId as string;
      assert.equal((await b.bot.deps.store.requests.get(requestId))?.reason, 'canary');
    } finally {
      await a.bot.stop();
      await b.bot.stop();
      await connector.stop();
      await a.sandbox.close();
    }
  });

  it('warns at start when the connection crosses the network without TLS (PGSSLMODE unset), not on loopback', async function () {
    // A non-loopback address of this machine, forwarded to the test server (which listens on loopback).
    const address = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!address) this.skip();
    const server = new URL(db.url);
    const forwarder = net.createServer((socket) => {
      const upstream = net.connect(Number(server.port || 5432), server.hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => forwarder.listen(0, address, resolve));
    // A database (and signing key) of its own: the requests the tests above left would keep the stops waiting on Teams.
    const own = await createTestDatabase();
    const ownDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-pg-'));
    const remote = new URL(own.url);
    remote.hostname = address!;
    remote.port = String((forwarder.address() as net.AddressInfo).port);
    const warningsOf = async (url: string) => {
      const lines: Record<string, unknown>[] = [];
      const { bot, sandbox } = await start({ COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: url, COUNTERSIGN_DATA_DIR: ownDir }, undefined, lines);
      await bot.stop();
      await sandbox.close();
      return lines.filter((l) => /PostgreSQL connection .* is not encrypted/.test(String(l.msg)));
    };
    try {
      const [warning] = await warningsOf(remote.toString());
      assert.equal(warning?.host, address);
      assert.match(String(warning?.msg), new RegExp(`^the PostgreSQL connection to ${address!.replace(/\./g, '\\.')} is not encrypted: .*set PGSSLMODE=verify-full$`));
      assert.deepEqual(await warningsOf(own.url), [], 'none on loopback');
    } finally {
      forwarder.close();
      await own.drop();
      fs.rmSync(ownDir, { recursive: true, force: true });
    }
  });

  it('refuses to start on an unreachable server, saying which and what to check', async () => {
    await assert.rejects(
      start({ COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/countersign' }),
      (err: Error) => err instanceof StartupError && /PostgreSQL store cannot be used: PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/countersign is unreachable/.test(err.message),
    );
  });

  it('refuses to start on a database that does not exist', async () => {
    await assert.rejects(
      start({ COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: db.url.replace(db.name, 'countersign_nowhere') }),
      /database "countersign_nowhere" does not exist .*create it/,
    );
  });
});
