import assert from 'node:assert/strict';
import { sealRecord } from '../../src/audit/chain/chain';
import { verifyChain } from '../../src/audit/verify/verify';
import { ChainDefect } from '../../src/audit/chain/record-text';
import type { VerifyOptions } from '../../src/audit/verify/verify';
import { GENESIS_HASH } from '../../src/domain/audit';
import type { AuditRecord } from '../../src/domain/audit';
import { auditRecordHash } from '../../src/domain/canonical';
import { anEvent, timeAt } from '../store/fixtures';

/** A valid chain of n records, as a store would have written it. */
function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const prev = out[i - 1];
    out.push(sealRecord(anEvent('execution.progressed', { time: timeAt(i) }), prev && { seq: prev.seq, hash: prev.hash }, `rec-${i + 1}`).record);
  }
  return out;
}

async function* from(records: unknown[]): AsyncGenerator<AuditRecord> {
  for (const r of records) {
    if (r instanceof Error) throw r;
    yield r as AuditRecord;
  }
}

const verify = (records: unknown[], options?: VerifyOptions) => verifyChain(from(records), options);

describe('verifying an audit chain', () => {
  it('accepts an intact chain and reports its count, seq range and head hash', async () => {
    const records = chain(5);
    const v = await verify(records);
    assert.deepEqual(v, { ok: true, count: 5, firstSeq: 1, lastSeq: 5, headHash: records[4].hash });
  });

  it('accepts an empty chain, whose head is the genesis hash', async () => {
    assert.deepEqual(await verify([]), { ok: true, count: 0, firstSeq: 0, lastSeq: 0, headHash: GENESIS_HASH });
  });

  it('names a record whose content was edited', async () => {
    const records = chain(5);
    records[2] = { ...records[2], outcome: { result: 'refused', reason: 'covered up' } };
    const v = await verify(records);
    assert.equal(v.ok, false);
    assert.deepEqual({ ...v.problem, message: undefined }, { seq: 3, recordId: 'rec-3', kind: 'edited', message: undefined });
    assert.match(v.problem!.message, /record 3 \(id rec-3, execution\.progressed at .*\) was altered after it was written/);
    assert.equal(v.count, 2);
    assert.equal(v.lastSeq, 2);
    assert.equal(v.headHash, records[1].hash);
  });

  it('names the first missing record when one was deleted', async () => {
    const records = chain(5);
    records.splice(2, 1);
    const v = await verify(records);
    assert.equal(v.problem?.kind, 'deleted');
    assert.equal(v.problem?.seq, 3);
    assert.equal(v.problem?.recordId, 'rec-4');
    assert.match(v.problem!.message, /record 3 is missing \(deleted\): record 4 .* directly follows record 2/);
  });

  it('reports a run of deleted records, and deleted records at the start', async () => {
    const records = chain(8);
    const middle = await verify([...records.slice(0, 2), ...records.slice(5)]);
    assert.match(middle.problem!.message, /records 3 to 5 are missing/);
    const start = await verify(records.slice(2));
    assert.equal(start.problem?.kind, 'deleted');
    assert.equal(start.problem?.seq, 1);
    assert.match(start.problem!.message, /records 1 to 2 are missing .* follows the start of the chain/);
  });

  it('names a record moved out of its place (two swapped, or one moved far)', async () => {
    const records = chain(10);
    const swapped = [...records];
    [swapped[4], swapped[5]] = [swapped[5], swapped[4]];
    const v = await verify(swapped);
    assert.equal(v.problem?.kind, 'reordered');
    assert.equal(v.problem?.seq, 6);
    assert.match(v.problem!.message, /record 6 .* is out of order: it stands where record 5 should be/);

    const far = [...records];
    [far[2], far[8]] = [far[8], far[2]];
    const w = await verify(far);
    assert.equal(w.problem?.kind, 'reordered');
    assert.equal(w.problem?.seq, 9);
  });

  it('names a record that comes after a later one', async () => {
    const records = chain(6);
    const v = await verify([...records.slice(0, 4), records[1], ...records.slice(4)]);
    assert.equal(v.problem?.kind, 'reordered');
    assert.equal(v.problem?.seq, 2);
    assert.match(v.problem!.message, /comes after record 4, where record 5 should be/);
  });

  it('names a record that appears twice', async () => {
    const records = chain(4);
    const v = await verify([...records.slice(0, 3), records[2], records[3]]);
    assert.equal(v.problem?.kind, 'duplicated');
    assert.equal(v.problem?.seq, 3);
    assert.match(v.problem!.message, /record 3 .* appears twice/);
  });

  it('names the record after one that was replaced and re-hashed (a broken link)', async () => {
    const records = chain(5);
    const forged: Record<string, unknown> = { ...records[1], outcome: { result: 'ok', detail: 'rewritten' } };
    delete forged.hash;
    records[1] = { ...(forged as Omit<AuditRecord, 'hash'>), hash: auditRecordHash(forged as Omit<AuditRecord, 'hash'>) };
    const v = await verify(records);
    assert.equal(v.problem?.kind, 'broken-link');
    assert.equal(v.problem?.seq, 3);
    assert.match(v.problem!.message, /record 3 .* does not follow on from record 2: .* Record 2 was replaced and re-hashed/);
  });

  it('requires a full chain to start from the genesis hash', async () => {
    const records = chain(3);
    const notGenesis: Record<string, unknown> = { ...records[0], prevHash: 'e'.repeat(64) };
    delete notGenesis.hash;
    const first = { ...(notGenesis as Omit<AuditRecord, 'hash'>), hash: auditRecordHash(notGenesis as Omit<AuditRecord, 'hash'>) };
    const v = await verify([first]);
    assert.equal(v.problem?.kind, 'broken-link');
    assert.equal(v.problem?.seq, 1);
  });

  it('verifies a window of the chain when told it may start anywhere', async () => {
    const records = chain(10).slice(3);
    assert.equal((await verify(records)).ok, false);
    const v = await verify(records, { start: 'anywhere' });
    assert.deepEqual(v, { ok: true, count: 7, firstSeq: 4, lastSeq: 10, headHash: records[6].hash });
    const gap = [...records.slice(0, 2), ...records.slice(3)];
    assert.equal((await verify(gap, { start: 'anywhere' })).problem?.kind, 'deleted');
  });

  it('reports what the source could not read as the problem, at the place it occurred', async () => {
    const records = chain(3);
    const v = await verify([records[0], records[1], new ChainDefect('edited', 'line 3 of the export is not valid JSON')]);
    assert.deepEqual(v.problem, { seq: 3, recordId: '', kind: 'edited', message: 'line 3 of the export is not valid JSON' });
    assert.equal(v.count, 2);
  });

  it('names a record that is not shaped like an audit record', async () => {
    const records = chain(2);
    const v = await verify([records[0], { seq: 2, id: 'x', note: 'hello' }]);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 2);
    assert.match(v.problem!.message, /not a valid audit record: its hash is missing/);
  });

  it('fails (rejects) when the source itself fails, rather than calling the chain intact', async () => {
    await assert.rejects(verify([chain(1)[0], new Error('disk I/O error')]), /disk I\/O error/);
  });
});
