/**
 * An export over HTTP reaches its reader whole only once it is recorded: when its `audit.exported`
 * record cannot be written, the download is cut short before its last bytes, and what went out is
 * recorded as broken off. A link whose download did not finish says so when used again, and a store
 * failure before any byte answers 503 in words, never the store's own error text.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { CountersignStore as Store } from '../../../src/store/countersign-store';
import type { AuditFilter, AuditRecord } from '../../../src/domain/audit';
import { auditOf, requestVia } from '../../support/flows';
import { startHarness, type Harness } from '../../support/harness';
import { people, shown, type Conversation, type Person } from '../../support/teams';

const personal = (p: Person): Conversation => ({ id: `a:personal-${p.id}`, conversationType: 'personal' });
const DAY = 24 * 3600 * 1000;

/** The body as it arrived, and whether the response ended or was cut off. */
function download(url: string): Promise<{ status: number; body: string; complete: boolean }> {
  return new Promise((resolve) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body, complete: false }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, body, complete: false }));
    }).on('error', () => resolve({ status: 0, body: '', complete: false }));
  });
}

describe('an audit export that cannot be recorded (bot over HTTP)', function () {
  this.timeout(30_000);
  let h: Harness;
  const failing = { saveManifest: false, claim: false, started: false };
  /** Set: the export reads 512 records, waits until this settles, then 3 more (a small last batch). */
  let readerGone: Promise<void> | undefined;
  /** Set: the export reads the log's records over and over, without end (until its reader stops it). */
  let endless = false;
  /** Set: the export's read finds nothing for this long before its records (a store slow to find them). */
  let slowMs = 0;
  /** The store's own read, for the test to look at the log while an endless export runs. */
  let readLog: (filter: AuditFilter) => AsyncIterable<AuditRecord>;
  beforeEach(async () => {
    endless = false;
    slowMs = 0;
    failing.saveManifest = false;
    failing.claim = false;
    failing.started = false;
    readerGone = undefined;
    h = await startHarness({
      // Short, so that a reader that stops reading is cut off within the test.
      env: { COUNTERSIGN_AUDIT_EXPORT_IDLE: '1s' },
      wrapStore: (store: Store) => {
        const audit = store.audit;
        // The export reads parsed records (wrapped below), not the stored text it reads when the store gives it.
        Object.assign(audit, { readStored: undefined });
        const read = audit.read.bind(audit);
        readLog = read;
        audit.read = ((filter: Parameters<typeof read>[0]) => {
          // Once: the export's own read, not the test's reads of the log after it.
          const gone = readerGone;
          readerGone = undefined;
          if (endless) {
            endless = false;
            return (async function* () {
              const real: AuditRecord[] = [];
              for await (const r of read(filter)) real.push(r);
              for (let i = 0; ; i++) yield real[i % real.length];
            })();
          }
          if (slowMs) {
            const wait = slowMs;
            slowMs = 0;
            return (async function* () {
              await new Promise((r) => setTimeout(r, wait));
              yield* read(filter);
            })();
          }
          if (!gone) return read(filter);
          return (async function* () {
            const real: AuditRecord[] = [];
            for await (const r of read(filter)) real.push(r);
            for (let i = 0; i < 512; i++) yield real[i % real.length];
            await gone;
            await new Promise((r) => setTimeout(r, 200));
            for (let i = 0; i < 3; i++) yield real[i % real.length];
          })();
        }) as typeof audit.read;
        const append = audit.append.bind(audit);
        audit.append = ((events: Parameters<typeof append>[0]) =>
          failing.started && events.some((e) => e.type === 'audit.export_started') ? Promise.reject(new Error('the store postgres://bot@db.internal:5432/countersign is locked by another session')) : append(events)) as typeof audit.append;
        const c = store.auditAccess;
        const save = c.saveExportManifest.bind(c);
        const claim = c.claimDownloadLink.bind(c);
        c.saveExportManifest = (...a: Parameters<typeof save>) => (failing.saveManifest ? Promise.reject(new Error('the store postgres://bot@db.internal:5432/countersign is locked by another session')) : save(...a));
        c.claimDownloadLink = (...a: Parameters<typeof claim>) => (failing.claim ? Promise.reject(new Error('the store postgres://bot@db.internal:5432/countersign is locked by another session (process 4242)')) : claim(...a));
        return store;
      },
    });
    await requestVia(h, 'delete resource group staging-old');
  });
  afterEach(() => h.stop());

  async function link(): Promise<string> {
    const now = h.clock.now().getTime();
    const from = await h.teams.say(people.erin, `audit export ${new Date(now - DAY).toISOString()} ${new Date(now + DAY).toISOString()} jsonl`, personal(people.erin));
    const reply = shown(String(h.teams.since(from).map((s) => s.activity.text).find((t) => typeof t === 'string')));
    return /\[download it\]\((http[^)\s]+)\)/.exec(reply)![1];
  }

  /** A connection that asks for the download and never reads its answer. */
  async function readerNotReading(url: URL): Promise<net.Socket> {
    const socket = net.connect(Number(url.port), url.hostname);
    await new Promise((r) => socket.once('connect', r));
    socket.pause();
    socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
    return socket;
  }

  /** The export's audit.exported records, once there is one (or none after `ms`). */
  async function exportedWithin(ms: number): Promise<AuditRecord[]> {
    const deadline = Date.now() + ms;
    let exported: AuditRecord[] = [];
    while (!exported.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      exported = [];
      for await (const r of readLog({ types: ['audit.exported'] })) exported.push(r);
    }
    return exported;
  }

  it('cuts the download off before its end when the export cannot be recorded, and records what went out as broken off', async () => {
    const url = await link();
    failing.saveManifest = true;
    const got = await download(url);
    // A small export is one chunk, all held back: the connection is cut before anything arrives.
    assert.ok([0, 200].includes(got.status), `status ${got.status}`);
    assert.equal(got.complete, false, 'the reader sees the download fail');
    const stored = await auditOf(h);
    const lines = got.body.split('\n').filter(Boolean);
    assert.ok(lines.length < stored.length, `the last record is held back: got ${lines.length} of ${stored.length}`);
    const exported = await auditOf(h, { types: ['audit.exported'] });
    assert.deepEqual(exported.map((r) => [r.outcome.result, r.outcome.reason]), [['error', 'export-incomplete']], 'recorded as broken off, not as exported');
    assert.ok(h.logs.some((l) => l.msg === 'audit export could not be recorded: the download is cut off before its end'));
    // Used again: the person is told that download did not finish.
    failing.saveManifest = false;
    const again = await fetch(url);
    assert.equal(again.status, 410);
    assert.match(((await again.json()) as { error: string }).error, /already used \(at .*\), and that download did not finish \(it broke off, or could not be recorded\); each link works once/);
  });

  it('records as broken off, and goes on running, when the reader goes away before the last batch', async () => {
    const url = await link();
    let markGone!: () => void;
    readerGone = new Promise((r) => (markGone = r));
    const uncaught: unknown[] = [];
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const collect = (e: unknown) => void uncaught.push(e);
    process.on('uncaughtException', collect);
    try {
      await new Promise<void>((resolve) => {
        http.get(url, (res) => {
          res.once('data', () => {
            res.destroy();
            markGone();
            resolve();
          });
        });
      });
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      process.removeListener('uncaughtException', collect);
      for (const l of listeners) process.on('uncaughtException', l as (e: Error) => void);
    }
    assert.deepEqual(uncaught.map(String), [], 'an uncaught exception would end the bot');
    const exported = await auditOf(h, { types: ['audit.exported'] });
    assert.deepEqual(exported.map((r) => [r.outcome.result, r.outcome.reason]), [['error', 'export-incomplete']]);
  });

  it('records as broken off, and lets go of the export, when the reader stops reading and then goes away', async () => {
    endless = true;
    // A reader that asks and never reads: the answer backs up until the bot's writes wait for a drain.
    const socket = await readerNotReading(new URL(await link()));
    const started = async () => {
      for await (const _ of readLog({ types: ['audit.export_started'] })) return true;
      return false;
    };
    while (!(await started())) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    socket.destroy();
    const exported = await exportedWithin(5000);
    assert.deepEqual(exported.map((r) => [r.outcome.result, r.outcome.reason]), [['error', 'export-incomplete']], 'the end of the export is recorded, as broken off');
    assert.ok(Number((exported[0].data as { recordsSent: number }).recordsSent) > 0, 'with how much went out');
    assert.ok(h.logs.some((l) => l.msg === 'audit export broke off'), 'and logged');
  });

  it('cuts off a reader that stops reading and stays connected, once nothing went out for COUNTERSIGN_AUDIT_EXPORT_IDLE, recorded as broken off', async () => {
    endless = true;
    // A reader that asks, never reads and never goes away: without the idle limit the export waits for it for good.
    const socket = await readerNotReading(new URL(await link()));
    try {
      const exported = await exportedWithin(10_000);
      assert.deepEqual(exported.map((r) => [r.outcome.result, r.outcome.reason]), [['error', 'export-incomplete']], 'the export ends, recorded as broken off');
      assert.ok(Number((exported[0].data as { recordsSent: number }).recordsSent) > 0, 'with how much went out');
      assert.ok(h.logs.some((l) => String(l.msg).includes('COUNTERSIGN_AUDIT_EXPORT_IDLE')), 'the log names the setting');
    } finally {
      socket.destroy();
    }
  });

  it('does not cut off a reader that reads while the store is slow to find the records: only a reader not reading is', async () => {
    const url = await link();
    // Longer than COUNTERSIGN_AUDIT_EXPORT_IDLE (1s) with nothing to send: the reader is not behind.
    slowMs = 2500;
    const got = await download(url);
    assert.equal(got.status, 200);
    assert.equal(got.complete, true, 'the download ends whole');
    const exported = await auditOf(h, { types: ['audit.exported'] });
    assert.deepEqual(exported.map((r) => r.outcome.result), ['ok'], 'recorded as exported, not as broken off');
    assert.ok(!h.logs.some((l) => String(l.msg).includes('COUNTERSIGN_AUDIT_EXPORT_IDLE')), 'nothing cut');
  });

  it('answers a store failure before the download started with 503 in words, not the store error', async () => {
    const url = await link();
    failing.claim = true;
    const res = await fetch(url);
    assert.equal(res.status, 503);
    const text = await res.text();
    assert.doesNotMatch(text, /postgres:|db\.internal|process 4242|locked by/);
    assert.match(text, /Countersign could not answer this now \(its database is busy or failing\); try again in a minute/);
    failing.claim = false;
    assert.equal((await fetch(url)).status, 200, 'the link was not used up');
  });

  it('answers 503 in words, and sends nothing, when the start of the export cannot be recorded', async () => {
    const url = await link();
    failing.started = true;
    const res = await fetch(url);
    assert.equal(res.status, 503, 'a status, not a connection reset');
    const text = await res.text();
    assert.doesNotMatch(text, /postgres:|db\.internal|locked by/);
    assert.match(text, /If a download link is then reported used, ask for a new one in Teams\./);
    failing.started = false;
    assert.deepEqual((await auditOf(h)).filter((r) => r.type === 'audit.export_started' || r.type === 'audit.exported'), [], 'nothing went out, nothing to record');
  });
});
