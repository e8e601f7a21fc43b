/**
 * Countersign in its own process (`node --import tsx src/main.ts`), killed and started again on the
 * same data directory, against an ARM sandbox and a fake Bot Connector that live in the test process
 * and so outlive every bot process.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ApprovalRequest } from '../../src/domain/request';
import type { AuditRecord } from '../../src/domain/audit';
import type { ArmSandbox } from '../../src/sandbox';
import { databaseFile } from '../../src/settings';
import { cardActions, cardOf, FakeConnector } from '../support/connector';
import { EXAMPLE_CONFIG } from '../support/people';
import { startTestSandbox } from '../support/sandbox';
import { eventually, opsChannel, people, TeamsDriver } from '../support/teams';
import { launchCountersign, spawnCountersign, type CountersignProcess } from '../ops/child';

/** Short enough that a restarted bot resumes within seconds; long enough to be renewed under load. */
const LEASE = '1500ms';

export class CrashRig {
  bot: CountersignProcess | undefined;
  teams: TeamsDriver | undefined;
  readonly caFile: string;

  private constructor(
    readonly sandbox: ArmSandbox,
    readonly connector: FakeConnector,
    readonly dataDir: string,
  ) {
    this.caFile = path.join(dataDir, 'sandbox-ca.pem');
    fs.writeFileSync(this.caFile, sandbox.caPem);
  }

  static async create(): Promise<CrashRig> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-crash-'));
    // ARM asks to be polled every second, as Azure does.
    const sandbox = await startTestSandbox({ timing: { deploymentStepMs: 20, operationMs: 20, retryAfterSeconds: 1 } });
    const connector = await new FakeConnector().start();
    return new CrashRig(sandbox, connector, dataDir);
  }

  /** Starts a bot process on the rig's data directory. */
  async start(): Promise<void> {
    this.bot = await spawnCountersign(this.env());
    this.teams = new TeamsDriver(this.bot.url, this.connector);
  }

  /** Starts a bot process, not waiting for it to listen; `more` overrides the rig's settings. */
  launch(more: Record<string, string> = {}): CountersignProcess {
    this.bot = launchCountersign({ ...this.env(), ...more });
    return this.bot;
  }

  private env(): Record<string, string> {
    return {
      COUNTERSIGN_DATA_DIR: this.dataDir,
      COUNTERSIGN_CONFIG: EXAMPLE_CONFIG,
      COUNTERSIGN_EXECUTION_LEASE: LEASE,
      ARM_SANDBOX_URL: this.sandbox.url,
      ARM_SANDBOX_CA_FILE: this.caFile,
      ARM_SANDBOX_SUBSCRIPTION_ID: this.sandbox.subscriptionId,
      LOG_LEVEL: 'info',
    };
  }

  /** SIGKILL: no shutdown code runs, nothing is flushed or released. */
  async kill(): Promise<void> {
    const bot = this.bot;
    assert.ok(bot, 'a bot is running');
    bot.child.kill('SIGKILL');
    const exit = await bot.exited;
    assert.equal(exit.signal, 'SIGKILL');
    this.bot = undefined;
  }

  async stop(): Promise<void> {
    const bot = this.bot;
    if (!bot) return;
    bot.child.kill('SIGTERM');
    await bot.exited;
    this.bot = undefined;
  }

  async close(): Promise<void> {
    this.bot?.kill();
    await this.bot?.exited;
    await this.connector.stop();
    await this.sandbox.close();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Types a command that needs approval; returns the request id and its card's activity id. */
  async ask(text: string): Promise<{ requestId: string; cardId: string }> {
    const teams = this.teams!;
    const from = await teams.say(people.alice, text);
    // The card in the channel where she asked, not one an approver is sent in a personal chat.
    const posted = teams.since(from).find((s) => s.conversationId === opsChannel.id && cardActions(cardOf(s.activity)).length > 0);
    assert.ok(posted, `a request card for "${text}": ${JSON.stringify(teams.since(from).map((s) => s.activity.text))}`);
    const requestId = cardActions(this.connector.card(posted.id))[0].data.requestId as string;
    return { requestId, cardId: posted.id };
  }

  async approve(cardId: string): Promise<void> {
    const answer = await this.teams!.click(people.bob, cardId, 'approve');
    assert.equal(answer.status, 200);
  }

  /** The request as the database holds it, read without disturbing the bot. */
  request(requestId: string): ApprovalRequest | undefined {
    return this.read((db) => {
      const body = db.prepare('SELECT body FROM requests WHERE id = ?').pluck().get(requestId) as string | undefined;
      return body === undefined ? undefined : (JSON.parse(body) as ApprovalRequest);
    });
  }

  audit(requestId: string): AuditRecord[] {
    return this.read((db) =>
      (db.prepare('SELECT record FROM audit_log WHERE request_id = ? ORDER BY seq').pluck().all(requestId) as string[]).map((r) => JSON.parse(r) as AuditRecord),
    );
  }

  /** Every audit record, in order. */
  auditAll(): AuditRecord[] {
    return this.read((db) => (db.prepare('SELECT record FROM audit_log ORDER BY seq').pluck().all() as string[]).map((r) => JSON.parse(r) as AuditRecord));
  }

  /** Waits until the request is in one of the states. */
  async until(requestId: string, states: ApprovalRequest['state'][], timeoutMs = 40000): Promise<ApprovalRequest> {
    return eventually(`request ${requestId} in ${states.join('|')}`, () => {
      const r = this.request(requestId);
      return r && states.includes(r.state) ? r : undefined;
    }, timeoutMs);
  }

  /** Writes (PUT, PATCH, DELETE, POST) ARM answered whose path ends with `pathEnd`. */
  writes(pathEnd: string): string[] {
    return this.sandbox.requests
      .filter((r) => r.method !== 'GET' && r.method !== 'HEAD' && r.path.toLowerCase().endsWith(pathEnd.toLowerCase()))
      .map((r) => `${r.method} ${r.status}`);
  }

  /** The newest version of a request's card in the channel. */
  card(cardId: string): Record<string, unknown> | undefined {
    return this.connector.card(cardId);
  }

  texts(): string[] {
    return this.connector.texts(opsChannel.id);
  }

  private read<T>(fn: (db: Database.Database) => T): T {
    const db = new Database(databaseFile(this.dataDir), { readonly: true, fileMustExist: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }
}
