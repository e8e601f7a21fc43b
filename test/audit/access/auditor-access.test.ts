/**
 * Auditor access end to end, on the real bot over HTTP: `audit export` in Teams answered with a
 * single-use signed link, the download and its manifest, the export API with Entra ID tokens (a
 * local key set), refusals of every kind recorded, and activities failing Bot Framework
 * authentication recorded without their token.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import Database from 'better-sqlite3';
import { SignJWT, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { REFUSAL_BUDGET } from '../../../src/app/refusal-budget';
import { CSV_COLUMNS } from '../../../src/audit/formats/csv-columns';
import { readCsv } from '../../../src/audit/formats/csv-reader';
import { fastCanonicalJson } from '../../../src/audit/chain/seal-json-fast';
import { verifyChain } from '../../../src/audit/verify/verify';
import { parseManifest } from '../../../src/audit/access/manifest';
import { loadPublicKey } from '../../../src/audit/access/signing';
import { verifyExportFile } from '../../../src/audit/verify/verify-export';
import type { AuditRecord } from '../../../src/domain/audit';
import { auditOf, requestVia } from '../../support/flows';
import { EXAMPLE_CONFIG, startHarness, type Harness } from '../../support/harness';
import { TENANT, eventually, people, shown, type Conversation, type Person } from '../../support/teams';
import { collect } from '../../store/store-contract';
import { loadConfig, parseConfig } from '../../../src/config/load';
import { tempDir } from '../../store/fixtures';
import { AUDIENCE, auditApiConfig, ISSUER, ROLE, testSigningKey } from './audit-api-setup';
import { databaseFile } from '../../../src/settings';
import { indexesLeavingOut } from '../../store/index-tamper';

/** The client application auditors get their access tokens with. */
const CLIENT = '3a8f0c1e-5b2d-4e6f-9a7b-1c2d3e4f5a6b';

const personal = (p: Person): Conversation => ({ id: `a:personal-${p.id}`, conversationType: 'personal' });
const DAY = 24 * 3600 * 1000;

async function say(h: Harness, who: Person, text: string, conversation = personal(who)): Promise<string> {
  const from = await h.teams.say(who, text, conversation);
  const replies = h.teams.since(from).map((s) => s.activity.text).filter((t): t is string => typeof t === 'string');
  assert.equal(replies.length, 1, `one reply expected, got ${JSON.stringify(replies)}`);
  return shown(replies[0]);
}

function linkIn(reply: string): string {
  const m = /\[download it\]\((http[^)\s]+)\)/.exec(reply);
  assert.ok(m, `no download link in: ${reply}`);
  return m[1];
}

function windowAround(h: Harness): { from: string; to: string } {
  const now = h.clock.now().getTime();
  return { from: new Date(now - DAY).toISOString(), to: new Date(now + DAY).toISOString() };
}

async function refusals(h: Harness): Promise<AuditRecord[]> {
  return auditOf(h, { types: ['audit.export_refused'] });
}

/** Every audit record, as text: where a secret must never appear. */
async function everything(h: Harness): Promise<string> {
  return (await auditOf(h)).map((r) => JSON.stringify(r)).join('\n');
}

