/**
 * An instance runs at most COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE download-link and HTTP API exports at
 * once: one more is answered 429 with Retry-After, recorded, and uses nothing up (a link still
 * works); once an export ends its slot serves the next.
 */
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import type { CountersignStore as Store } from '../../../src/store/countersign-store';
import { auditOf, requestVia } from '../../support/flows';
import { startHarness, type Harness } from '../../support/harness';
import { TENANT, eventually, people, shown, type Conversation, type Person } from '../../support/teams';
import { tempDir } from '../../store/fixtures';
import { AUDIENCE, auditApiConfig, ISSUER, ROLE, testSigningKey } from './audit-api-setup';

const DAY = 24 * 3600 * 1000;
const personal = (p: Person): Conversation => ({ id: `a:personal-${p.id}`, conversationType: 'personal' });

describe('audit exports at once, per instance (bot over HTTP)', function () {
  this.timeout(30_000);
  let h: Harness;
  let tmp: ReturnType<typeof tempDir>;
  let key: { privateKey: CryptoKey; jwk: JWK };
  /** Set: an export's read of the log waits until it settles (the export stays running). */
  let hold: Promise<void> | undefined;
  let letGo: () => void = () => undefined;

  function holdExports(): void {
    hold = new Promise<void>((resolve) => (letGo = resolve));
  }

  before(async () => {
    key = await testSigningKey();
  });
  beforeEach(async () => {
    hold = undefined;
    tmp = tempDir();
    h = await startHarness({
      config: auditApiConfig(tmp.dir, key),
      env: { COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE: '1' },
      wrapStore: (store: Store) => {
        const audit = store.audit;
        // The export reads parsed records (wrapped below), not the stored text it reads when the store gives it.
        Object.assign(audit, { readStored: undefined });
        const read = audit.read.bind(audit);
        audit.read = ((...args: Parameters<typeof read>) => {
          const wait = args[1]?.scan ? hold : undefined;
          if (!wait) return read(...args);
          return (async function* () {
            await wait;
            yield* read(...args);
          })();
        }) as typeof audit.read;
        return store;
      },
    });
    await requestVia(h, 'delete resource group staging-old');
  });
  afterEach(async () => {
    letGo();
    await h.stop();
    tmp.remove();
  });

  async function link(): Promise<string> {
    const now = h.clock.now().getTime();
    const from = await h.teams.say(people.erin, `audit export ${new Date(now - DAY).toISOString()} ${new Date(now + DAY).toISOString()} jsonl`, personal(people.erin));
    const reply = shown(String(h.teams.since(from).map((s) => s.activity.text).find((t) => typeof t === 'string')));
    return /\[download it\]\((http[^)\s]+)\)/.exec(reply)![1];
  }

  /** Once `count` exports started (recorded as started: each holds its slot from before then). */
  async function started(count: number): Promise<void> {
    await eventually(`${count} export(s) started`, async () => (await auditOf(h, { types: ['audit.export_started'] })).length === count);
  }

  async function bearer(): Promise<string> {
    const jwt = await new SignJWT({ oid: people.erin.aadObjectId, tid: TENANT, name: 'Erin Auditor', roles: [ROLE], azp: '3a8f0c1e-5b2d-4e6f-9a7b-1c2d3e4f5a6b' })
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key.privateKey);
    return `Bearer ${jwt}`;
  }

  it('answers a download past the limit 429 with Retry-After, records it, and leaves its link usable', async () => {
    const [first, second] = [await link(), await link()];
    holdExports();
    const running = fetch(first);
    await started(1);
    const refused = await fetch(second);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '30');
    assert.match(refused.headers.get('x-request-id') ?? '', /./);
    const { error } = (await refused.json()) as { error: string };
    assert.match(error, /^Too many audit exports at once: Countersign already runs 1, the most it runs at a time\. The download link was not used: it works until \S+\. Try again in 30 seconds, once one has finished\.$/);
    const [record] = await auditOf(h, { types: ['audit.export_refused'] });
    assert.equal(record.outcome.reason, 'too-many-exports');
    assert.match(record.outcome.detail ?? '', /already runs 1 audit export\(s\) at once.*COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE/);
    assert.equal(record.actor?.aadObjectId, people.erin.aadObjectId, 'the link holder is named');
    assert.equal(record.data?.via, 'teams-link');
    assert.equal((await auditOf(h, { types: ['audit.export_started'] })).length, 1, 'nothing of the second was started');

    letGo();
    assert.equal((await running).status, 200);
    assert.ok((await (await running).text()).length > 0);
    // The first ended: its slot serves the second link, which was not used up.
    const later = await fetch(second);
    assert.equal(later.status, 200, await later.clone().text());
    await later.text();
    assert.equal((await auditOf(h, { types: ['audit.exported'] })).length, 2);
  });

  it('answers an API export past the limit 429 with Retry-After, recorded with its caller, and takes it once the first ended', async () => {
    const authorization = await bearer();
    const ask = () => fetch(`${h.bot.url}/api/audit/export?format=jsonl`, { headers: { authorization } });
    holdExports();
    const running = ask();
    await started(1);
    const refused = await ask();
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '30');
    assert.equal(refused.headers.get('cache-control'), 'no-store');
    assert.match(((await refused.json()) as { error: string }).error, /^Too many audit exports at once: .* Nothing was exported\. Try again in 30 seconds/);
    const [record] = await auditOf(h, { types: ['audit.export_refused'] });
    assert.deepEqual([record.outcome.reason, record.data?.via, record.actor?.aadObjectId], ['too-many-exports', 'http', people.erin.aadObjectId]);
    letGo();
    assert.equal((await running).status, 200);
    await (await running).text();
    const again = await ask();
    assert.equal(again.status, 200);
    await again.text();
  });

  it('gives the slot back when the reader of an export went away', async () => {
    const [first, second] = [await link(), await link()];
    holdExports();
    const controller = new AbortController();
    const running = fetch(first, { signal: controller.signal }).catch(() => undefined);
    await started(1);
    controller.abort();
    await running;
    letGo();
    // The reader gone, the export ends (broken off or whole): its slot serves the next.
    const status = await eventually('the second link is served', async () => {
      const res = await fetch(second);
      await res.arrayBuffer();
      return res.status !== 429 && res.status;
    });
    assert.equal(status, 200);
  });
});
