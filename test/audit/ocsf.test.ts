import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { sealRecord } from '../../src/audit/chain/chain';
import { readOcsf, toOcsf, writeOcsf } from '../../src/audit/formats/ocsf';
import { fastCanonicalJson } from '../../src/audit/chain/seal-json-fast';
import { verifyChain } from '../../src/audit/verify/verify';
import { AUDIT_EVENT_TYPES, type AuditEventDraft, type AuditRecord } from '../../src/domain/audit';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../../src/domain/canonical';
import { anEvent, bob, requestRef, timeAt } from '../store/fixtures';
import { collect } from '../store/store-contract';

function chainOf(drafts: AuditEventDraft[]): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (const d of drafts) {
    const prev = out[out.length - 1];
    out.push(sealRecord(d, prev && { seq: prev.seq, hash: prev.hash }, `rec-${out.length + 1}`).record);
  }
  return out;
}

async function text(records: AuditRecord[]): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeOcsf(
    (async function* () {
      yield* records;
    })(),
    out,
  );
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

const resourceId = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-prod/providers/Microsoft.Web/sites/api';

describe('the OCSF export (API Activity, class 6003)', () => {
  const records = chainOf([
    anEvent('request.created', { time: timeAt(0), request: { ...requestRef('CS-1'), reason: 'release 2.4' } }),
    anEvent('approval.granted', { time: timeAt(1), actor: bob, target: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-prod', resourceId } }),
    anEvent('click.refused', { time: timeAt(2), outcome: { result: 'refused', reason: 'self-approval', detail: 'You asked for it' } }),
    anEvent('execution.failed', { time: timeAt(3), actor: undefined, execution: { correlationId: 'corr-1', operationIds: ['op-1'], status: 'failed' }, outcome: { result: 'error', reason: 'Conflict', detail: 'busy' } }),
    { type: 'config.loaded', time: timeAt(4), outcome: { result: 'ok' }, data: { configHash: 'c'.repeat(64) } },
    anEvent('auth.refused', { time: timeAt(5), actor: undefined, request: undefined, target: undefined, outcome: { result: 'refused', reason: 'invalid-token' } }),
  ]);

  it('maps who, what, when, where and outcome onto the OCSF attributes', () => {
    const created = toOcsf(records[0]);
    assert.equal(created.class_uid, 6003);
    assert.equal(created.category_uid, 6);
    assert.equal(created.activity_id, 1);
    assert.equal(created.type_uid, 600301);
    assert.equal(created.time, Date.parse(timeAt(0)));
    assert.equal(created.status_id, 1);
    assert.deepEqual(created.actor, { user: { uid: records[0].actor!.aadObjectId, name: 'Alice Requester', type_id: 1, type: 'User', org: { uid: records[0].actor!.tenantId } } });
    assert.deepEqual(created.api, { operation: 'request.created', service: { name: 'Countersign' }, request: { uid: 'CS-1' } });
    assert.deepEqual(created.src_endpoint, { svc_name: 'msteams', uid: 'conv-1', name: 'personal' });
    assert.deepEqual(created.cloud, { provider: 'Azure', account: { uid: '00000000-0000-0000-0000-000000000001', type: 'Azure Subscription' } });
    assert.deepEqual(created.resources, [
      { uid: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-prod', name: 'rg-prod', type: 'Microsoft.Resources/resourceGroups' },
    ]);
    const metadata = created.metadata as Record<string, unknown>;
    assert.equal(metadata.version, '1.3.0');
    assert.equal(metadata.uid, records[0].id);
    assert.equal(metadata.sequence, 1);
    assert.equal(metadata.event_code, 'request.created');
    const unmapped = created.unmapped as Record<string, unknown>;
    assert.deepEqual((unmapped.request as Record<string, unknown>).reason, 'release 2.4');
    assert.equal(unmapped.hash, records[0].hash);
    assert.equal(created.raw_data, canonicalJson(records[0]));

    const approved = toOcsf(records[1]);
    assert.equal(approved.activity_id, 3);
    assert.deepEqual(approved.resources, [{ uid: resourceId, name: 'api', type: 'Microsoft.Web/sites', group: { name: 'rg-prod' } }]);

    const refused = toOcsf(records[2]);
    assert.equal(refused.status_id, 2);
    assert.equal(refused.severity_id, 3);
    assert.equal(refused.status_code, 'self-approval');
    assert.deepEqual((refused.api as Record<string, unknown>).response, { error: 'self-approval', message: 'You asked for it' });

    const failed = toOcsf(records[3]);
    assert.deepEqual(failed.actor, { app_name: 'Countersign' });
    assert.equal(failed.severity_id, 4);
    assert.equal(toOcsf(records[4]).activity_id, 2);
    const auth = toOcsf(records[5]);
    assert.equal(auth.activity_id, 99);
    assert.equal(auth.activity_name, 'auth.refused');
  });

  it('reads the records back from raw_data, and they verify as a chain', async () => {
    const back = await collect(readOcsf(PassThrough.from([await text(records)])));
    assert.deepEqual(back, records);
    const v = await verifyChain(readOcsf(PassThrough.from([await text(records)])));
    assert.equal(v.ok, true, v.problem?.message);
    assert.equal(v.count, 6);
  });

  it('maps the delegation events and reads them back verified, as every other record', async () => {
    const data = { delegationId: 'DG-1', delegator: bob, until: timeAt(60) };
    const delegations = chainOf([
      anEvent('delegation.created', { time: timeAt(0), actor: bob, request: undefined, target: undefined, data }),
      anEvent('delegation.replaced', { time: timeAt(1), actor: bob, request: undefined, target: undefined, data }),
      anEvent('delegation.revoked', { time: timeAt(2), actor: bob, request: undefined, target: undefined, data }),
      anEvent('delegation.refused', { time: timeAt(3), actor: bob, request: undefined, target: undefined, outcome: { result: 'refused', reason: 'delegation-chain' } }),
      anEvent('approval.granted', { time: timeAt(4), actor: bob, data: { onBehalfOf: bob, delegationId: 'DG-1' } }),
    ]);
    assert.deepEqual(delegations.map((r) => toOcsf(r).activity_id), [1, 3, 3, 99, 3]);
    assert.equal(toOcsf(delegations[3]).status_code, 'delegation-chain');
    const v = await verifyChain(readOcsf(PassThrough.from([await text(delegations)])));
    assert.equal(v.ok, true, v.problem?.message);
    assert.deepEqual(await collect(readOcsf(PassThrough.from([await text(delegations)]))), delegations);
  });

  it('names a record whose mapped fields were edited though raw_data was not', async () => {
    const lines = (await text(records)).split('\n');
    lines[1] = lines[1].replace('"name":"Bob Approver"', '"name":"Carol NoRole"');
    const v = await verifyChain(readOcsf(PassThrough.from([lines.join('\n')])));
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 2);
    assert.match(v.problem!.message, /the OCSF fields of record 2 \(line 2\) do not match the record in its raw_data/);
  });

  it('names a record with a mapped member written twice (a parser keeping the first would read another actor), or spaced', async () => {
    const lines = (await text(records)).split('\n');
    const doubled = [...lines];
    doubled[1] = `{"actor":{"user":{"name":"Mallory Outsider","uid":"66666666-6666-4666-8666-666666666666"}},${lines[1].slice(1)}`;
    assert.equal(JSON.parse(doubled[1]).actor.user.name, 'Bob Approver', 'JSON.parse keeps the last of the two');
    const v = await verifyChain(readOcsf(PassThrough.from([doubled.join('\n')])));
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 2);
    const spaced = [...lines];
    spaced[1] = lines[1].replace('{', '{ ');
    assert.equal((await verifyChain(readOcsf(PassThrough.from([spaced.join('\n')])))).problem?.seq, 2);
  });

  it("gives a minute's repeated summary of refusals its count and period, and still verifies an export written before it had them", async () => {
    const summarised = chainOf([
      ...records,
      anEvent('click.refused', {
        time: timeAt(7),
        actor: undefined,
        source: undefined,
        outcome: { result: 'refused', reason: 'repeated', detail: 'card clicks refused: 45 more …' },
        data: { repeated: { count: 45, from: timeAt(6), to: timeAt(7), reasons: { 'not-an-approver': 40, 'unknown-request': 5 }, people: { 'p-1': 45 }, perMinute: 30 } },
      }),
    ]);
    const event = toOcsf(summarised.at(-1)!);
    assert.deepEqual([event.count, event.start_time, event.end_time], [45, Date.parse(timeAt(6)), Date.parse(timeAt(7))]);
    assert.equal(toOcsf(summarised[2]).count, undefined, 'a record of one refusal carries no count');
    const lines = (await text(summarised)).split('\n');
    const before = JSON.parse(lines[summarised.length - 1]) as Record<string, unknown>;
    delete before.count;
    delete before.start_time;
    delete before.end_time;
    lines[summarised.length - 1] = fastCanonicalJson(before);
    assert.deepEqual(await collect(readOcsf(PassThrough.from([lines.join('\n')]))), summarised);
    const v = await verifyChain(readOcsf(PassThrough.from([lines.join('\n')])));
    assert.equal(v.ok, true, v.problem?.message);
    // A count edited is not the record's.
    const edited = (await text(summarised)).replace('"count":45', '"count":4');
    assert.equal((await verifyChain(readOcsf(PassThrough.from([edited])))).problem?.kind, 'edited');
  });

  it('names a record whose raw_data was edited, fields and all', async () => {
    const edited = { ...records[2], outcome: { result: 'ok' as const } };
    const lines = (await text(records)).split('\n');
    lines[2] = canonicalJson(toOcsf(edited));
    const v = await verifyChain(readOcsf(PassThrough.from([lines.join('\n')])));
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 3);
    assert.match(v.problem!.message, /altered after it was written/);
  });
});

