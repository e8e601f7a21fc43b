/**
 * The Store contract: what every backend (SQLite now, PostgreSQL later) guarantees, as one suite
 * run against each. A backend test file calls storeContract with a factory for its harness.
 */
import assert from 'node:assert/strict';
import { BreakGlassLimitError, DuplicateRequestError, OpenRequestExistsError, VersionConflictError, type CardMessage } from '../../src/app/ports';
import type { CountersignStore as Store } from '../../src/store/countersign-store';
import { verifyChain } from '../../src/audit/verify/verify';
import { GENESIS_HASH } from '../../src/domain/audit';
import type { AuditRecord } from '../../src/domain/audit';
import { auditRecordHash } from '../../src/domain/canonical';
import type { ApprovalRequest, RequestState } from '../../src/domain/request';
import { DuplicateDownloadLinkError, type DownloadLink } from '../../src/audit/ports';
import { delegationContract } from './delegation-contract';
import { sentAgainContract } from './sent-again-contract';
import { aRequest, alice, anEvent, bob, requestRef, timeAt } from './fixtures';

export interface StoreHarness {
  store: Store;
  /** Closes the store (if open) and opens the same database again. */
  reopen(): Promise<Store>;
  /**
   * Runs SQL on a separate connection: what someone with direct database access could do. Absent
   * for a backend that has no database (the in-memory fake): the tests of database-level
   * guarantees are then not run.
   */
  exec?(sql: string): Promise<void>;
  /** Reads with SQL on a separate connection (absent where exec is). */
  query?(sql: string): Promise<Record<string, unknown>[]>;
  /**
   * Opens another store on the same database, as another instance would (closed by cleanup).
   * Absent for a backend that has one instance to a database.
   */
  another?(): Promise<Store>;
  /** Closes everything and removes the database. */
  cleanup(): Promise<void>;
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export function aLink(tokenHash: string, overrides: Partial<DownloadLink> = {}): DownloadLink {
  return {
    tokenHash,
    linkId: `link-${tokenHash.slice(0, 6)}`,
    format: 'csv',
    filter: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z' },
    requestedBy: bob,
    createdAt: '2026-11-02T09:00:00.000Z',
    expiresAt: '2026-11-02T09:15:00.000Z',
    ...overrides,
  };
}

function bumped(r: ApprovalRequest, changes: Partial<ApprovalRequest>): ApprovalRequest {
  return { ...r, ...changes, version: r.version + 1 };
}

export function storeContract(backend: string, open: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${backend}`, function () {
    let h: StoreHarness;
    let store: Store;

    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    describe('requests', () => {
      it('saves a new request at version 1 and reads it back unchanged', async () => {
        const r = aRequest('req-1');
        const records = await store.requests.insert(r, [anEvent('request.created')]);
        assert.deepEqual(await store.requests.get('req-1'), r);
        assert.equal(records.length, 1);
        assert.equal(records[0].type, 'request.created');
      });

      it('answers undefined for a request that does not exist', async () => {
        assert.equal(await store.requests.get('nope'), undefined);
      });

      it('refuses a second request with the same id and records no audit event for it', async () => {
        await store.requests.insert(aRequest('req-1'), [anEvent('request.created')]);
        await assert.rejects(
          store.requests.insert(aRequest('req-1', { command: 'other' }), [anEvent('request.created')]),
          (err: unknown) => err instanceof DuplicateRequestError && err.requestId === 'req-1',
        );
        assert.equal((await store.requests.get('req-1'))?.command, 'restart-vm');
        assert.equal((await collect(store.audit.read())).length, 1);
      });

      it('stores a break-glass use under a limit only while its requester has fewer uses of the command in the window, counting uses sent at once', async () => {
        const use = (id: string, usedAt: string, overrides: Partial<ApprovalRequest> = {}) =>
          aRequest(id, { state: 'approved', createdAt: usedAt, updatedAt: usedAt, breakGlass: { reason: 'outage', usedAt, reviewDueAt: timeAt(86_400) }, ...overrides });
        const limit = { count: 2, since: timeAt(0) };
        // Before the window, another command, another person, and an approved request: none counts.
        await store.requests.insert(use('old', '2026-11-02T08:59:59.000Z'), [anEvent('breakglass.used')]);
        await store.requests.insert(use('other-command', timeAt(10), { command: 'stop-vm' }), [anEvent('breakglass.used')]);
        await store.requests.insert(use('other-person', timeAt(10), { requester: bob }), [anEvent('breakglass.used')]);
        await store.requests.insert(aRequest('approved', { createdAt: timeAt(10), updatedAt: timeAt(10) }), [anEvent('request.created')]);
        await store.requests.insert(use('first', timeAt(20)), [anEvent('breakglass.used')], limit);
        // Sent at the same moment: exactly one more fits.
        const together = await Promise.allSettled(['a', 'b', 'c'].map((id) => store.requests.insert(use(id, timeAt(30)), [anEvent('breakglass.used', { data: { id } })], limit)));
        assert.equal(together.filter((x) => x.status === 'fulfilled').length, 1);
        for (const x of together) {
          if (x.status === 'rejected') assert.ok(x.reason instanceof BreakGlassLimitError && x.reason.usedAt.length === 2 && x.reason.usedAt.includes(timeAt(20)), String(x.reason));
        }
        const stored = await Promise.all(['a', 'b', 'c'].map((id) => store.requests.get(id)));
        assert.equal(stored.filter(Boolean).length, 1);
        assert.equal((await collect(store.audit.read({ types: ['breakglass.used'] }))).length, 5, 'no record of a refused use');
        // The same person's id in other letters is the same person.
        await assert.rejects(store.requests.insert(use('upper', timeAt(40), { requester: { ...alice, aadObjectId: alice.aadObjectId.toUpperCase() } }), [], limit), BreakGlassLimitError);
        // Once the window has moved past the first use, one more fits.
        await store.requests.insert(use('later', timeAt(50)), [], { count: 2, since: timeAt(20) });
      });

      it("stores a request under `once` only while its requester has no open request for the same operation, counting ones sent at once", async () => {
        const at = { at: timeAt(10) };
        await store.requests.insert(aRequest('once-open', { createdAt: timeAt(1), expiresAt: timeAt(3600) }), [anEvent('request.created')]);
        const before = (await collect(store.audit.read())).length;
        await assert.rejects(
          store.requests.insert(aRequest('once-again', { createdAt: timeAt(2), expiresAt: timeAt(3600), reason: 'sent again' }), [anEvent('request.created')], undefined, at),
          (err: unknown) => err instanceof OpenRequestExistsError && err.requestId === 'once-again' && err.openRequestId === 'once-open',
        );
        assert.equal(await store.requests.get('once-again'), undefined);
        assert.equal((await collect(store.audit.read())).length, before, 'nothing recorded for the refused insert');
        // Another person, another operation, or no `once`: stored.
        await store.requests.insert(aRequest('once-bob', { requester: bob, expiresAt: timeAt(3600) }), [], undefined, at);
        const other = aRequest('once-other', { expiresAt: timeAt(3600) });
        const web02 = { ...other.operation, resourceId: (other.operation as { resourceId: string }).resourceId.replace(/web-01$/, 'web-02') } as typeof other.operation;
        await store.requests.insert({ ...other, parameters: { vm: 'web-02', resourceGroup: 'rg-prod' }, operation: web02 }, [], undefined, at);
        // Once the open one ended, the same operation may be asked for again: of many at once, one is stored.
        const open = (await store.requests.get('once-open'))!;
        await store.requests.update({ ...open, version: 2, state: 'rejected' }, 1, []);
        const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.requests.insert(aRequest(`once-race-${i}`, { expiresAt: timeAt(3600) }), [anEvent('request.created')], undefined, at)));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        assert.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof OpenRequestExistsError));
        const alices = (await store.requests.list({ states: ['pending'], requester: alice.aadObjectId })).map((r) => r.id);
        assert.equal(alices.filter((id) => id.startsWith('once-race-')).length, 1);
      });

      it('refuses to insert a request whose version is not 1', async () => {
        await assert.rejects(store.requests.insert(aRequest('req-1', { version: 2 }), []), /version 1/);
        assert.equal(await store.requests.get('req-1'), undefined);
      });

      it('saves an update made against the current version, with its audit events', async () => {
        const r = aRequest('req-1');
        await store.requests.insert(r, [anEvent('request.created')]);
        const next = bumped(r, { state: 'approved', updatedAt: timeAt(60) });
        const records = await store.requests.update(next, 1, [anEvent('approval.granted', { actor: bob }), anEvent('request.approved')]);
        assert.deepEqual(await store.requests.get('req-1'), next);
        assert.deepEqual(
          records.map((x) => [x.seq, x.type]),
          [
            [2, 'approval.granted'],
            [3, 'request.approved'],
          ],
        );
      });

      it('refuses an update made against an old version (compare-and-swap)', async () => {
        const r = aRequest('req-1');
        await store.requests.insert(r, []);
        const v2 = bumped(r, { state: 'approved' });
        await store.requests.update(v2, 1, []);
        await assert.rejects(
          store.requests.update(bumped(r, { state: 'rejected' }), 1, []),
          (err: unknown) => err instanceof VersionConflictError && err.requestId === 'req-1' && err.expectedVersion === 1,
        );
        assert.equal((await store.requests.get('req-1'))?.state, 'approved');
      });

      it('refuses an update that does not move the version up by exactly one', async () => {
        const r = aRequest('req-1');
        await store.requests.insert(r, []);
        await assert.rejects(store.requests.update({ ...r, version: 3 }, 1, []), /from version 1 to 2/);
        await assert.rejects(store.requests.update({ ...r, version: 1 }, 1, []), /from version 1 to 2/);
        assert.equal((await store.requests.get('req-1'))?.version, 1);
      });

      it('refuses an update of a request that was never saved', async () => {
        await assert.rejects(store.requests.update(aRequest('ghost', { version: 2 }), 1, [anEvent('request.approved')]), /ghost/);
        assert.equal((await collect(store.audit.read())).length, 0);
      });

      it('lets exactly one of 20 concurrent updates of the same version win', async () => {
        const r = aRequest('req-1');
        await store.requests.insert(r, [anEvent('request.created')]);
        const attempts = Array.from({ length: 20 }, (_, i) =>
          store.requests.update(bumped(r, { outcomeDetail: `writer ${i}` }), 1, [anEvent('request.approved', { data: { writer: i } })]),
        );
        const results = await Promise.allSettled(attempts);
        const won = results.filter((x) => x.status === 'fulfilled');
        const lost = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
        assert.equal(won.length, 1);
        assert.equal(lost.length, 19);
        for (const l of lost) assert.ok(l.reason instanceof VersionConflictError, String(l.reason));
        const winner = results.findIndex((x) => x.status === 'fulfilled');
        const saved = await store.requests.get('req-1');
        assert.equal(saved?.version, 2);
        assert.equal(saved?.outcomeDetail, `writer ${winner}`);
        const events = await collect(store.audit.read({ types: ['request.approved'] }));
        assert.deepEqual(
          events.map((e) => e.data),
          [{ writer: winner }],
        );
      });

      it('writes a request and its audit events atomically: a conflicting update leaves no audit record', async () => {
        const r = aRequest('req-1');
        await store.requests.insert(r, [anEvent('request.created')]);
        await store.requests.update(bumped(r, { state: 'approved' }), 1, [anEvent('request.approved')]);
        const headBefore = await store.audit.head();
        await assert.rejects(store.requests.update(bumped(r, { state: 'rejected' }), 1, [anEvent('request.rejected')]), VersionConflictError);
        assert.deepEqual(await store.audit.head(), headBefore);
        const types = (await collect(store.audit.read())).map((e) => e.type);
        assert.deepEqual(types, ['request.created', 'request.approved']);
      });

      it('commits the other writes of a batch when one of them conflicts, with no gap in the chain', async () => {
        const a = aRequest('req-a');
        const b = aRequest('req-b');
        await Promise.all([store.requests.insert(a, [anEvent('request.created')]), store.requests.insert(b, [anEvent('request.created')])]);
        const settled = await Promise.allSettled([
          store.audit.append([anEvent('click.refused')]),
          store.requests.update(bumped(a, { state: 'approved' }), 1, [anEvent('request.approved')]),
          store.requests.update(bumped(a, { state: 'rejected' }), 1, [anEvent('request.rejected')]),
          store.requests.update(bumped(b, { state: 'cancelled' }), 1, [anEvent('request.cancelled')]),
          store.audit.append([anEvent('auth.refused')]),
        ]);
        // Of the two updates of req-a from version 1 one wins; which one is the store's to decide
        // (SQLite: the first submitted; PostgreSQL: whichever connection's UPDATE the server runs first).
        const statuses = settled.map((s) => s.status);
        assert.deepEqual([statuses[0], statuses[3], statuses[4]], ['fulfilled', 'fulfilled', 'fulfilled']);
        assert.deepEqual([statuses[1], statuses[2]].sort(), ['fulfilled', 'rejected']);
        const loser = settled[1].status === 'rejected' ? 'request.approved' : 'request.rejected';
        const rejection = settled[1].status === 'rejected' ? settled[1] : settled[2];
        assert.ok(rejection.status === 'rejected' && rejection.reason instanceof VersionConflictError);
        const records = await collect(store.audit.read());
        assert.deepEqual(
          records.map((x) => x.seq),
          [1, 2, 3, 4, 5, 6],
        );
        assert.ok(!records.some((x) => x.type === loser));
        assert.equal((await verifyChain(store.audit.read())).ok, true);
        assert.equal((await store.requests.get('req-b'))?.state, 'cancelled');
      });

      it('stores a request under `once` only while its requester has none open for the same operation, also when the object id holds a letter outside ASCII', async () => {
        const at = { at: timeAt(10) };
        for (const aadObjectId of [`Ä-${alice.aadObjectId}`, `İ-${alice.aadObjectId}`]) {
          const requester = { ...alice, aadObjectId };
          await store.requests.insert(aRequest(`first ${aadObjectId}`, { requester, expiresAt: timeAt(3600) }), [], undefined, at);
          await assert.rejects(
            store.requests.insert(aRequest(`again ${aadObjectId}`, { requester, expiresAt: timeAt(3600) }), [], undefined, at),
            (err: unknown) => err instanceof OpenRequestExistsError && err.openRequestId === `first ${aadObjectId}`,
          );
        }
      });

      it('finds its requester\'s open requests on the same target whatever the case of the letters of its names, as Azure reads them, and refuses one more under `once`', async () => {
        // `vm restart VM-Web-01` repeats `vm restart vm-web-01` (domain/same-operation.ts): the store hands it every candidate.
        const at = { at: timeAt(10) };
        const resourceId = (aRequest('x').operation as { resourceId: string }).resourceId;
        const first = aRequest('lower-case', { target: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-prod', resourceId }, expiresAt: timeAt(3600) });
        await store.requests.insert(first, [], undefined, at);
        const shouted = { ...first.target, resourceGroup: 'RG-Prod', resourceId: resourceId.replace('web-01', 'Web-01').replace('rg-prod', 'RG-PROD') };
        assert.deepEqual((await store.requests.list({ states: ['pending'], requester: alice.aadObjectId, target: shouted })).map((r) => r.id), ['lower-case']);
        const operation = { ...first.operation, resourceId: shouted.resourceId } as typeof first.operation;
        await assert.rejects(
          store.requests.insert(aRequest('upper-case', { target: shouted, operation, parameters: { vm: 'Web-01', resourceGroup: 'RG-Prod' }, expiresAt: timeAt(3600) }), [], undefined, at),
          (err: unknown) => err instanceof OpenRequestExistsError && err.openRequestId === 'lower-case',
        );
      });

      it('keeps a request whose target is thousands of bytes long, and compares it with its requester\'s open ones', async () => {
        // A target made of several parameters of 200 characters (the limit of each), three bytes
        // apiece in UTF-8, as a config that gives them no pattern lets through: longer than a
        // PostgreSQL btree entry may be (2704 bytes). Characters that do not repeat, so nothing compresses them.
        const value = (from: number) => Array.from({ length: 200 }, (_, i) => String.fromCharCode(from + i * 7)).join('');
        const group = value(0x4e00);
        const target = {
          subscriptionId: '00000000-0000-0000-0000-000000000001',
          resourceGroup: group,
          resourceId: `/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/${group}/providers/Microsoft.Web/sites/${value(0x5e00)}/slots/${value(0x6e00)}/hybridConnectionNamespaces/${value(0x7e00)}`,
        };
        assert.ok(Buffer.byteLength(JSON.stringify(target)) > 2704);
        const at = { at: timeAt(10) };
        await store.requests.insert(aRequest('long-target', { target, expiresAt: timeAt(3600) }), [anEvent('request.created')], undefined, at);
        assert.deepEqual((await store.requests.get('long-target'))?.target, target);
        assert.deepEqual(
          (await store.requests.list({ states: ['pending'], requester: alice.aadObjectId, target: { resourceId: target.resourceId, resourceGroup: group, subscriptionId: target.subscriptionId } })).map((r) => r.id),
          ['long-target'],
        );
        await assert.rejects(
          store.requests.insert(aRequest('long-target-again', { target, expiresAt: timeAt(3600) }), [], undefined, at),
          (err: unknown) => err instanceof OpenRequestExistsError && err.openRequestId === 'long-target',
        );
      });

      it('lists requests oldest first, filtered by state and expiry, up to a limit, page by page', async () => {
        await store.requests.insert(aRequest('late', { createdAt: timeAt(30), expiresAt: timeAt(300) }), []);
        await store.requests.insert(aRequest('early', { createdAt: timeAt(10), expiresAt: timeAt(100) }), []);
        await store.requests.insert(aRequest('middle', { createdAt: timeAt(20), expiresAt: timeAt(200), state: 'approved' }), []);
        await store.requests.insert(aRequest('done', { createdAt: timeAt(5), expiresAt: timeAt(50), state: 'succeeded' }), []);
        const ids = (rs: ApprovalRequest[]) => rs.map((r) => r.id);
        assert.deepEqual(ids(await store.requests.list({})), ['done', 'early', 'middle', 'late']);
        assert.deepEqual(ids(await store.requests.list({ states: ['pending', 'approved'] })), ['early', 'middle', 'late']);
        assert.deepEqual(ids(await store.requests.list({ states: ['pending', 'approved'], expiringBefore: timeAt(200) })), ['early']);
        assert.deepEqual(ids(await store.requests.list({ limit: 2 })), ['done', 'early']);
        assert.deepEqual(ids(await store.requests.list({ limit: 2, offset: 2 })), ['middle', 'late'], 'the next page');
        assert.deepEqual(ids(await store.requests.list({ states: ['pending', 'approved'], limit: 2, offset: 1 })), ['middle', 'late']);
        assert.deepEqual(ids(await store.requests.list({ offset: 3 })), ['late'], 'an offset alone');
        assert.deepEqual(ids(await store.requests.list({ limit: 2, offset: 4 })), [], 'past the end');
        assert.deepEqual(ids(await store.requests.list({ states: [] })), []);
      });

      it('lists the requests changed at or after an instant', async () => {
        await store.requests.insert(aRequest('old', { createdAt: timeAt(1), updatedAt: timeAt(10), state: 'succeeded' }), []);
        await store.requests.insert(aRequest('edge', { createdAt: timeAt(2), updatedAt: timeAt(20), state: 'failed' }), []);
        await store.requests.insert(aRequest('new', { createdAt: timeAt(3), updatedAt: timeAt(30), state: 'succeeded' }), []);
        const ids = (rs: ApprovalRequest[]) => rs.map((r) => r.id);
        assert.deepEqual(ids(await store.requests.list({ states: ['succeeded', 'failed'], updatedSince: timeAt(20) })), ['edge', 'new']);
        assert.deepEqual(ids(await store.requests.list({ states: ['succeeded'], updatedSince: timeAt(20) })), ['new']);
      });

      it('lists the requests changed at or after an instant whose outcome message is still owed, and drops one once settled', async () => {
        const owed = { since: timeAt(20), takenAt: timeAt(20), attempts: 1 };
        await store.requests.insert(aRequest('owed-old', { createdAt: timeAt(1), updatedAt: timeAt(10), state: 'succeeded', outcomeMessage: { ...owed, since: timeAt(10), takenAt: timeAt(10) } }), []);
        await store.requests.insert(aRequest('owed', { createdAt: timeAt(2), updatedAt: timeAt(20), state: 'failed', outcomeMessage: owed }), []);
        await store.requests.insert(aRequest('settled', { createdAt: timeAt(3), updatedAt: timeAt(30), state: 'succeeded' }), []);
        await store.requests.insert(aRequest('owed-new', { createdAt: timeAt(4), updatedAt: timeAt(30), state: 'unknown', outcomeMessage: { ...owed, attempts: 2 } }), []);
        const ids = (rs: ApprovalRequest[]) => rs.map((r) => r.id);
        const listed = await store.requests.list({ updatedSince: timeAt(20), outcomeMessageOwed: true });
        assert.deepEqual(ids(listed), ['owed', 'owed-new']);
        assert.deepEqual(listed[1].outcomeMessage, { ...owed, attempts: 2 }, 'read back as written');
        assert.deepEqual(ids(await store.requests.list({ outcomeMessageOwed: true })), ['owed-old', 'owed', 'owed-new']);
        const { outcomeMessage: _sent, ...rest } = listed[0];
        await store.requests.update({ ...rest, version: rest.version + 1, updatedAt: timeAt(40) }, rest.version, []);
        assert.deepEqual(ids(await store.requests.list({ updatedSince: timeAt(20), outcomeMessageOwed: true })), ['owed-new']);
      });

      it("lists one requester's requests in the states asked for, whatever the case of the object id's letters, and drops one that ended", async () => {
        const shouting = { ...alice, aadObjectId: alice.aadObjectId.toUpperCase() };
        await store.requests.insert(aRequest('a-pending', { createdAt: timeAt(1) }), []);
        await store.requests.insert(aRequest('b-pending', { createdAt: timeAt(2), requester: bob }), []);
        await store.requests.insert(aRequest('a-done', { createdAt: timeAt(3), state: 'succeeded' }), []);
        await store.requests.insert(aRequest('a-scheduled', { createdAt: timeAt(4), state: 'scheduled', requester: shouting }), []);
        const open: RequestState[] = ['pending', 'needs_reapproval', 'approved', 'scheduled', 'executing'];
        const ids = (rs: ApprovalRequest[]) => rs.map((r) => r.id);
        assert.deepEqual(ids(await store.requests.list({ states: open, requester: alice.aadObjectId })), ['a-pending', 'a-scheduled']);
        assert.deepEqual(ids(await store.requests.list({ states: open, requester: alice.aadObjectId.toUpperCase() })), ['a-pending', 'a-scheduled']);
        assert.deepEqual(ids(await store.requests.list({ states: open, requester: bob.aadObjectId })), ['b-pending']);
        assert.deepEqual(ids(await store.requests.list({ requester: alice.aadObjectId })), ['a-pending', 'a-done', 'a-scheduled']);
        assert.deepEqual(ids(await store.requests.list({ states: open, requester: '77777777-7777-4777-8777-777777777777' })), []);
        // By target too: the same subscription, group and resource, whatever the order of its fields.
        const elsewhere = { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-test' };
        await store.requests.insert(aRequest('a-elsewhere', { createdAt: timeAt(5), target: elsewhere }), []);
        const here = aRequest('x').target;
        assert.deepEqual(ids(await store.requests.list({ states: open, requester: alice.aadObjectId, target: here })), ['a-pending', 'a-scheduled']);
        assert.deepEqual(ids(await store.requests.list({ states: open, requester: alice.aadObjectId, target: { resourceGroup: 'rg-test', subscriptionId: elsewhere.subscriptionId } })), ['a-elsewhere']);
        assert.deepEqual(ids(await store.requests.list({ states: open, requester: alice.aadObjectId, target: { ...here, resourceId: `/subscriptions/x/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/web-09` } })), []);
        const pending = (await store.requests.get('a-pending'))!;
        await store.requests.update({ ...pending, version: 2, state: 'cancelled' }, 1, []);
        assert.deepEqual(ids(await store.requests.list({ states: open, requester: alice.aadObjectId })), ['a-scheduled', 'a-elsewhere']);
      });

      it('lists the break-glass requests whose review is waiting and due, and drops one once it is reviewed', async () => {
        const used = (dueAt: string, more: Partial<NonNullable<ApprovalRequest['breakGlass']>> = {}) => ({ reason: 'outage', usedAt: timeAt(1), reviewDueAt: dueAt, ...more });
        await store.requests.insert(aRequest('due', { state: 'succeeded', breakGlass: used(timeAt(100)) }), []);
        await store.requests.insert(aRequest('later', { state: 'failed', breakGlass: used(timeAt(900)) }), []);
        await store.requests.insert(aRequest('reviewed', { state: 'succeeded', breakGlass: used(timeAt(50), { review: { verdict: 'ratified', by: bob, at: timeAt(40) } }) }), []);
        await store.requests.insert(aRequest('escalated', { state: 'succeeded', breakGlass: used(timeAt(50), { overdueAt: timeAt(60) }) }), []);
        await store.requests.insert(aRequest('running', { state: 'executing', breakGlass: used(timeAt(50)) }), []);
        await store.requests.insert(aRequest('plain', { state: 'succeeded' }), []);
        const ended: ApprovalRequest['state'][] = ['succeeded', 'failed', 'unknown', 'cancelled'];
        const ids = (rs: ApprovalRequest[]) => rs.map((r) => r.id).sort();
        assert.deepEqual(ids(await store.requests.list({ states: ended, reviewDueBy: timeAt(500) })), ['due']);
        assert.deepEqual(ids(await store.requests.list({ states: ended, reviewDueBy: timeAt(1000) })), ['due', 'later']);
        const due = (await store.requests.get('due'))!;
        await store.requests.update({ ...due, version: 2, breakGlass: { ...due.breakGlass!, review: { verdict: 'flagged', by: bob, at: timeAt(120) } } }, 1, []);
        assert.deepEqual(ids(await store.requests.list({ states: ended, reviewDueBy: timeAt(1000) })), ['later']);
      });

      it('lists the break-glass uses nobody reviewed yet, escalated ones too, for pending', async () => {
        const used = (more: Partial<NonNullable<ApprovalRequest['breakGlass']>> = {}) => ({ reason: 'outage', usedAt: timeAt(1), reviewDueAt: timeAt(100), ...more });
        await store.requests.insert(aRequest('waiting', { state: 'succeeded', breakGlass: used() }), []);
        await store.requests.insert(aRequest('escalated', { state: 'failed', breakGlass: used({ overdueAt: timeAt(120) }) }), []);
        await store.requests.insert(aRequest('reviewed', { state: 'succeeded', breakGlass: used({ review: { verdict: 'ratified', by: bob, at: timeAt(40) } }) }), []);
        await store.requests.insert(aRequest('running', { state: 'executing', breakGlass: used() }), []);
        await store.requests.insert(aRequest('plain', { state: 'succeeded' }), []);
        const ended: ApprovalRequest['state'][] = ['succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'];
        const ids = (rs: ApprovalRequest[]) => rs.map((r) => r.id).sort();
        assert.deepEqual(ids(await store.requests.list({ states: ended, reviewWaiting: true })), ['escalated', 'waiting']);
        assert.deepEqual(ids(await store.requests.list({ states: ended, reviewWaiting: true, limit: 1, offset: 1 })).length, 1, 'paged');
      });

      it('lists the requests an accepted loss of audit records expired, not those expired by time', async () => {
        await store.requests.insert(aRequest('lost', { state: 'expired', expiredAtAuditLoss: { at: timeAt(10), head: 41 } }), []);
        await store.requests.insert(aRequest('lost-empty', { state: 'expired', expiredAtAuditLoss: { at: timeAt(10), head: null } }), []);
        await store.requests.insert(aRequest('timed', { state: 'expired' }), []);
        await store.requests.insert(aRequest('open', { state: 'pending' }), []);
        const ids = (rs: ApprovalRequest[]) => rs.map((r) => r.id).sort();
        assert.deepEqual(ids(await store.requests.list({ states: ['expired'], expiredAtAuditLoss: true })), ['lost', 'lost-empty']);
      });

      it('lists a break-glass use whose round of announcements is under way, whatever its state, from the round\'s start, until it is reviewed', async () => {
        const used = { reason: 'outage', usedAt: timeAt(1), reviewDueAt: timeAt(900) };
        const round = (occasion: 'break-glass' | 'created', at: string) => ({ occasion, at, people: ['p1'], channels: [] });
        await store.requests.insert(aRequest('running', { state: 'executing', breakGlass: used, round: round('break-glass', timeAt(5)) }), []);
        await store.requests.insert(aRequest('ended', { state: 'succeeded', breakGlass: used, round: round('break-glass', timeAt(950)) }), []);
        await store.requests.insert(aRequest('asked', { state: 'pending', round: round('created', timeAt(5)) }), []);
        const ids = (rs: ApprovalRequest[]) => rs.map((r) => r.id).sort();
        assert.deepEqual(ids(await store.requests.list({ reviewDueBy: timeAt(10) })), ['running'], 'a plain request\'s round is not a break-glass matter');
        assert.deepEqual(ids(await store.requests.list({ reviewDueBy: timeAt(900) })), ['ended', 'running'], 'the ended use by its review, before its round began');
        const running = (await store.requests.get('running'))!;
        await store.requests.update({ ...running, version: 2, state: 'succeeded', breakGlass: { ...used, review: { verdict: 'ratified', by: bob, at: timeAt(8) } } }, 1, []);
        assert.deepEqual(ids(await store.requests.list({ reviewDueBy: timeAt(1000) })), ['ended'], 'once reviewed, nothing about it is due');
      });
    });

    describe('audit log', () => {
      it('chains records from the genesis hash, each naming the hash of the one before', async () => {
        const first = await store.audit.append([anEvent('config.loaded'), anEvent('request.created')]);
        const second = await store.audit.append([anEvent('request.approved')]);
        const all = [...first, ...second];
        assert.deepEqual(
          all.map((r) => r.seq),
          [1, 2, 3],
        );
        assert.equal(all[0].prevHash, GENESIS_HASH);
        assert.equal(all[1].prevHash, all[0].hash);
        assert.equal(all[2].prevHash, all[1].hash);
        for (const r of all) assert.equal(r.hash, auditRecordHash(r));
        assert.equal(new Set(all.map((r) => r.id)).size, 3);
        assert.deepEqual(await store.audit.head(), { seq: 3, hash: all[2].hash });
        assert.deepEqual(await collect(store.audit.read()), all);
      });

      it('has no head before the first record', async () => {
        assert.equal(await store.audit.head(), undefined);
        assert.deepEqual(await collect(store.audit.read()), []);
      });

      it('neutralises CR and LF in recorded text so no line can be forged in an export', async () => {
        const [r] = await store.audit.append([anEvent('request.refused', { outcome: { result: 'refused', detail: 'line1\r\nFAKE RECORD' } })]);
        assert.equal(r.outcome.detail, 'line1\\r\\nFAKE RECORD');
        const [stored] = await collect(store.audit.read());
        assert.equal(stored.outcome.detail, 'line1\\r\\nFAKE RECORD');
      });

      it('keeps a gapless, valid chain under 50 concurrent appenders', async () => {
        const appenders = Array.from({ length: 50 }, async (_, w) => {
          const mine: AuditRecord[] = [];
          for (let i = 0; i < 10; i++) mine.push(...(await store.audit.append([anEvent('execution.progressed', { data: { w, i } })])));
          return mine;
        });
        const returned = (await Promise.all(appenders)).flat();
        const stored = await collect(store.audit.read());
        assert.equal(stored.length, 500);
        assert.deepEqual(
          stored.map((r) => r.seq),
          Array.from({ length: 500 }, (_, i) => i + 1),
        );
        assert.deepEqual(
          [...returned].sort((a, b) => a.seq - b.seq),
          stored,
        );
        const v = await verifyChain(store.audit.read());
        assert.equal(v.ok, true, v.problem?.message);
        assert.equal(v.count, 500);
        assert.deepEqual(await store.audit.head(), { seq: 500, hash: stored[499].hash });
      });

      it('rejects an append that cannot be recorded, and the chain stays intact', async () => {
        await store.audit.append([anEvent('config.loaded')]);
        await assert.rejects(store.audit.append([anEvent('request.created', { data: { bad: Number.NaN } })]));
        await assert.rejects(store.audit.append([anEvent('request.created', { data: { fn: (() => 1) as unknown } })]));
        const [next] = await store.audit.append([anEvent('request.created')]);
        assert.equal(next.seq, 2);
        assert.equal((await verifyChain(store.audit.read())).ok, true);
      });

      it('reads in seq order, filtered by time window, seq, request, actor and type', async () => {
        await store.audit.append([
          anEvent('request.created', { time: timeAt(1), request: requestRef('req-1') }),
          anEvent('approval.granted', { time: timeAt(2), actor: bob, request: requestRef('req-1') }),
          anEvent('request.created', { time: timeAt(3), request: requestRef('req-2') }),
          anEvent('config.loaded', { time: timeAt(4), actor: undefined, request: undefined }),
          anEvent('request.expired', { time: timeAt(5), request: requestRef('req-2') }),
        ]);
        const seqs = async (f: Parameters<Store['audit']['read']>[0]) => (await collect(store.audit.read(f))).map((r) => r.seq);
        assert.deepEqual(await seqs({ from: timeAt(2), to: timeAt(4) }), [2, 3]);
        assert.deepEqual(await seqs({ fromSeq: 4 }), [4, 5]);
        assert.deepEqual(await seqs({ requestId: 'req-2' }), [3, 5]);
        assert.deepEqual(await seqs({ actorId: bob.aadObjectId }), [2]);
        assert.deepEqual(await seqs({ actorId: alice.aadObjectId, requestId: 'req-1' }), [1]);
        assert.deepEqual(await seqs({ types: ['request.created', 'config.loaded'] }), [1, 3, 4]);
        assert.deepEqual(await seqs({ types: [] }), []);
      });

      it('reads a time window as the run of the chain it selects: from the first record at or after from to the last before to, records whose times cross inside it included', async () => {
        // Appended with their clocks out of step, as instances of one PostgreSQL database may be
        // (SQLite and the fake seal a time that went back as the previous record's: 1 3 3 4 6 6).
        const times = [1, 3, 2, 4, 6, 5];
        for (const t of times) await store.audit.append([anEvent(t % 2 ? 'request.created' : 'config.loaded', { time: timeAt(t) })]);
        const stored = await collect(store.audit.read());
        const seqs = async (f: Parameters<Store['audit']['read']>[0]) => (await collect(store.audit.read(f))).map((r) => r.seq);
        /** The run, from the stored times: what every backend must select. */
        const run = (from?: string, to?: string) => {
          const first = from === undefined ? 1 : stored.find((r) => r.time >= from)?.seq;
          const last = to === undefined ? stored.length : [...stored].reverse().find((r) => r.time < to)?.seq;
          return first === undefined || last === undefined ? [] : stored.filter((r) => r.seq >= first && r.seq <= last).map((r) => r.seq);
        };
        // Record 3 (time 2 where the clock allows it) lies inside the run of 3 up to 5: it is read.
        assert.deepEqual(await seqs({ from: timeAt(3), to: timeAt(5) }), [2, 3, 4]);
        for (const [from, to] of [[2, 6], [3, undefined], [undefined, 3], [4, 7], [1, 2], [7, undefined], [undefined, 1], [5, 6]]) {
          const window = { ...(from !== undefined ? { from: timeAt(from) } : {}), ...(to !== undefined ? { to: timeAt(to) } : {}) };
          assert.deepEqual(await seqs(window), run(window.from, window.to), JSON.stringify({ from, to }));
        }
        // The other filters apply within the run, as before.
        assert.deepEqual(await seqs({ from: timeAt(3), to: timeAt(5), types: ['config.loaded'] }), [3, 4]);
        assert.deepEqual(await seqs({ from: timeAt(2), fromSeq: 4 }), run(timeAt(2)).filter((s) => s >= 4));
      });

      it('reads a person\'s records whatever the case of the object id\'s letters, as stored or as asked for', async () => {
        const frank = { ...bob, aadObjectId: 'c0ffee00-ca70-4ca7-8ca7-ca70ca70ca70' };
        await store.audit.append([
          anEvent('request.refused', { actor: frank }),
          anEvent('request.refused', { actor: { ...frank, aadObjectId: frank.aadObjectId.toUpperCase() } }),
          anEvent('request.refused', { actor: alice }),
          anEvent('request.refused', { actor: { ...frank, aadObjectId: 'C0ffee00-ca70-4ca7-8ca7-ca70ca70ca70' } }),
        ]);
        const seqs = async (actorId: string) => (await collect(store.audit.read({ actorId }))).map((r) => r.seq);
        assert.deepEqual(await seqs(frank.aadObjectId), [1, 2, 4]);
        assert.deepEqual(await seqs(frank.aadObjectId.toUpperCase()), [1, 2, 4]);
        assert.deepEqual(await seqs('C0FFEE00-ca70-4ca7-8ca7-CA70CA70CA70'), [1, 2, 4]);
        // Stored as it came: the record is what was sent.
        assert.deepEqual((await collect(store.audit.read({ actorId: frank.aadObjectId }))).map((r) => r.actor?.aadObjectId), [frank.aadObjectId, frank.aadObjectId.toUpperCase(), 'C0ffee00-ca70-4ca7-8ca7-ca70ca70ca70']);
      });

      it("reads a person's records by an object id holding letters outside ASCII, as stored and with its ASCII letters in another case", async () => {
        // Folded to lower case by the database's lower(), as the index holds them, not by JavaScript's
        // (SQLite folds ASCII only: Ä stays; PostgreSQL folds İ to i where JavaScript makes it i and a dot).
        const odd = [`Ä-${bob.aadObjectId}`, `İ-${bob.aadObjectId}`];
        await store.audit.append(odd.map((aadObjectId) => anEvent('request.refused', { actor: { ...bob, aadObjectId } })));
        const seqs = async (actorId: string) => (await collect(store.audit.read({ actorId }))).map((r) => r.seq);
        const scanned = async (actorId: string) => (await collect(store.audit.read({ actorId }, { scan: true }))).map((r) => r.seq);
        const asciiUpper = (id: string) => id.replace(/[a-z]/g, (c) => c.toUpperCase());
        for (const [i, id] of odd.entries()) {
          assert.deepEqual(await seqs(id), [i + 1], id);
          assert.deepEqual(await seqs(asciiUpper(id)), [i + 1], id);
          assert.deepEqual(await scanned(id), [i + 1], id);
        }
      });

      it('reads the same records scanning every one of them as through the indexes, across many pages and windows', async () => {
        const events = Array.from({ length: 400 }, (_, i) =>
          anEvent(i % 5 ? 'execution.progressed' : 'request.created', {
            time: timeAt(i),
            request: requestRef(i % 97 === 0 ? 'req-rare' : `req-${i % 3}`),
            ...(i % 7 === 0 ? { actor: undefined } : { actor: i % 50 === 0 ? { ...bob, aadObjectId: bob.aadObjectId.toUpperCase() } : alice }),
          }),
        );
        for (let i = 0; i < events.length; i += 100) await store.audit.append(events.slice(i, i + 100));
        const all = await collect(store.audit.read());
        const filters: Parameters<Store['audit']['read']>[0][] = [
          { requestId: 'req-rare' },
          { requestId: 'req-1' },
          { actorId: bob.aadObjectId },
          { requestId: 'req-2', actorId: alice.aadObjectId },
          { types: ['request.created'], requestId: 'req-rare' },
          { from: timeAt(150), to: timeAt(390), requestId: 'req-rare' },
          { fromSeq: 300, actorId: bob.aadObjectId },
          { requestId: 'req-none' },
          {},
        ];
        for (const filter of filters) {
          const indexed = (await collect(store.audit.read(filter))).map((r) => r.seq);
          const scanned = (await collect(store.audit.read(filter, { scan: true }))).map((r) => r.seq);
          assert.deepEqual(scanned, indexed, JSON.stringify(filter));
        }
        assert.deepEqual((await collect(store.audit.read({ requestId: 'req-rare' }, { scan: true }))).map((r) => r.seq), all.filter((r) => r.request?.id === 'req-rare').map((r) => r.seq));
        assert.deepEqual((await collect(store.audit.read({ actorId: bob.aadObjectId }, { scan: true }))).map((r) => r.seq), all.filter((r) => r.actor?.aadObjectId.toLowerCase() === bob.aadObjectId.toLowerCase()).map((r) => r.seq));
      });

      it('streams a long log across many pages, in order', async () => {
        for (let i = 0; i < 10; i++) {
          await store.audit.append(Array.from({ length: 30 }, (_, j) => anEvent('execution.progressed', { time: timeAt(i * 30 + j) })));
        }
        const got = await collect(store.audit.read({ from: timeAt(17) }));
        assert.deepEqual(
          got.map((r) => r.seq),
          Array.from({ length: 300 - 17 }, (_, i) => i + 18),
        );
      });

      it('refuses UPDATE and DELETE on the audit log at the database level', async function () {
        if (!h.exec) this.skip();
        await store.audit.append([anEvent('request.created')]);
        await assert.rejects(h.exec("UPDATE audit_log SET type = 'request.approved'"), /append-only/);
        await assert.rejects(h.exec('DELETE FROM audit_log'), /append-only/);
        const [r] = await collect(store.audit.read());
        assert.equal(r.type, 'request.created');
      });

      it('has a resolved append on disk: another connection sees it, and a reopened store continues the chain', async () => {
        const [r] = await store.audit.append([anEvent('request.created')]);
        if (h.query) {
          const rows = await h.query('SELECT seq, hash FROM audit_log');
          assert.deepEqual(rows, [{ seq: 1, hash: r.hash }]);
        }
        store = await h.reopen();
        assert.deepEqual(await store.audit.head(), { seq: 1, hash: r.hash });
        const [next] = await store.audit.append([anEvent('request.approved')]);
        assert.equal(next.seq, 2);
        assert.equal(next.prevHash, r.hash);
      });
    });

    delegationContract(
      () => store,
      async () => (store = await h.reopen()),
    );

    sentAgainContract(
      () => store,
      () => (h.another ? h.another() : Promise.resolve(store)),
    );

    describe('conversations', () => {
      it('saves a conversation reference and replaces it when saved again', async () => {
        assert.equal(await store.conversations.getReference('conv-1'), undefined);
        await store.conversations.saveReference('conv-1', { serviceUrl: 'https://smba.example/', conversation: { id: 'conv-1' } });
        await store.conversations.saveReference('conv-1', { serviceUrl: 'https://smba2.example/', conversation: { id: 'conv-1' } });
        assert.deepEqual(await store.conversations.getReference('conv-1'), { serviceUrl: 'https://smba2.example/', conversation: { id: 'conv-1' } });
      });

      it('keeps a person\'s personal chat by tenant and object id, letter case ignored, replaced when saved again', async () => {
        const tenant = '6F1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D';
        assert.equal(await store.conversations.getPersonalReference(tenant, 'ABC-1'), undefined);
        await store.conversations.savePersonalReference(tenant, 'ABC-1', { conversation: { id: 'a:old' } });
        await store.conversations.savePersonalReference(tenant.toLowerCase(), 'abc-1', { conversation: { id: 'a:new' }, user: { name: 'Bob' } });
        await store.conversations.savePersonalReference(tenant, 'abc-2', { conversation: { id: 'a:other' } });
        assert.deepEqual(await store.conversations.getPersonalReference(tenant, 'ABC-1'), { conversation: { id: 'a:new' }, user: { name: 'Bob' } });
        assert.deepEqual(await store.conversations.getPersonalReference(tenant, 'abc-2'), { conversation: { id: 'a:other' } });
        assert.equal(await store.conversations.getPersonalReference('99999999-9999-4999-8999-999999999999', 'abc-1'), undefined, 'another tenant\'s person is another person');
        assert.equal(await store.conversations.getReference('a:new'), undefined, 'a personal chat saved by person is not a conversation reference');
      });

      it('keeps every conversation a card was posted to, once each', async () => {
        await store.cards.saveCardMessage('req-1', { conversationId: 'conv-1', activityId: 'a1' });
        await store.cards.saveCardMessage('req-1', { conversationId: 'conv-2', activityId: 'a2' });
        await store.cards.saveCardMessage('req-1', { conversationId: 'conv-1', activityId: 'a1' });
        await store.cards.saveCardMessage('req-2', { conversationId: 'conv-1', activityId: 'a3' });
        assert.deepEqual(await store.cards.getCardMessages('req-1'), [
          { conversationId: 'conv-1', activityId: 'a1' },
          { conversationId: 'conv-2', activityId: 'a2' },
        ]);
        assert.deepEqual(await store.cards.getCardMessages('req-3'), []);
      });

      it('lets one card version be claimed once, by one of many at once, and never after a newer one', async () => {
        const a1 = { conversationId: 'conv-1', activityId: 'a1' };
        const a2 = { conversationId: 'conv-2', activityId: 'a2' };
        await store.cards.saveCardMessage('req-1', a1);
        await store.cards.saveCardMessage('req-1', a2);
        const claim = (message: CardMessage, version: number, holder = 'i1') => store.cards.claimCardVersion('req-1', message, version, { holder, ms: 60_000 });
        const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => claim(a1, 3, `i${i}`)));
        assert.equal(claims.filter((c) => c === 'claimed').length, 1, claims.join());
        await store.cards.releaseCardVersion('req-1', a1, 3, `i${claims.indexOf('claimed')}`);
        assert.equal(await claim(a1, 3), 'outdated', 'the same version again');
        assert.equal(await claim(a1, 2), 'outdated', 'an older version after a newer one');
        assert.equal(await claim(a1, 4), 'claimed', 'a newer version');
        assert.equal(await claim(a2, 2), 'claimed', 'each card message keeps its own version');
        assert.equal(await store.cards.claimCardVersion('req-2', a1, 9, { holder: 'i1', ms: 60_000 }), 'outdated', 'a message not bound to the request');
        const racing = await Promise.all([6, 5, 7, 5, 6].map((v) => claim(a1, v)));
        assert.equal(racing[2], 'claimed', 'the newest of one holder\'s racing versions is always claimed');
        assert.equal(await claim(a1, 7, 'i2'), 'outdated');
        await store.cards.saveCardMessage('req-1', a1);
        assert.equal(await claim(a1, 7, 'i2'), 'outdated', 'binding the message again keeps what was sent');
      });

      it('holds a claimed card version for its holder until released: a newer one from another waits, then goes', async () => {
        const a1 = { conversationId: 'conv-1', activityId: 'a1' };
        await store.cards.saveCardMessage('req-1', a1);
        const claim = (version: number, holder: string) => store.cards.claimCardVersion('req-1', a1, version, { holder, ms: 60_000 });
        assert.equal(await claim(5, 'i1'), 'claimed');
        assert.equal(await claim(6, 'i2'), 'busy', 'the older version may still be on its way to Teams');
        assert.equal(await claim(4, 'i2'), 'outdated', 'an older version is never worth waiting for');
        assert.equal(await claim(5, 'i1'), 'claimed', 'the holder renews its lease before sending again');
        assert.equal(await claim(7, 'i1'), 'claimed', 'the holder moves on to a newer version');
        await store.cards.releaseCardVersion('req-1', a1, 5, 'i1');
        assert.equal(await claim(8, 'i2'), 'busy', 'releasing a version no longer held leaves the lease alone');
        await store.cards.releaseCardVersion('req-1', a1, 7, 'i2');
        assert.equal(await claim(8, 'i2'), 'busy', 'only the holder releases');
        await store.cards.releaseCardVersion('req-1', a1, 7, 'i1');
        assert.equal(await claim(8, 'i2'), 'claimed', 'released: the newer version goes');
        assert.equal(await claim(7, 'i1'), 'outdated', 'and the older one never after it');
      });

      it('gives a card version back when its update failed: it may be claimed again, an older one still may not', async () => {
        const a1 = { conversationId: 'conv-1', activityId: 'a1' };
        await store.cards.saveCardMessage('req-1', a1);
        const claim = (version: number, holder: string) => store.cards.claimCardVersion('req-1', a1, version, { holder, ms: 60_000 });
        assert.equal(await claim(3, 'i1'), 'claimed');
        await store.cards.releaseCardVersion('req-1', a1, 3, 'i1');
        assert.equal(await claim(5, 'i1'), 'claimed');
        await store.cards.releaseCardVersion('req-1', a1, 5, 'i2', false);
        assert.equal(await claim(6, 'i2'), 'busy', 'only the holder gives its version back');
        await store.cards.releaseCardVersion('req-1', a1, 5, 'i1', false);
        assert.equal(await claim(5, 'i1'), 'claimed', 'the failed version is claimed again, to send it again');
        await store.cards.releaseCardVersion('req-1', a1, 5, 'i1', false);
        assert.equal(await claim(4, 'i2'), 'outdated', 'one older than the failed one is not worth sending: that one or a newer one will go');
        assert.equal(await claim(5, 'i1'), 'claimed');
        await store.cards.releaseCardVersion('req-1', a1, 5, 'i1');
        assert.equal(await claim(5, 'i2'), 'outdated', 'once Teams took it, it is sent');
        assert.equal(await claim(7, 'i2'), 'claimed');
        await store.cards.releaseCardVersion('req-1', a1, 7, 'i2', false);
        assert.equal(await claim(8, 'i1'), 'claimed', 'a newer one may go before the failed one is sent again');
        await store.cards.releaseCardVersion('req-1', a1, 8, 'i1');
        assert.equal(await claim(7, 'i2'), 'outdated', 'and the failed one is then never sent over it');
      });

      it('claims the version sent last once more for a card shown differently (again), never an older one, and waits for another holder\'s live lease', async () => {
        const a1 = { conversationId: 'conv-1', activityId: 'a1' };
        await store.cards.saveCardMessage('req-1', a1);
        const again = (version: number, holder: string) => store.cards.claimCardVersion('req-1', a1, version, { holder, ms: 60_000, again: true });
        assert.equal(await store.cards.claimCardVersion('req-1', a1, 5, { holder: 'i1', ms: 60_000 }), 'claimed');
        assert.equal(await again(5, 'w1'), 'busy', "i1's update of that version may still be on its way");
        await store.cards.releaseCardVersion('req-1', a1, 5, 'i1');
        assert.equal(await store.cards.claimCardVersion('req-1', a1, 5, { holder: 'i2', ms: 60_000 }), 'outdated', 'without again: sent already');
        assert.equal(await again(4, 'w1'), 'outdated', 'an older version never');
        assert.equal(await again(5, 'w1'), 'claimed');
        assert.equal(await store.cards.claimCardVersion('req-1', a1, 6, { holder: 'i2', ms: 60_000 }), 'busy', 'a newer one waits for it');
        await store.cards.releaseCardVersion('req-1', a1, 5, 'w1');
        assert.equal(await store.cards.claimCardVersion('req-1', a1, 6, { holder: 'i2', ms: 60_000 }), 'claimed');
        await store.cards.releaseCardVersion('req-1', a1, 6, 'i2');
        assert.equal(await again(5, 'w2'), 'outdated', 'the card shows a newer version');
      });

      it('tells each card message the version it is settled at: the one sent or posted, none while a lease on it is held', async () => {
        const a1 = { conversationId: 'conv-1', activityId: 'a1' };
        const a2 = { conversationId: 'conv-2', activityId: 'a2' };
        await store.cards.saveCardMessage('req-1', a1, 4);
        await store.cards.saveCardMessage('req-1', a2);
        const settled = async () => (await store.cards.getSettledCardMessages('req-1')).map((m) => [m.activityId, m.settledVersion]);
        assert.deepEqual(await settled(), [['a1', 4], ['a2', 0]], 'posted showing version 4; one saved without its version shows none');
        assert.equal(await store.cards.claimCardVersion('req-1', a1, 6, { holder: 'i1', ms: 60_000 }), 'claimed');
        assert.deepEqual(await settled(), [['a1', 0], ['a2', 0]], 'while its update may be on its way, nothing is taken as shown');
        await store.cards.releaseCardVersion('req-1', a1, 6, 'i1', false);
        assert.deepEqual(await settled(), [['a1', 5], ['a2', 0]], 'a failed update gives its version back');
        assert.equal(await store.cards.claimCardVersion('req-1', a1, 6, { holder: 'i1', ms: 60_000 }), 'claimed');
        await store.cards.releaseCardVersion('req-1', a1, 6, 'i1');
        assert.deepEqual(await settled(), [['a1', 6], ['a2', 0]], 'Teams took it');
        assert.deepEqual(await store.cards.getSettledCardMessages('req-2'), []);
      });

      it('records the version a card was saved showing as sent to it: that one is not sent again, a newer one is', async () => {
        const a1 = { conversationId: 'conv-1', activityId: 'a1' };
        const a2 = { conversationId: 'conv-1', activityId: 'a2' };
        await store.cards.saveCardMessage('req-1', a1, 4);
        await store.cards.saveCardMessage('req-1', a2);
        const claim = (message: CardMessage, version: number) => store.cards.claimCardVersion('req-1', message, version, { holder: 'i1', ms: 60_000 });
        assert.equal(await claim(a1, 4), 'outdated', 'the card shows that version already');
        assert.equal(await claim(a1, 3), 'outdated', 'and an older one never');
        assert.equal(await claim(a2, 1), 'claimed', 'a card saved without its version is updated once');
        store = await h.reopen();
        assert.equal(await claim(a1, 4), 'outdated', 'kept when the store is reopened');
        await store.cards.saveCardMessage('req-1', a1, 9);
        assert.equal(await claim(a1, 5), 'claimed', 'binding the message again keeps the version it recorded first');
        assert.deepEqual(await store.cards.getCardMessages('req-1'), [a1, a2]);
      });

      it('lets another holder take over a claim whose lease ran out (its instance died)', async () => {
        const a1 = { conversationId: 'conv-1', activityId: 'a1' };
        await store.cards.saveCardMessage('req-1', a1);
        assert.equal(await store.cards.claimCardVersion('req-1', a1, 5, { holder: 'dead', ms: 1 }), 'claimed');
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(await store.cards.claimCardVersion('req-1', a1, 6, { holder: 'i2', ms: 60_000 }), 'claimed');
        assert.equal(await store.cards.claimCardVersion('req-1', a1, 5, { holder: 'dead', ms: 60_000 }), 'outdated', 'the dead holder\'s version is not sent after the newer one');
        assert.equal(await store.cards.claimCardVersion('req-1', a1, 7, { holder: 'i3', ms: 60_000 }), 'busy', 'the new holder\'s lease is live');
      });

      it('keeps the card version sent when the store is reopened', async () => {
        const a1 = { conversationId: 'conv-1', activityId: 'a1' };
        await store.cards.saveCardMessage('req-1', a1);
        const claim = (version: number) => store.cards.claimCardVersion('req-1', a1, version, { holder: 'i1', ms: 60_000 });
        assert.equal(await claim(5), 'claimed');
        await store.cards.releaseCardVersion('req-1', a1, 5, 'i1');
        store = await h.reopen();
        assert.equal(await claim(5), 'outdated');
        assert.equal(await claim(6), 'claimed');
      });
    });

    describe('auditAccess', () => {
      it('keeps every saved version of a request, oldest first, and none from a refused update', async () => {
        const v1 = aRequest('req-1');
        await store.requests.insert(v1, [anEvent('request.created')]);
        const v2 = { ...v1, version: 2, state: 'approved' as const, approvals: [{ approver: bob, at: '2026-11-02T09:05:00.000Z', operationHash: v1.operationHash }] };
        await store.requests.update(v2, 1, [anEvent('request.approved')]);
        await assert.rejects(store.requests.update({ ...v2, version: 2, state: 'rejected' }, 1, []), VersionConflictError);
        const v3 = { ...v2, version: 3, state: 'executing' as const };
        await store.requests.update(v3, 2, [anEvent('execution.started')]);
        const versions = await store.auditAccess.requestVersions('req-1');
        assert.deepEqual(versions, [v1, v2, v3]);
        assert.deepEqual(await store.auditAccess.requestVersions('req-2'), []);
      });

      it('saves a checkpoint with its audit record and reads the newest back', async () => {
        assert.equal(await store.auditAccess.lastCheckpoint(), undefined);
        await store.audit.append([anEvent('request.created')]);
        const head = (await store.audit.head())!;
        const checkpoint = { seq: head.seq, hash: head.hash, time: '2026-11-02T09:00:00.000Z', keyId: 'abcd', signature: 'sig' };
        const [record] = await store.auditAccess.saveCheckpoint(checkpoint, [anEvent('audit.checkpoint', { data: { seq: head.seq } })]);
        assert.equal(record.seq, 2);
        assert.deepEqual(await store.auditAccess.lastCheckpoint(), { ...checkpoint, recordSeq: 2 });
        const later = { ...checkpoint, seq: 2, hash: record.hash, time: '2026-11-02T09:15:00.000Z' };
        await store.auditAccess.saveCheckpoint(later, []);
        assert.deepEqual(await store.auditAccess.lastCheckpoint(), { ...later, recordSeq: null });
      });

      it('reads the stored hash of each record named, leaving out seqs with no record', async () => {
        const appended = await store.audit.append([anEvent('request.created'), anEvent('request.approved'), anEvent('execution.started')]);
        const hashes = await store.auditAccess.recordHashes([3, 1, 1, 99]);
        assert.deepEqual([...hashes.entries()].sort(([a], [b]) => a - b), [[1, appended[0].hash], [3, appended[2].hash]]);
        assert.equal((await store.auditAccess.recordHashes([])).size, 0);
      });

      it('lets exactly one of many simultaneous claims use a link', async () => {
        await store.auditAccess.saveDownloadLink(aLink('h1'), [anEvent('audit.export_link_issued')]);
        const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => store.auditAccess.claimDownloadLink('h1', `2026-11-02T09:01:0${i}.000Z`)));
        const won = claims.filter((c) => c.ok);
        assert.equal(won.length, 1);
        assert.deepEqual(won[0], { ok: true, link: aLink('h1') });
        const lost = claims.filter((c) => !c.ok);
        assert.ok(lost.every((c) => !c.ok && c.reason === 'used' && c.usedAt === '2026-11-02T09:01:00.000Z'));
      });

      it('still knows a link was used after the store is opened again', async () => {
        await store.auditAccess.saveDownloadLink(aLink('h1'), []);
        assert.equal((await store.auditAccess.claimDownloadLink('h1', '2026-11-02T09:01:00.000Z')).ok, true);
        store = await h.reopen();
        const again = await store.auditAccess.claimDownloadLink('h1', '2026-11-02T09:02:00.000Z');
        assert.deepEqual(again, { ok: false, reason: 'used', link: aLink('h1'), usedAt: '2026-11-02T09:01:00.000Z' });
      });

      it('saves one link of a link id, refusing another of the same id as a duplicate that saves nothing, and finds a link by its id', async () => {
        await store.auditAccess.saveDownloadLink(aLink('h1', { linkId: 'by-message' }), [anEvent('audit.export_link_issued')]);
        const head = await store.audit.head();
        await assert.rejects(store.auditAccess.saveDownloadLink(aLink('h2', { linkId: 'by-message' }), [anEvent('audit.export_link_issued')]), DuplicateDownloadLinkError);
        assert.deepEqual(await store.audit.head(), head);
        assert.equal(await store.auditAccess.getDownloadLink('h2'), undefined);
        assert.deepEqual(await store.auditAccess.getDownloadLinkById('by-message'), aLink('h1', { linkId: 'by-message' }));
        await store.auditAccess.claimDownloadLink('h1', '2026-11-02T09:01:00.000Z');
        assert.deepEqual(await store.auditAccess.getDownloadLinkById('by-message'), { ...aLink('h1', { linkId: 'by-message' }), usedAt: '2026-11-02T09:01:00.000Z' });
        assert.equal(await store.auditAccess.getDownloadLinkById('nope'), undefined);
      });

      it('answers unknown for a link it never issued', async () => {
        assert.deepEqual(await store.auditAccess.claimDownloadLink('nope', '2026-11-02T09:01:00.000Z'), { ok: false, reason: 'unknown' });
        assert.equal(await store.auditAccess.getDownloadLink('nope'), undefined);
      });

      it("keeps an export's manifest and ties it to the link that served it", async () => {
        await store.auditAccess.saveDownloadLink(aLink('h1', { requestedBy: alice }), []);
        await store.auditAccess.claimDownloadLink('h1', '2026-11-02T09:01:00.000Z');
        const [record] = await store.auditAccess.saveExportManifest('exp-1', '2026-11-02T09:01:05.000Z', { sha256: 'abc', records: 3 }, [anEvent('audit.exported')], 'h1');
        assert.equal(record.type, 'audit.exported');
        assert.deepEqual(await store.auditAccess.getExportManifest('exp-1'), { sha256: 'abc', records: 3 });
        assert.deepEqual(await store.auditAccess.getDownloadLink('h1'), { ...aLink('h1', { requestedBy: alice }), usedAt: '2026-11-02T09:01:00.000Z', exportId: 'exp-1' });
        assert.equal(await store.auditAccess.getExportManifest('exp-2'), undefined);
      });
    });

    describe('lifecycle', () => {
      it('answers ping while open and not after close', async () => {
        assert.equal(await store.ping(), true);
        await store.close();
        assert.equal(await store.ping(), false);
      });

      it('is not ready once the request it last wrote is deleted under it, saying which, and stays so after another write', async function () {
        if (!h.exec) this.skip();
        const problem = () => (store as Partial<{ writeReadiness(): { problem?: string } }>).writeReadiness?.().problem ?? '';
        await store.requests.insert(aRequest('req-kept'), [anEvent('request.created')]);
        const last = aRequest('req-last');
        await store.requests.insert(last, [anEvent('request.created')]);
        await store.requests.update(bumped(last, { state: 'approved' }), 1, [anEvent('request.approved')]);
        assert.equal(await store.ping(), true);
        // Only the requests row: the audit log is as it was, so its own checks see nothing.
        await h.exec("DELETE FROM requests WHERE id = 'req-last'");
        assert.equal(await store.ping(), false, 'the request it wrote last is gone');
        assert.match(problem(), /^request req-last, which this instance saw stored at version 2, is gone from the table requests of .*: it can no longer be decided or run\. `countersign audit verify` names every request lost/);
        await store.requests.insert(aRequest('req-after'), [anEvent('request.created')]);
        assert.equal(await store.ping(), false, 'a later write does not bring the lost request back');
      });

      it('says what it lists cannot be trusted once the table of requests is emptied under it, as readiness does', async function () {
        if (!h.exec) this.skip();
        await store.requests.insert(aRequest('req-last'), [anEvent('request.created')]);
        assert.equal(await store.ping(), true);
        assert.equal(await store.requests.lostRequests?.(), undefined, 'nothing lost');
        await h.exec('DELETE FROM requests');
        assert.equal(await store.ping(), false);
        assert.match((await store.requests.lostRequests?.()) ?? '', /^request req-last, which this instance saw stored at version 1, is gone from the table requests of /);
      });

      it('says what it lists cannot be trusted at the first ask after the loss, with no readiness probe in between', async function () {
        if (!h.exec) this.skip();
        await store.requests.insert(aRequest('req-last'), [anEvent('request.created')]);
        assert.equal(await store.requests.lostRequests?.(), undefined, 'nothing lost');
        await h.exec("DELETE FROM requests WHERE id = 'req-last'");
        assert.match((await store.requests.lostRequests?.()) ?? '', /^request req-last, which this instance saw stored at version 1, is gone from the table requests of /);
        assert.equal(await store.ping(), false, 'and readiness says so too');
      });

      it('is not ready when the newest request at its first probe is emptied from the table under it, and when a request went back to an earlier version', async function () {
        if (!h.exec) this.skip();
        const r = aRequest('req-old');
        await store.requests.insert(r, [anEvent('request.created')]);
        await store.requests.update(bumped(r, { state: 'approved' }), 1, [anEvent('request.approved')]);
        // Another instance's view: it wrote nothing itself and saw req-old at its first probe.
        const other = h.another ? await h.another() : await h.reopen();
        assert.equal(await other.ping(), true);
        await h.exec("UPDATE requests SET version = 1 WHERE id = 'req-old'");
        assert.equal(await other.ping(), false);
        assert.match((other as Partial<{ writeReadiness(): { problem?: string } }>).writeReadiness?.().problem ?? '', /^request req-old, which this instance saw stored at version 2, is at version 1 in the table requests of .*put back from an earlier copy/);
        const fresh = h.another ? await h.another() : await h.reopen();
        await h.exec('DELETE FROM requests');
        assert.equal(await fresh.ping(), true, 'an empty table at the first probe: nothing seen, nothing missed');
        await fresh.requests.insert(aRequest('req-new'), [anEvent('request.created')]);
        assert.equal(await fresh.ping(), true);
        await h.exec('DELETE FROM requests');
        assert.equal(await fresh.ping(), false, 'the table emptied');
      });

      it('commits writes already submitted when closed, and refuses writes after', async () => {
        const pending = store.audit.append([anEvent('request.created')]);
        await store.close();
        const [r] = await pending;
        await assert.rejects(store.audit.append([anEvent('request.approved')]), /closed/);
        store = await h.reopen();
        assert.deepEqual(await store.audit.head(), { seq: 1, hash: r.hash });
      });
    });
  });
}