describe('auditor access from Teams (bot over HTTP)', function () {
  this.timeout(30000);
  let h: Harness;
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    h = await startHarness();
    tmp = tempDir();
  });
  afterEach(async () => {
    await h.stop();
    tmp.remove();
  });

  it('names the export\'s range and the link\'s expiry in the zone the auditor\'s message came with, the exact UTC instant beside each', async () => {
    const from = h.teams.connector.sent.length;
    const res = await h.teams.post(h.teams.activity(people.erin, personal(people.erin), { type: 'message', text: 'audit export 2026-11-01 2026-11-03T12:30:15.250Z jsonl', localTimezone: 'Europe/Berlin' }));
    assert.equal(res.status, 200);
    const [reply] = h.teams.since(from).map((s) => shown(String(s.activity.text)));
    assert.match(reply, /records from 2026-11-01 01:00 Europe\/Berlin \(2026-11-01T00:00:00\.000Z\) \(included\) until 2026-11-03 13:30:15 Europe\/Berlin \(2026-11-03T12:30:15\.250Z\) \(not included\)\) is ready/);
    assert.match(reply, /The link works once, until \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? Europe\/Berlin \(\S+Z\) \(15 minutes\)/);
    const [issued] = await auditOf(h, { types: ['audit.export_link_issued'] });
    assert.match(issued.outcome.detail ?? '', /^jsonl export of 2026-11-01T00:00:00\.000Z to 2026-11-03T12:30:15\.250Z, link valid until \S+Z$/, 'the record keeps the UTC instants');
  });

  it('gives an auditor a single-use link whose CSV parses into the records, formulas escaped, with a manifest that verifies', async () => {
    await requestVia(h, 'deploy production api-service reason: =HYPERLINK("http://evil.example","click me")');
    const { from, to } = windowAround(h);
    const reply = await say(h, people.erin, `audit export ${from} ${to} csv`);
    assert.match(reply, /^\[SANDBOX\] Your audit export \(CSV, records from \S+ \(included\) until \S+ \(not included\)\) is ready/);
    assert.match(reply, /The link works once, until .* \(15 minutes\)/);
    assert.match(reply, /After the download, its signed manifest is \[here\]\(\S+\/manifest\), for 24 hours\./);
    const url = linkIn(reply);
    assert.ok(url.startsWith(h.bot.url), `the link names the bot's own address: ${url}`);
    // Where the key that checks them comes from, not only its id: an auditor has no data directory.
    const key = /Check both offline with the audit public key, \[here\]\((\S+)\) \(key id (\w+)\): countersign audit verify --file <export> --manifest <manifest> --public-key <key>\./.exec(reply);
    assert.ok(key, `no link to the public key in: ${reply}`);
    const keyRes = await fetch(key[1]);
    assert.equal(keyRes.status, 200);
    assert.equal(keyRes.headers.get('x-countersign-key-id'), key[2]);
    assert.match(await keyRes.text(), /^-----BEGIN PUBLIC KEY-----/);

    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="countersign-audit-.*\.csv"/);
    assert.equal(res.headers.get('link'), `<${url}/manifest>; rel="describedby"`);
    const body = await res.text();
    const file = path.join(tmp.dir, 'export.csv');
    fs.writeFileSync(file, body);

    const rows = parse(body, { columns: true, relax_quotes: true }) as Record<string, string>[];
    for (const row of rows) for (const cell of Object.values(row)) assert.doesNotMatch(cell, /^[=+\-@\t\r]/, `a spreadsheet would run ${JSON.stringify(cell)}`);
    const created = rows.find((r) => r.type === 'request.created')!;
    assert.equal(created.request_reason, `'=HYPERLINK("http://evil.example","click me")`);
    assert.deepEqual(Object.keys(rows[0]), [...CSV_COLUMNS]);

    const manifestRes = await fetch(`${url}/manifest`);
    assert.equal(manifestRes.status, 200);
    const manifest = parseManifest(await manifestRes.text(), 'manifest');
    const stored = (await auditOf(h, { from, to })).filter((r) => r.seq <= manifest.lastSeq);
    const parsed = await collect(readCsv(file));
    assert.equal(fastCanonicalJson(parsed), fastCanonicalJson(stored), 'the CSV reads back as exactly the stored records');
    const v = await verifyExportFile(file, { format: 'csv', manifest, verifier: loadPublicKey(h.dataDir) });
    assert.deepEqual(v.problems, []);

    const [issued] = await auditOf(h, { types: ['audit.export_link_issued'] });
    assert.equal(issued.actor?.aadObjectId, people.erin.aadObjectId);
    assert.equal(issued.source?.conversationType, 'personal');
    const [exported] = await auditOf(h, { types: ['audit.exported'] });
    assert.equal(exported.actor?.aadObjectId, people.erin.aadObjectId);
    assert.deepEqual(exported.data?.manifest, manifest);
    assert.equal(exported.data?.via, 'teams-link');
    // Its start was recorded before the first byte went out: who, what, the same export.
    const [started] = await auditOf(h, { types: ['audit.export_started'] });
    assert.equal(started.actor?.aadObjectId, people.erin.aadObjectId);
    assert.deepEqual([started.data?.exportId, started.data?.via, started.data?.format], [manifest.exportId, 'teams-link', 'csv']);
    assert.ok(started.seq < exported.seq && started.seq <= manifest.lastSeq, 'recorded before the export read its records');
    assert.equal((await verifyChain(h.bot.deps.store.audit.read())).ok, true);
  });

  /** Erin's download of the last day's records in `format`, with its manifest, verified against it. */
  async function downloadAndVerify(format: 'jsonl' | 'csv'): Promise<{ manifest: ReturnType<typeof parseManifest>; v: Awaited<ReturnType<typeof verifyExportFile>> }> {
    const { from, to } = windowAround(h);
    const url = linkIn(await say(h, people.erin, `audit export ${from} ${to} ${format}`));
    const res = await fetch(url);
    assert.equal(res.status, 200);
    const file = path.join(tmp.dir, `export.${format}`);
    fs.writeFileSync(file, await res.text());
    const manifest = parseManifest(await (await fetch(`${url}/manifest`)).text(), 'manifest');
    return { manifest, v: await verifyExportFile(file, { format, manifest, verifier: loadPublicKey(h.dataDir) }) };
  }

  it('tells of a record deleted inside the window of a download: the log says AUDIT LOG DAMAGED, the audit.exported record says what is missing, and the download does not verify', async () => {
    await requestVia(h, 'delete resource group staging-old');
    const before = await auditOf(h);
    const victim = before[Math.floor(before.length / 2)].seq;
    // Someone who can write the database deletes a record, the append-only trigger dropped and made again.
    const db = new Database(databaseFile(h.dataDir));
    db.exec(`DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = ${victim};
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`);
    db.close();
    const { v } = await downloadAndVerify('jsonl');
    assert.deepEqual(v.problems.map((p) => p.kind), ['deleted']);
    assert.match(v.problems[0].message, /1 record\(s\) were missing from the log it was made from/);
    const [exported] = await auditOf(h, { types: ['audit.exported'] });
    assert.match(String(exported.data?.logDamaged), /1 record\(s\) were missing from the log it was made from/);
    assert.match(exported.outcome.detail ?? '', /AUDIT LOG DAMAGED/);
    assert.ok(h.logs.some((l) => l.level === 50 && /^AUDIT LOG DAMAGED: /.test(String(l.msg))), 'the log says so');
  });

  it('tells of a record stored altered, its hash unchanged, in a CSV download: the log says AUDIT LOG DAMAGED, the manifest and the audit.exported record name it, and the download does not verify', async () => {
    await requestVia(h, 'delete resource group staging-old');
    const [created] = await auditOf(h, { types: ['request.created'] });
    // Someone who can write the database puts a forged actor before the real one: JSON.parse keeps
    // the last (the hash still checks), SQLite's json_extract the first.
    const db = new Database(databaseFile(h.dataDir));
    db.exec(`DROP TRIGGER audit_log_no_update; UPDATE audit_log SET record = replace(record, '{"actor":', '{"actor":{"name":"Mallory"},"actor":') WHERE seq = ${created.seq};
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`);
    db.close();
    const { manifest, v } = await downloadAndVerify('csv');
    const altered = new RegExp(`1 record\\(s\\) \\(seq ${created.seq}\\) are stored in the log as text that is not the canonical form they were sealed in`);
    assert.match(String(manifest.logDamage), altered);
    assert.deepEqual(v.problems.map((p) => p.kind), ['log-damaged']);
    const [exported] = await auditOf(h, { types: ['audit.exported'] });
    assert.match(String(exported.data?.logDamaged), altered);
    assert.match(exported.outcome.detail ?? '', /AUDIT LOG DAMAGED: records were stored altered in the log/);
    assert.ok(h.logs.some((l) => l.level === 50 && /^AUDIT LOG DAMAGED: 1 record\(s\) \(seq \d+\) are stored in the log as text that is not the canonical form/.test(String(l.msg))), 'the log says so');
  });

  it('refuses a link used a second time, and records it', async () => {
    const { from, to } = windowAround(h);
    const url = linkIn(await say(h, people.erin, `audit export ${from} ${to} jsonl`));
    assert.equal((await fetch(url)).status, 200);
    const again = await fetch(url);
    assert.equal(again.status, 410);
    assert.match(((await again.json()) as { error: string }).error, /This download link was already used \(at .*\); each link works once/);
    const [refused] = await refusals(h);
    assert.equal(refused.outcome.reason, 'link-reused');
    assert.deepEqual((refused.data?.linkRequestedBy as { aadObjectId: string }).aadObjectId, people.erin.aadObjectId);
    const token = url.split('/').pop()!;
    assert.ok(!(await everything(h)).includes(token), 'the link itself is never recorded');
    assert.ok(!JSON.stringify(h.logs).includes(token), 'nor logged');
    assert.ok(h.logs.some((l) => l.path === '/api/audit/download/[token]'), 'its requests are logged without it');
  });

  it('logs no token of a link asked for at a path no route takes exactly (doubled slashes, other letter case, percent-encoded), which leaves it working', async () => {
    const { from, to } = windowAround(h);
    const url = linkIn(await say(h, people.erin, `audit export ${from} ${to} jsonl`));
    const token = url.split('/').pop()!;
    const secret = token.split('.')[1];
    const misses = [
      url.replace('/download/', '/download//'),
      url.replace('/api/', '/Api/'),
      url.replace('/api/audit/', '/api//audit/'),
      `${url.replace('/api/', '/API/')}/manifest`,
      url.replace(token, token.replace(/\./g, '%2E')).replace('/download/', '/Download/'),
    ];
    for (const miss of misses) assert.equal((await fetch(miss)).status, 404, miss);
    const lines = JSON.stringify(h.logs);
    assert.ok(!lines.includes(secret) && !lines.includes(token.split('.')[2]), `a log line holds the token:\n${h.logs.map((l) => JSON.stringify(l)).filter((l) => l.includes(secret)).join('\n')}`);
    assert.ok(h.logs.some((l) => l.msg === 'http request' && l.path === '/api/audit/download//[token]' && l.status === 404), 'the request line names the path without it');
    assert.ok(h.logs.some((l) => l.msg === 'http error' && l.path === '/Api/audit/download/[token]'), 'so does the 404');
    // What the log would have given away: the link was not used by any of those.
    assert.equal((await fetch(url)).status, 200);
  });

  it('refuses a link whose holder lost the auditor role since it was issued (a new config), and records it', async () => {
    await h.stop();
    const config = loadConfig(EXAMPLE_CONFIG);
    h = await startHarness({ config });
    const { from, to } = windowAround(h);
    const url = linkIn(await say(h, people.erin, `audit export ${from} ${to} jsonl`));
    // The config the bot runs under no longer names an auditor role Erin holds (as after a restart with a new config).
    const roles = config.auditorRoles.splice(0, config.auditorRoles.length, 'platform-approvers');
    try {
      const res = await fetch(url);
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { error: string }).error, /^The person who asked for this download link no longer holds an auditor role/);
      const [refused] = await refusals(h);
      assert.equal(refused.outcome.reason, 'not-an-auditor');
      assert.match(String(refused.outcome.detail), /^Erin Auditor \(.*\), who asked for the link, no longer holds an auditor role \(platform-approvers\)$/);
    } finally {
      config.auditorRoles.splice(0, config.auditorRoles.length, ...roles);
    }
  });

  it('serves a download\'s manifest for 24 hours after its link was issued, then refuses it (410) and records it: the link is a bearer URL', async () => {
    const { from, to } = windowAround(h);
    const url = linkIn(await say(h, people.erin, `audit export ${from} ${to} jsonl`));
    assert.equal((await fetch(url)).status, 200);
    h.clock.advance(24 * 3600 * 1000 - 60_000);
    assert.equal((await fetch(`${url}/manifest`)).status, 200, 'still served within the day');
    h.clock.advance(60_000);
    const res = await fetch(`${url}/manifest`);
    assert.equal(res.status, 410);
    assert.match(((await res.json()) as { error: string }).error, /^This download's manifest was served until \S+Z \(24 hours after its link was issued\)\. Its audit\.exported record keeps it/);
    const [refused] = await refusals(h);
    assert.equal(refused.outcome.reason, 'link-expired');
    assert.match(refused.outcome.detail ?? '', /^the manifest of the link's download was asked for after \S+Z/);
    assert.equal((refused.data?.linkRequestedBy as { aadObjectId: string }).aadObjectId, people.erin.aadObjectId);
  });

  it('refuses a download\'s manifest once its link\'s holder lost the auditor role (403), and records it', async () => {
    await h.stop();
    const config = loadConfig(EXAMPLE_CONFIG);
    h = await startHarness({ config });
    const { from, to } = windowAround(h);
    const url = linkIn(await say(h, people.erin, `audit export ${from} ${to} jsonl`));
    assert.equal((await fetch(url)).status, 200);
    const roles = config.auditorRoles.splice(0, config.auditorRoles.length, 'platform-approvers');
    try {
      const res = await fetch(`${url}/manifest`);
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { error: string }).error, /^The person who asked for this download link no longer holds an auditor role/);
      const [refused] = await refusals(h);
      assert.equal(refused.outcome.reason, 'not-an-auditor');
      assert.match(String(refused.outcome.detail), /manifest/);
    } finally {
      config.auditorRoles.splice(0, config.auditorRoles.length, ...roles);
    }
  });

  it('refuses a link after 15 minutes, and records it', async () => {
    const { from, to } = windowAround(h);
    const url = linkIn(await say(h, people.erin, `audit export ${from} ${to}`));
    h.clock.advance(15 * 60 * 1000 + 1000);
    const res = await fetch(url);
    assert.equal(res.status, 410);
    assert.match(((await res.json()) as { error: string }).error, /This download link expired at/);
    const [refused] = await refusals(h);
    assert.equal(refused.outcome.reason, 'link-expired');
    assert.equal((refused.data?.linkRequestedBy as { aadObjectId: string }).aadObjectId, people.erin.aadObjectId);
  });

  it('refuses a forged link, and records it', async () => {
    const { from, to } = windowAround(h);
    const url = linkIn(await say(h, people.erin, `audit export ${from} ${to}`));
    const forged = url.replace(/download\/(\d+)\./, (_m, exp: string) => `download/${Number(exp) + 3600}.`);
    const res = await fetch(forged);
    assert.equal(res.status, 404);
    const [refused] = await refusals(h);
    assert.equal(refused.outcome.reason, 'link-invalid');
    assert.match(refused.outcome.detail ?? '', /not signed by this Countersign/);
    assert.equal((await fetch(url)).status, 200, 'the real link still works');
  });

  it('refuses a link whose signature is spelt another way (the spare bits of its last character changed), without using up the real one', async () => {
    const { from, to } = windowAround(h);
    const url = linkIn(await say(h, people.erin, `audit export ${from} ${to}`));
    // The signature's last character carries spare low bits the decoder ignores: change only those.
    const last = url.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const i = alphabet.indexOf(last);
    const twin = alphabet[(i & ~3) | ((i + 1) & 3)];
    const signature = url.split('.').at(-1)!;
    assert.ok(Buffer.from(signature.slice(0, -1) + twin, 'base64url').equals(Buffer.from(signature, 'base64url')), 'the twin decodes to the same bytes');
    const res = await fetch(url.slice(0, -1) + twin);
    assert.equal(res.status, 404);
    // Nor with a leading zero on its expiry, which reads as the same number.
    assert.equal((await fetch(url.replace(/download\/(\d+)\./, 'download/0$1.'))).status, 404);
    const [refused] = await refusals(h);
    assert.equal(refused.outcome.reason, 'link-invalid');
    assert.equal((await fetch(url)).status, 200, 'the real link still works');
  });

  it('records links that do not check out one by one up to the budget a minute, then as one count', async () => {
    const budget = { ...REFUSAL_BUDGET };
    Object.assign(REFUSAL_BUDGET, { perMinute: 3, windowMs: 300 });
    try {
      const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${h.bot.url}/api/audit/download/garbage-${i}`).then((r) => r.status)));
      assert.deepEqual(new Set(statuses), new Set([404]));
      // The count is recorded when the (here shortened) minute is over.
      const records = await eventually('the count is recorded', async () => ((await refusals(h)).length === 4 ? refusals(h) : undefined), 5000);
      assert.deepEqual(records.map((r) => r.outcome.reason), ['link-invalid', 'link-invalid', 'link-invalid', 'repeated']);
      assert.deepEqual((records[3].data?.repeated as { count: number; reasons: unknown }).count, 17);
      assert.deepEqual((records[3].data?.repeated as { reasons: unknown }).reasons, { 'link-invalid': 17 });
      assert.equal(records[3].data?.via, 'teams-link');
      assert.match(records[3].outcome.detail ?? '', /^Audit export refused: 17 more from .* \(at most 3 a minute are\): link-invalid 17; from 1 address$/);
    } finally {
      Object.assign(REFUSAL_BUDGET, budget);
    }
  });

  it('refuses the export to anyone without the auditor role, clearly, and records it', async () => {
    const { from, to } = windowAround(h);
    for (const who of [people.carol, people.bob]) {
      const reply = await say(h, who, `audit export ${from} ${to} csv`);
      assert.equal(reply, '[SANDBOX] Only auditors can export the audit trail (it needs the role "auditors"). This attempt was recorded.');
    }
    const refused = await refusals(h);
    assert.deepEqual(
      refused.map((r) => [r.actor?.aadObjectId, r.outcome.reason]),
      [
        [people.carol.aadObjectId, 'not-an-auditor'],
        [people.bob.aadObjectId, 'not-an-auditor'],
      ],
    );
    assert.equal((await auditOf(h, { types: ['audit.export_link_issued'] })).length, 0);
  });

  it('will not post a link in a channel, where anyone there could use it, and answers everyone there alike (no word on roles)', async () => {
    const { from, to } = windowAround(h);
    const channel = { id: '19:audit@thread.tacv2', conversationType: 'channel' } as const;
    const auditor = await say(h, people.erin, `audit export ${from} ${to}`, channel);
    const nobody = await say(h, people.carol, `audit export ${from} ${to}`, channel);
    assert.equal(auditor, '[SANDBOX] Audit exports are done in a personal chat with Countersign.');
    assert.equal(nobody, auditor);
    assert.deepEqual((await refusals(h)).map((r) => r.outcome.reason), ['not-personal-chat', 'not-personal-chat']);
  });

  it('answers a malformed command with its usage', async () => {
    assert.match(await say(h, people.erin, 'audit export yesterday'), /^\[SANDBOX\] <to> is missing\. Usage: audit export <from> <to> \[csv\|jsonl\|ocsf\]/);
    assert.match(await say(h, people.erin, 'audit export 2026-11-01 2026-11-02 csv extra'), /^\[SANDBOX\] Unexpected words after the format: "extra"\. Usage: audit export/);
    assert.match(await say(h, people.erin, 'audit export 2026-11-02 2026-11-01'), /<from> \(2026-11-02T00:00:00.000Z\) must be before <to>/);
    assert.match(await say(h, people.erin, 'audit export 2026-11-01 2026-11-02 xlsx'), /"xlsx" is not an export format/);
    // A date and its time typed as two words: said so, not "unexpected words" or "not a date" about the time alone.
    assert.match(await say(h, people.erin, 'audit export 2026-11-01 10:00 2026-11-02 9:30Z csv'), /^\[SANDBOX\] "2026-11-01 10:00" is a date and a time as two words: write them as one, joined by T \(2026-11-01T10:00\)\. Usage: audit export/);
    assert.match(await say(h, people.erin, 'audit export 2026-11-01T10:00 2026-11-02 9:30Z'), /^\[SANDBOX\] "2026-11-02 9:30Z" is a date and a time as two words: write them as one, joined by T \(2026-11-02T09:30Z\)\./);
    // The times introduced with "from" and "to": said so, not "unexpected words after the format" about the second time.
    assert.match(await say(h, people.erin, 'audit export from 2026-11-01 to 2026-11-02 jsonl'), /^\[SANDBOX\] Type the two times alone, without "from" or "to": audit export 2026-11-01 2026-11-02 jsonl\. Usage: audit export/);
    assert.match(await say(h, people.erin, 'audit export 2026-11-01 until 2026-11-02'), /^\[SANDBOX\] Type the two times alone, without "until": audit export 2026-11-01 2026-11-02\. Usage: audit export/);
    assert.deepEqual((await refusals(h)).map((r) => r.outcome.reason), ['invalid-arguments', 'invalid-arguments', 'invalid-arguments', 'invalid-arguments', 'invalid-arguments', 'invalid-arguments', 'invalid-arguments', 'invalid-arguments']);
  });

  it('names what is wrong with "audit" followed by something other than export: a slip, a CLI command, anything else', async () => {
    assert.match(await say(h, people.erin, 'audit exprot 2026-11-01 2026-11-02'), /^\[SANDBOX\] "audit exprot" is not a command: did you mean "audit export"\? Usage: audit export/);
    assert.match(await say(h, people.erin, 'audit verify'), /^\[SANDBOX\] "audit verify" is not done in Teams: it is the countersign command's \(countersign audit verify, see docs\/cli\.md\)/);
    assert.match(await say(h, people.erin, 'audit everything'), /^\[SANDBOX\] "audit everything" is not a command: in Teams, "audit" takes only "export"\. Usage: audit export/);
    assert.match(await say(h, people.erin, 'audit'), /^\[SANDBOX\] Usage: audit export/);
    assert.deepEqual((await refusals(h)).map((r) => r.outcome.reason), ['invalid-arguments', 'invalid-arguments', 'invalid-arguments', 'invalid-arguments']);
  });

  it('serves the public key, and the API answers that it is not enabled without audit.http', async () => {
    const key = await fetch(`${h.bot.url}/api/audit/public-key`);
    assert.equal(key.headers.get('x-countersign-key-id'), loadPublicKey(h.dataDir).keyId);
    assert.equal(await key.text(), loadPublicKey(h.dataDir).publicKeyPem);
    const api = await fetch(`${h.bot.url}/api/audit/export`);
    assert.equal(api.status, 404);
    assert.match(((await api.json()) as { error: string }).error, /not enabled .* configure audit\.http/);
  });
});

describe('the audit export API (Entra ID bearer tokens against a local key set)', function () {
  this.timeout(30000);
  let h: Harness;
  let tmp: ReturnType<typeof tempDir>;
  let key: { privateKey: CryptoKey; jwk: JWK };
  let stranger: CryptoKey;

  async function token(claims: Record<string, unknown> = {}, options: { key?: CryptoKey; kid?: string; exp?: string | number | false; aud?: string; iss?: string; iat?: number | false } = {}): Promise<string> {
    // An access token names the client application that asked for it (azp, v2.0).
    const jwt = new SignJWT({ oid: people.erin.aadObjectId, tid: TENANT, name: 'Erin Auditor', roles: [ROLE], azp: CLIENT, ver: '2.0', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'test-key' })
      .setIssuer(options.iss ?? ISSUER)
      .setAudience(options.aud ?? AUDIENCE);
    if (options.iat !== false) jwt.setIssuedAt(options.iat);
    if (options.exp !== false) jwt.setExpirationTime(options.exp ?? '10m');
    return jwt.sign(options.key ?? key.privateKey);
  }

  before(async () => {
    key = await testSigningKey();
    stranger = (await generateKeyPair('RS256')).privateKey;
  });
  beforeEach(async () => {
    tmp = tempDir();
    h = await startHarness({ config: auditApiConfig(tmp.dir, key) });
  });
  afterEach(async () => {
    await h.stop();
    tmp.remove();
  });

  it('serves a filtered export to a caller with a valid token and the auditor role, with its manifest, and records who', async () => {
    const { requestId } = await requestVia(h, 'delete resource group staging-old');
    const bearer = await token();
    const res = await fetch(`${h.bot.url}/api/audit/export?format=jsonl&requestId=${requestId}`, { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(res.status, 200, await res.clone().text());
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(lines.map((r) => r.type), ['request.created', 'approvers.notified']);
    const exportId = res.headers.get('x-countersign-export-id')!;
    assert.equal(res.headers.get('link'), `<${h.bot.url}/api/audit/exports/${exportId}/manifest>; rel="describedby"`);
    const manifestRes = await fetch(`${h.bot.url}/api/audit/exports/${exportId}/manifest`, { headers: { authorization: `Bearer ${bearer}` } });
    const manifest = parseManifest(await manifestRes.text(), 'manifest');
    assert.deepEqual(manifest.filter, { requestId });
    assert.equal(manifest.records, 2);
    const [exported] = await auditOf(h, { types: ['audit.exported'] });
    assert.deepEqual(exported.actor, { aadObjectId: people.erin.aadObjectId, tenantId: TENANT, name: 'Erin Auditor' });
    assert.equal(exported.data?.via, 'http');
    assert.ok(!(await everything(h)).includes(bearer), 'the token is never recorded');
    assert.ok(!JSON.stringify(h.logs).includes(bearer), 'nor logged');
  });

  it('answers 404 for an export id it does not know (after the token is checked: 401 without one)', async () => {
    const bearer = await token();
    for (const id of ['01936d3e-0000-7000-8000-000000000000', 'not-an-export-id']) {
      const res = await fetch(`${h.bot.url}/api/audit/exports/${id}/manifest`, { headers: { authorization: `Bearer ${bearer}` } });
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { error: `There is no export ${id}.` });
    }
    const anonymous = await fetch(`${h.bot.url}/api/audit/exports/01936d3e-0000-7000-8000-000000000000/manifest`);
    assert.equal(anonymous.status, 401);
  });

  it('takes every kind of access token: for a user (scp) or an app alone, v2.0 (azp) or v1.0 (appid)', async () => {
    const kinds: Record<string, Record<string, unknown>> = {
      'user, v2.0': { scp: 'Audit.Read', idtyp: 'user' },
      'app alone, v2.0': { idtyp: 'app', name: undefined },
      'user, v1.0': { ver: '1.0', azp: undefined, appid: CLIENT, appidacr: '1', scp: 'Audit.Read' },
    };
    for (const [kind, claims] of Object.entries(kinds)) {
      const res = await fetch(`${h.bot.url}/api/audit/export?format=jsonl`, { headers: { authorization: `Bearer ${await token(claims)}` } });
      assert.equal(res.status, 200, `${kind}: ${await res.clone().text()}`);
      await res.arrayBuffer();
    }
    assert.deepEqual(await refusals(h), []);
    assert.deepEqual((await auditOf(h, { types: ['audit.exported'] })).map((r) => r.data?.appId), [CLIENT, CLIENT, CLIENT]);
  });

  it('reads requestId as typed in chat, and refuses a malformed or unknown one with 400 naming it, recorded', async () => {
    const { requestId } = await requestVia(h, 'delete resource group staging-old');
    const bearer = await token();
    const ask = (id: string) => fetch(`${h.bot.url}/api/audit/export?format=jsonl&requestId=${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${bearer}` } });
    const typed = await ask(requestId.toLowerCase());
    assert.equal(typed.status, 200, await typed.clone().text());
    assert.deepEqual((await typed.text()).trim().split('\n').map((l) => (JSON.parse(l) as AuditRecord).type), ['request.created', 'approvers.notified']);
    const other = requestId.endsWith('Z') ? `${requestId.slice(0, -1)}Y` : `${requestId.slice(0, -1)}Z`;
    const refusedFor: [string, RegExp][] = [
      [other, new RegExp(`^there is no request ${other} and no audit record names it \\(requestId\\): nothing was exported$`)],
      ['../../x', /^the requestId "\.\.\/\.\.\/x" is not a request id \(CS- and 8 letters or digits, such as CS-7K3M9QXW\)$/],
    ];
    for (const [id, message] of refusedFor) {
      const res = await ask(id);
      assert.equal(res.status, 400, id);
      assert.match(((await res.json()) as { error: string }).error, message);
    }
    assert.deepEqual((await refusals(h)).map((r) => [r.outcome.reason, r.data?.via]), [['invalid-arguments', 'http'], ['invalid-arguments', 'http']]);
    const exported = await auditOf(h, { types: ['audit.exported'] });
    assert.deepEqual(exported.map((r) => (r.data?.manifest as { filter: unknown }).filter), [{ requestId }], 'only the export by the id as typed, read canonical');
  });

  it('serves every record of a request and of a person when an index was made to leave some out', async () => {
    const { requestId } = await requestVia(h, 'delete resource group staging-old');
    const [created, notified] = await auditOf(h, { requestId });
    const mine = await auditOf(h, { actorId: created.actor!.aadObjectId });
    assert.ok(mine.some((r) => r.seq === created.seq));
    // Someone with the database file: the indexes by request and by actor made again without them, their definitions put back.
    indexesLeavingOut(databaseFile(h.dataDir), { request: [notified.seq], actor: [created.seq] });
    const bearer = await token();
    for (const [query, expected] of [[`requestId=${requestId}`, [created, notified]], [`actor=${created.actor!.aadObjectId}`, mine]] as const) {
      const res = await fetch(`${h.bot.url}/api/audit/export?format=jsonl&${query}`, { headers: { authorization: `Bearer ${bearer}` } });
      assert.equal(res.status, 200, await res.clone().text());
      const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
      assert.deepEqual(lines.map((r) => r.seq), expected.map((r) => r.seq), query);
    }
  });

  it('refuses a missing, forged, expired, foreign or role-less token, or bad parameters, each recorded without the token', async () => {
    const cases: { name: string; header?: string; query?: string; status: number; reason: string; detail: RegExp }[] = [
      { name: 'no token', status: 401, reason: 'missing-token', detail: /no bearer token/ },
      { name: 'signed by another key', header: `Bearer ${await token({}, { key: stranger })}`, status: 401, reason: 'invalid-token', detail: /ERR_JWS_SIGNATURE_VERIFICATION_FAILED|ERR_JWKS_NO_MATCHING_KEY/ },
      { name: 'expired', header: `Bearer ${await token({}, { exp: Math.floor(Date.now() / 1000) - 3600 })}`, status: 401, reason: 'invalid-token', detail: /ERR_JWT_EXPIRED/ },
      { name: 'no exp (a token that never expires)', header: `Bearer ${await token({}, { exp: false })}`, status: 401, reason: 'no-expiry', detail: /^the token carries no exp \(expiry\) claim, so it would never expire/ },
      { name: 'an exp that is not a number', header: `Bearer ${await token({ exp: '9999999999' }, { exp: false })}`, status: 401, reason: 'no-expiry', detail: /exp \(expiry\) claim that is not a number/ },
      { name: 'another audience', header: `Bearer ${await token({}, { aud: 'api://something-else' })}`, status: 401, reason: 'invalid-token', detail: /the aud claim/ },
      { name: 'another issuer', header: `Bearer ${await token({}, { iss: 'https://evil.example/v2.0' })}`, status: 401, reason: 'invalid-token', detail: /the iss claim/ },
      { name: 'another tenant', header: `Bearer ${await token({ tid: '99999999-9999-4999-8999-999999999999' })}`, status: 403, reason: 'tenant-not-allowed', detail: /tenant 9999/ },
      { name: 'no auditor role', header: `Bearer ${await token({ roles: ['Something.Else'] })}`, status: 403, reason: 'not-an-auditor', detail: /does not carry the app role Audit\.Export/ },
      { name: 'garbage', header: 'Bearer not.a.jwt', status: 401, reason: 'invalid-token', detail: /ERR_JW/ },
      { name: 'valid for a day', header: `Bearer ${await token({}, { exp: '24h' })}`, status: 401, reason: 'token-lifetime-too-long', detail: /valid for 1440 minutes, more than the 120 accepted/ },
      { name: 'issued long ago, valid for a few minutes more', header: `Bearer ${await token({}, { iat: Math.floor(Date.now() / 1000) - 5 * 3600 })}`, status: 401, reason: 'token-lifetime-too-long', detail: /more than the 120 accepted/ },
      { name: 'long-lived by nbf', header: `Bearer ${await token({ nbf: Math.floor(Date.now() / 1000) - 3 * 3600 }, { iat: false })}`, status: 401, reason: 'token-lifetime-too-long', detail: /more than the 120 accepted/ },
      { name: 'issued in a year, valid for ten minutes after that (usable from now on)', header: `Bearer ${await token({}, { iat: Math.floor(Date.now() / 1000) + 365 * 86400, exp: Math.floor(Date.now() / 1000) + 365 * 86400 + 600 })}`, status: 401, reason: 'token-lifetime-too-long', detail: /more than the 120 accepted/ },
      { name: 'no iat or nbf', header: `Bearer ${await token({}, { iat: false })}`, status: 401, reason: 'token-lifetime-too-long', detail: /neither iat nor nbf/ },
      { name: 'an ID token (nonce), roles and all', header: `Bearer ${await token({ nonce: 'n-0S6_WzA2Mj', azp: undefined })}`, status: 401, reason: 'id-token', detail: /^the token is an ID token \(it carries nonce\), not an access token/ },
      { name: 'an ID token from a hybrid sign-in (at_hash, c_hash)', header: `Bearer ${await token({ at_hash: 'aGFzaA', c_hash: 'Y29kZQ', azp: undefined })}`, status: 401, reason: 'id-token', detail: /carries at_hash, c_hash/ },
      { name: 'an ID token from the token endpoint (no nonce, no client named)', header: `Bearer ${await token({ azp: undefined })}`, status: 401, reason: 'id-token', detail: /names no client application \(neither azp nor appid\)/ },
      { name: 'no oid (a sub only)', header: `Bearer ${await token({ oid: undefined, sub: 'pairwise-subject' })}`, status: 401, reason: 'missing-object-id', detail: /no Entra object id \(oid claim\)/ },
      { name: 'a bad parameter', header: `Bearer ${await token()}`, query: '?from=last-tuesday', status: 400, reason: 'invalid-arguments', detail: /"last-tuesday" is not a date Countersign reads/ },
      { name: 'an empty requestId (an unset variable), not the whole log', header: `Bearer ${await token()}`, query: '?requestId=', status: 400, reason: 'invalid-arguments', detail: /the query parameter requestId is empty/ },
    ];
    for (const c of cases) {
      const res = await fetch(`${h.bot.url}/api/audit/export${c.query ?? ''}`, { headers: c.header ? { authorization: c.header } : {} });
      assert.equal(res.status, c.status, c.name);
      if (c.status === 401) assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/, c.name);
      await res.arrayBuffer();
    }
    const refused = await refusals(h);
    assert.deepEqual(
      refused.map((r) => r.outcome.reason),
      cases.map((c) => c.reason),
    );
    refused.forEach((r, i) => {
      assert.match(r.outcome.detail ?? '', cases[i].detail, cases[i].name);
      assert.equal(r.data?.via, 'http');
    });
    const log = await everything(h);
    for (const c of cases) if (c.header) assert.ok(!log.includes(c.header.slice(7)), `the token of "${c.name}" was recorded`);
    assert.equal((await auditOf(h, { types: ['audit.exported'] })).length, 0);
  });

  it('records callers whose token checks out but who may not export one by one up to the budget a minute, then as one count', async () => {
    const budget = { ...REFUSAL_BUDGET };
    Object.assign(REFUSAL_BUDGET, { perMinute: 3, windowMs: 60_000 });
    try {
      // Any user or app of the tenant can get a token for the API's audience; without the role it only fails here.
      const roleless = `Bearer ${await token({ roles: [] })}`;
      const ask = (authorization: string, query = '') => fetch(`${h.bot.url}/api/audit/export${query}`, { headers: { authorization } }).then(async (r) => (await r.arrayBuffer(), r.status));
      assert.deepEqual(new Set(await Promise.all(Array.from({ length: 20 }, () => ask(roleless)))), new Set([403]));
      // An auditor's own mistake is recorded as it comes, the budget used up or not.
      const auditor = `Bearer ${await token()}`;
      for (let i = 0; i < 5; i++) assert.equal(await ask(auditor, '?from=last-tuesday'), 400);
      const one = await refusals(h);
      assert.deepEqual(one.map((r) => r.outcome.reason), [...Array(3).fill('not-an-auditor'), ...Array(5).fill('invalid-arguments')]);
      assert.deepEqual(one.slice(0, 3).map((r) => r.actor?.aadObjectId), Array(3).fill(people.erin.aadObjectId), 'those recorded one by one name the caller');
      // The minute ends (here: at the next refusal, the window shortened to nothing): the rest are one count.
      REFUSAL_BUDGET.windowMs = 0;
      assert.equal(await ask(roleless), 403);
      const repeated = await eventually('the count is recorded', async () => (await refusals(h)).find((r) => r.outcome.reason === 'repeated'), 5000);
      assert.deepEqual(repeated.data?.repeated && { count: (repeated.data.repeated as { count: number }).count, reasons: (repeated.data.repeated as { reasons: unknown }).reasons }, { count: 17, reasons: { 'not-an-auditor': 17 } });
      assert.equal(repeated.data?.via, 'http');
    } finally {
      Object.assign(REFUSAL_BUDGET, budget);
    }
  });

  it('answers a token whose header names a crit parameter with line breaks or other letters 401, its challenge header plain', async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    for (const name of ['x\r\nSet-Cookie: stolen=1', 'caf\u00e9\u20ac']) {
      const forged = `${b64({ alg: 'RS256', kid: 'test-key', crit: [name] })}.${b64({ oid: people.erin.aadObjectId })}.AAAA`;
      const res = await fetch(`${h.bot.url}/api/audit/export`, { headers: { authorization: `Bearer ${forged}` } });
      assert.equal(res.status, 401, name);
      assert.equal(res.headers.get('set-cookie'), null);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token", error_description="[\x20-\x7e]*"$/, name);
      assert.match(((await res.json()) as { error: string }).error, /^Not authenticated: ERR_JOSE_NOT_SUPPORTED/);
    }
    const refused = await refusals(h);
    assert.deepEqual(refused.map((r) => r.outcome.reason), ['invalid-token', 'invalid-token']);
  });
});

describe('Bot Framework authentication failures (app id set)', function () {
  this.timeout(30000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ env: { MicrosoftAppId: '0e9a3c1f-7b7a-4d5e-9c1a-2b3c4d5e6f70', MicrosoftAppPassword: 'not-a-real-secret' } });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('records activities that fail authentication, keeping their claims apart and never their token', async () => {
    const activity = h.teams.activity(people.mallory, personal(people.mallory), { type: 'message', text: 'delete resource group production-api-service' });
    const bare = await h.teams.post(activity);
    assert.equal(bare.status, 401);
    const fake = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJlLW5vdC12YWxpZA';
    const res = await fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${fake}` }, body: JSON.stringify(activity) });
    assert.equal(res.status, 401);
    // Each 401 goes out at once; its refusal is recorded right after it.
    const refused = await eventually('both refusals are in the audit', async () => {
      const r = await auditOf(h, { types: ['auth.refused'] });
      return r.length >= 2 && r;
    });
    assert.deepEqual(
      refused.map((r) => r.outcome.reason),
      ['missing-token', 'invalid-token'],
    );
    for (const r of refused) {
      assert.equal(r.actor, undefined, 'an unauthenticated activity names no actor');
      assert.equal(r.source, undefined);
      assert.deepEqual((r.data?.unverified as Record<string, unknown>).fromAadObjectId, people.mallory.aadObjectId);
      assert.match(r.outcome.detail ?? '', /^Bot Framework authentication failed \(HTTP 401\)/);
    }
    assert.equal(refused[1].data?.hasAuthorization, true);
    assert.ok(!(await everything(h)).includes(fake.split('.')[2]), 'no part of the token is recorded');
    assert.equal((await auditOf(h, { types: ['request.created'] })).length, 0, 'nothing was acted on');
  });
});

