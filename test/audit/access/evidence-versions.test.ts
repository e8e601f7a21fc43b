/**
 * The stored versions of requests Countersign itself took through their lifecycle are each backed by
 * their audit records: evidence marks only versions added by other means (test/cli/audit-signed.test.ts).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { checkVersions, evidenceFiles, recordedDamage } from '../../../src/audit/access/evidence';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite';
import { appOnStore, SUBSCRIPTION, type AppOnFakes } from '../../support/app-on-fakes';
import { alice, bob, carol, opsChannel, sourceIn } from '../../support/people';
import { RecordingMessenger, reachConfigText } from '../../support/reach';
import { asked, click, settle } from '../../app/steps';
import { collect } from '../../store/store-contract';
import { aRequest, tempDir } from '../../store/fixtures';
import { evidenceOf } from './evidence-of';

const DELETE = 'delete resource group staging-old';
const TAG = 'tag rg-web owner platform-team';
const RG_WEB = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-web`;

describe('stored request versions judged against their audit records', () => {
  let tmp: ReturnType<typeof tempDir>;
  let f: AppOnFakes<SqliteStore>;
  beforeEach(async () => {
    tmp = tempDir();
    f = appOnStore(await openSqliteStore({ file: path.join(tmp.dir, 'countersign.db') }));
  });
  afterEach(async () => {
    await f.store.close();
    tmp.remove();
  });

  async function judged(id: string) {
    const versions = await f.store.auditAccess.requestVersions(id);
    const records = await collect(f.store.audit.read({ requestId: id }, { scan: true }));
    return { states: versions.map((v) => v.state), check: checkVersions(versions, records) };
  }

  it('backs every version of requests run, run after a drift, failed, ended unknown, rejected and cancelled', async () => {
    const ran = await asked(f, alice, DELETE);
    await click(f, bob, ran, 'approve');
    await settle(f);

    f.azure.setTarget(RG_WEB, { exists: true, etag: 'e1', facts: { 'tags.owner': 'web-team' } });
    const drifted = await asked(f, alice, TAG);
    f.azure.setTarget(RG_WEB, { exists: true, etag: 'e2', facts: { 'tags.owner': 'someone-else' } });
    await click(f, bob, drifted, 'approve');
    await settle(f);
    await click(f, bob, await f.request(drifted.id), 'approve');
    await settle(f);

    f.azure.nextExecution({ outcome: 'failed' });
    const failed = await asked(f, alice, DELETE);
    await click(f, bob, failed, 'approve');
    await settle(f);

    f.azure.nextExecution({ outcome: 'unknown' });
    const unknown = await asked(f, alice, DELETE);
    await click(f, bob, unknown, 'approve');
    await settle(f);

    const rejected = await asked(f, alice, DELETE);
    await click(f, bob, rejected, 'reject');
    const cancelled = await asked(f, alice, DELETE);
    await click(f, alice, cancelled, 'cancel');

    const expected: [string, string[]][] = [
      [ran.id, ['pending', 'approved', 'executing', 'succeeded']],
      [drifted.id, ['pending', 'approved', 'needs_reapproval', 'approved', 'executing', 'succeeded']],
      [failed.id, ['pending', 'approved', 'executing', 'failed']],
      [unknown.id, ['pending', 'approved', 'executing', 'unknown']],
      [rejected.id, ['pending', 'rejected']],
      [cancelled.id, ['pending', 'cancelled']],
    ];
    for (const [id, states] of expected) {
      const { states: stored, check } = await judged(id);
      assert.deepEqual(stored.filter((s, i) => s !== stored[i - 1]), states, id);
      assert.deepEqual(check, { count: stored.length, ok: true, problems: [] }, id);
    }
  });

  it('backs every version of a request run later at the time asked, of one that expired, and of a break-glass use', async () => {
    const later = await asked(f, alice, `${DELETE} at 22:00`, 'Europe/Berlin');
    await click(f, bob, later, 'approve');
    await settle(f);
    f.clock.advance(Date.parse('2026-03-02T21:00:00.000Z') - f.clock.now().getTime());
    assert.deepEqual(await f.app.sweepScheduled(), [later.id]);
    await settle(f);
    const expired = await asked(f, alice, DELETE);
    f.clock.advance(2 * 3_600_000);
    assert.deepEqual(await f.app.sweepExpired(), [expired.id]);

    const g = appOnStore(await openSqliteStore({ file: path.join(tmp.dir, 'break-glass.db') }), { messenger: new RecordingMessenger(), configText: reachConfigText(['breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h, notify: ["19:security-notices@thread.tacv2"] }']) });
    const meant = g.app.interpret('break-glass delete resource group staging-old reason: outage INC-42');
    assert.ok(meant.kind === 'break-glass' && meant.request.kind === 'ready');
    const made = await g.app.breakGlass({ command: meant.request.command, values: meant.request.values, reason: 'outage INC-42', actor: alice, source: sourceIn(opsChannel, 'bg-1') });
    assert.ok(made.ok);
    await settle(g);
    const breakGlass = { states: (await g.store.auditAccess.requestVersions(made.request.id)).map((v) => v.state), check: checkVersions(await g.store.auditAccess.requestVersions(made.request.id), await collect(g.store.audit.read({ requestId: made.request.id }, { scan: true }))) };
    await g.store.close();
    assert.deepEqual(breakGlass.states.filter((s, i) => s !== breakGlass.states[i - 1]), ['approved', 'executing', 'succeeded']);
    assert.deepEqual(breakGlass.check, { count: breakGlass.states.length, ok: true, problems: [] });

    const expected: [string, string[]][] = [
      [later.id, ['pending', 'scheduled', 'executing', 'succeeded']],
      [expired.id, ['pending', 'expired']],
    ];
    for (const [id, states] of expected) {
      const { states: stored, check } = await judged(id);
      assert.deepEqual(stored.filter((s, i) => s !== stored[i - 1]), states, id);
      assert.deepEqual(check, { count: stored.length, ok: true, problems: [] }, id);
    }
  });

  it('backs a version whose time is earlier than the version before it, by what the records held when that one was written (seen of executing versions under several instances)', async () => {
    const ran = await asked(f, alice, DELETE);
    await click(f, bob, ran, 'approve');
    await settle(f);
    const versions = await f.store.auditAccess.requestVersions(ran.id);
    const records = await collect(f.store.audit.read({ requestId: ran.id }, { scan: true }));
    const executing = versions.findIndex((v) => v.state === 'executing');
    assert.ok(executing > 0, JSON.stringify(versions.map((v) => v.state)));
    // A later version of the run, written with a time read before the run started (before its execution.started record).
    const started = records.find((x) => x.type === 'execution.started')!;
    const stale = { ...versions[executing], version: versions.at(-1)!.version + 1, updatedAt: new Date(Date.parse(started.time) - 1).toISOString() };
    const check = checkVersions([...versions, stale], records);
    assert.deepEqual(check.problems, []);
  });

  it('marks a version added in the database that changes only what the operation hash leaves out: the reason, the requester, the policy version, the risk and environment its card showed', async () => {
    const ran = await asked(f, alice, `${DELETE} reason: INC-4711 outage cleanup`);
    await click(f, bob, ran, 'approve');
    await settle(f);
    const versions = await f.store.auditAccess.requestVersions(ran.id);
    const records = await collect(f.store.audit.read({ requestId: ran.id }, { scan: true }));
    assert.deepEqual(checkVersions(versions, records).problems, []);
    const last = versions[versions.length - 1];
    const forged = (change: object) => [...versions, { ...last, version: last.version + 1, ...change }];
    assert.deepEqual(checkVersions(forged({ reason: 'routine cleanup, agreed with the owner' }), records).problems, [
      `version ${last.version + 1} (succeeded) is not backed by the audit chain: its reason "routine cleanup, agreed with the owner" is not the one its audit records carry ("INC-4711 outage cleanup"); it was written into the database by other means`,
    ]);
    const { reason: _dropped, ...noReason } = last;
    assert.match(checkVersions([...versions, { ...noReason, version: last.version + 1 }], records).problems[0] ?? '', /its reason "\(none\)" is not the one its audit records carry/);
    assert.match(checkVersions(forged({ requester: carol }), records).problems[0] ?? '', /its requester Carol \S+ is not Alice Requester, who asked for it/);
    assert.match(checkVersions(forged({ policy: { ...last.policy, version: 'f'.repeat(64) } }), records).problems[0] ?? '', /its policy version is not the one its audit records carry/);
    // The risk band and environment its card showed approvers, which request.created carries.
    assert.deepEqual([last.risk, last.environment], ['critical', 'staging'], 'a delete of a resource group named staging-…');
    assert.deepEqual(checkVersions(forged({ risk: 'low', environment: 'development' }), records).problems, [
      `version ${last.version + 1} (succeeded) is not backed by the audit chain: its risk "low" is not the one its approvers were shown ("critical"); its environment "development" is not the one its approvers were shown ("staging"); it was written into the database by other means`,
    ]);
    const { environment: _environment, ...noEnvironment } = last;
    assert.match(checkVersions([...versions, { ...noEnvironment, version: last.version + 1 }], records).problems[0] ?? '', /its environment "\(none\)" is not the one its approvers were shown \("staging"\)/);
    const { risk: _risk, ...noRisk } = last;
    assert.match(checkVersions([...versions, { ...noRisk, version: last.version + 1 }], records).problems[0] ?? '', /its risk "\(none\)" is not the one its approvers were shown \("critical"\)/);
    // A creation record written before both were recorded carries neither: nothing to compare.
    const older = records.map((x) => (x.type === 'request.created' ? { ...x, data: { expectationHash: (x.data as { expectationHash: string }).expectationHash } } : x));
    assert.deepEqual(checkVersions(forged({ risk: 'low', environment: 'development' }), older).problems, []);

    // The summary is drawn from the latest stored version: where that says otherwise, it says what the records carry.
    const summaryOf = (vs: typeof versions) => evidenceFiles({ requestId: ran.id, versions: vs, events: records, verification: { chain: { ok: true, count: 1, lastSeq: 1, headHash: '' }, checkpoints: { checked: 0, problems: [] }, events: { count: 0, ok: true, problems: [] } }, renderCard: () => ({}) }).find((x) => x.name === 'SUMMARY.md')!.content;
    assert.doesNotMatch(summaryOf(versions), /NOT AS RECORDED/);
    const told = summaryOf(forged({ reason: 'routine cleanup', requester: carol }));
    assert.match(told, /NOT AS RECORDED: its audit records say Alice Requester \S+ asked for it\./);
    assert.match(told, /NOT AS RECORDED: its audit records carry the reason INC-4711 outage cleanup\./);
  });

  it('numbers the cards of a request with many versions so that their names sort in version order', () => {
    const r = aRequest('CS-MANYVERS');
    const versions = Array.from({ length: 120 }, (_, i) => ({ ...r, version: i + 1 }));
    const files = evidenceFiles({ requestId: r.id, versions, events: [], verification: { chain: { ok: true, count: 0, lastSeq: 0, headHash: '0'.repeat(64) }, checkpoints: { checked: 0, problems: [] }, events: { count: 0, ok: true, problems: [] } }, renderCard: () => ({}) });
    const cards = files.map((f) => f.name).filter((n) => n.startsWith('cards/'));
    assert.equal(cards.length, 120);
    assert.deepEqual([...cards].sort(), cards, 'name order is version order');
    assert.equal(cards[8], 'cards/v009-pending.json');
    assert.equal(evidenceOf(r).map((f) => f.name).find((n) => n.startsWith('cards/')), 'cards/v01-pending.json', 'fewer than 100 versions: two digits, as before');
    const odd = evidenceFiles({ requestId: r.id, versions: [{ ...r, version: 'x'.repeat(200) as unknown as number }, { ...r, version: 2 }], events: [], verification: { chain: { ok: true, count: 0, lastSeq: 0, headHash: '0'.repeat(64) }, checkpoints: { checked: 0, problems: [] }, events: { count: 0, ok: true, problems: [] } }, renderCard: () => ({}) });
    assert.ok(odd.some((f) => f.name === 'cards/v02-pending.json'), 'a version edited into a long text does not widen the others');
  });

  it('names at most 20 stored versions not backed in SUMMARY.md, counting the rest, which verification.json names each', () => {
    const r = aRequest('CS-FLOODVER');
    const problems = Array.from({ length: 25 }, (_, i) => `version ${i + 2} (pending) is not backed by the audit chain: its reason "forged ${i}" is not the one its audit records carry`);
    const files = evidenceFiles({ requestId: r.id, versions: [r], events: [], verification: { chain: { ok: true, count: 0, lastSeq: 0, headHash: '0'.repeat(64) }, checkpoints: { checked: 0, problems: [] }, events: { count: 0, ok: true, problems: [] }, versions: { count: 26, ok: false, problems } }, renderCard: () => ({}) });
    const summary = files.find((f) => f.name === 'SUMMARY.md')!.content;
    assert.match(summary, /forged 19/);
    assert.doesNotMatch(summary, /forged 20/);
    assert.match(summary, /5 more version\(s\) not backed by the audit chain, each named in verification\.json/);
    assert.equal((JSON.parse(files.find((f) => f.name === 'verification.json')!.content) as { versions: { problems: string[] } }).versions.problems.length, 25);
    const quoted = recordedDamage(files.find((f) => f.name === 'verification.json')!.content);
    assert.equal(quoted.length, 21, 'audit verify --file of the bundle quotes as many, and the count');
    assert.match(quoted[20], /^Stored versions: 5 more version\(s\) not backed/);
  });
});