describe('the fast canonical JSON of the export path', () => {
  it('writes exactly what the reference RFC 8785 implementation writes', () => {
    const values: unknown[] = [
      ...chainOf([anEvent('request.created', { data: { '10': 'index-like key', b: [1, -0, 2.5e-7, 1e21, null], a: 'é\u2028"\\' } })]),
      { z: 1, a: { y: [true, false, { c: 'x', b: 'y' }] } },
      ['x', undefined, 3],
      'line\nbreak',
      { 1: 'a', 2: 'b' },
    ];
    for (const v of values) assert.equal(fastCanonicalJson(v), canonicalJson(v));
  });
});

describe('OCSF activity of every event type, as docs/audit.md says', () => {
  it('names each event type once in the OCSF table, under the activity it is exported with', () => {
    const doc = readFileSync(path.join(__dirname, '../../docs/audit.md'), 'utf8');
    const row = doc.split('\n').find((l) => l.startsWith('| `activity_id` / `activity_name` |')) ?? '';
    const documented = new Map<string, number>();
    for (const part of row.split(';')) {
      const id = /`(1|2|3|99)` (Create|Read|Update|Other)/.exec(part)?.[1];
      if (!id) continue;
      for (const m of part.matchAll(/`([a-z_]+\.[a-z_]+)`/g)) {
        assert.ok(!documented.has(m[1]), `${m[1]} is named twice`);
        documented.set(m[1], Number(id));
      }
    }
    for (const [i, type] of AUDIT_EVENT_TYPES.entries()) {
      const [event] = chainOf([anEvent(type)]);
      const exported = toOcsf({ ...event, seq: i + 1 }) as { activity_id: number };
      assert.equal(documented.get(type), exported.activity_id, `${type}: docs/audit.md says ${documented.get(type)}, the export ${exported.activity_id}`);
    }
    assert.equal(documented.size, AUDIT_EVENT_TYPES.length);
  });
});
