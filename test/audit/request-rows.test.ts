/** audit verify's second pass over many saved versions of one request: the same judgement, in n log n. */
import assert from 'node:assert/strict';
import { checkStoredRequests, type StoredRequests, type UnbackedRequest } from '../../src/audit/verify/request-rows';
import { notBeforeOfVersions } from '../../src/domain/lifecycle';
import { canonicalJson } from '../../src/domain/canonical';
import { aRequest, anEvent, requestRef, timeAt } from '../store/fixtures';

describe('audit verify: request rows against their records', () => {
  it('gives each version the latest time of the versions numbered below it, whatever their order', () => {
    const at = (version: number | string, t: string) => ({ version: version as number, updatedAt: t });
    const of = notBeforeOfVersions([at(3, timeAt(30)), at(1, timeAt(50)), at(2, timeAt(10)), at('x', timeAt(99)), at(4, 'not a time')]);
    assert.equal(of({ version: 1 }), undefined);
    assert.equal(of({ version: 2 }), Date.parse(timeAt(50)));
    assert.equal(of({ version: 4 }), Date.parse(timeAt(50)));
    assert.equal(of({ version: 9 }), Date.parse(timeAt(50)));
    assert.equal(of({ version: 'x' as unknown as number }), undefined);
  });

  it('judges a request someone gave thousands of versions in the database without comparing each version with every other', async () => {
    const r = aRequest('CS-MANYVER2');
    const created = { ...anEvent('request.created', { time: timeAt(0), request: { ...requestRef(r.id), reason: r.reason } }), seq: 1, id: 'x', prevHash: '', hash: '', schemaVersion: 1 };
    const count = 3000;
    const versions = Array.from({ length: count }, (_, i) => ({ id: r.id, version: i + 1, body: JSON.stringify({ ...r, version: i + 1, updatedAt: timeAt(60), reason: i === count - 1 ? 'forged' : r.reason }) }));
    const source: StoredRequests = {
      rows: async (after) => (after === undefined ? [{ id: r.id, version: 1, body: JSON.stringify(r) }] : []),
      withoutRow: async () => [],
      versions: async () => versions,
      records: async () => [canonicalJson(created)],
    };
    const found: UnbackedRequest[] = [];
    // Every version's time is read once or a few times, never once for each other version.
    const parse = Date.parse;
    let parses = 0;
    Date.parse = (text: string) => {
      parses += 1;
      return parse(text);
    };
    try {
      const check = await checkStoredRequests(source, (f) => found.push(f));
      assert.equal(check.versions, count);
    } finally {
      Date.parse = parse;
    }
    assert.ok(parses < 20 * count, `${parses} times read for ${count} versions`);
    assert.deepEqual(found.map((f) => [f.what, f.version, f.fields.map((x) => x.field)]), [['version', String(count), ['reason']]]);
  });
});