describe('checkpoints of the running bot', function () {
  this.timeout(30000);
  const withInterval = (interval: string) =>
    fs.readFileSync(EXAMPLE_CONFIG, 'utf8').replace(/^ {2}checkpointInterval: .*$/m, `  checkpointInterval: ${interval}`);
  /** The example config signing every second: less than `audit.checkpointInterval` may say (1m), so set on the config as loaded. */
  const everySecond = () => {
    const config = parseConfig(withInterval('1m'), EXAMPLE_CONFIG);
    return { ...config, audit: { ...config.audit, checkpointIntervalSeconds: 1 } };
  };

  it('signs the chain head on its timer, into the log and the checkpoint file', async () => {
    const h = await startHarness({ config: everySecond() });
    try {
      await requestVia(h, 'delete resource group staging-old');
      const head = (await h.bot.deps.store.audit.head())!;
      const deadline = Date.now() + 5000;
      // The first checkpoint is the one every start signs (trigger 'start').
      const timer = async () => (await auditOf(h, { types: ['audit.checkpoint'] })).filter((r) => r.data?.trigger !== 'start');
      while (!(await timer()).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const [timed] = await timer();
      assert.equal(timed?.data?.trigger, 'timer');
      assert.equal((timed.data?.checkpoint as { seq: number }).seq, head.seq);
      const lines = fs.readFileSync(path.join(h.dataDir, 'audit-checkpoints.jsonl'), 'utf8').trim().split('\n');
      assert.deepEqual(JSON.parse(lines[1]), timed.data?.checkpoint);
    } finally {
      await h.stop();
    }
  });

  it('says at its next timed checkpoint that the index by request was made to leave records out', async () => {
    const h = await startHarness({ config: everySecond() });
    try {
      const { requestId } = await requestVia(h, 'delete resource group staging-old');
      const [, notified] = await auditOf(h, { requestId });
      const said = () => h.logs.filter((l) => l.level === 50 && Array.isArray(l.indexes));
      assert.deepEqual(said(), [], 'nothing to say of the indexes as made');
      indexesLeavingOut(databaseFile(h.dataDir), { request: [notified.seq] });
      const deadline = Date.now() + 5000;
      while (!said().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(String(said()[0]?.msg), /^an index of the audit log leaves records out or is not the one Countersign made/);
      assert.match(String((said()[0].indexes as string[])[0]), /^the index audit_log_request holds \d+ entries for the \d+ records that name a request: 1 of them is missing from it/);
    } finally {
      await h.stop();
    }
  });

  it('signs the last head once more when it stops', async () => {
    const h = await startHarness({ configText: withInterval('1h') });
    try {
      await requestVia(h, 'delete resource group staging-old');
      const head = (await h.bot.deps.store.audit.head())!;
      assert.equal((await auditOf(h, { types: ['audit.checkpoint'] })).length, 1, 'only the one signed at start');
      await h.bot.stop();
      const last = (await auditOf(h, { types: ['audit.checkpoint'] }))[1];
      assert.equal(last?.data?.trigger, 'shutdown');
      assert.equal((last.data?.checkpoint as { seq: number }).seq, head.seq);
      assert.ok(fs.existsSync(path.join(h.dataDir, 'audit-checkpoints.jsonl')));
    } finally {
      await h.stop();
    }
  });
});
