import assert from 'node:assert/strict';
import { sealRecord } from '../../src/audit/chain/chain';
import { fastCanonicalJson, sortKeys } from '../../src/audit/chain/seal-json-fast';
import { shownOutputs } from '../../src/domain/deployment-outputs';
import { AUDIT_SCHEMA_VERSION, GENESIS_HASH, neutralise } from '../../src/domain/audit';
import type { AuditEventDraft } from '../../src/domain/audit';
import { auditRecordHash, canonicalJson } from '../../src/domain/canonical';
import { anEvent } from '../store/fixtures';
import { csvLine } from '../../src/audit/formats/csv-writer';

describe('sealing helpers', () => {
  it('sortKeys orders keys as Array.prototype.sort() does (UTF-16 code units), whatever the input order', () => {
    const pool = ['', 'a', 'A', 'b', 'aa', 'ab', 'a b', '1', '10', '2', 'é', 'e\u0301', '\ufb01', '\u{1F600}', 'z', 'Z', '_', '~', 'hash', 'id', 'prevHash', 'schemaVersion', 'seq'];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 500; n++) {
      const keys = pool.filter(() => random() < 0.5).sort(() => random() - 0.5);
      assert.deepEqual(sortKeys([...keys]), [...keys].sort(), keys.join('|'));
    }
  });

  it('seals a draft whose top-level keys are names Object.prototype has (constructor, toString) as the reference does', () => {
    const draft = { ...anEvent('request.created'), constructor: 'c', toString: 't', valueOf: { hasOwnProperty: 1 } } as unknown as AuditEventDraft;
    const { record, text } = sealRecord(draft, undefined, 'rec-1');
    const body = { ...neutralise(draft), schemaVersion: AUDIT_SCHEMA_VERSION, id: 'rec-1', seq: 1, prevHash: GENESIS_HASH };
    const expected = { ...body, hash: auditRecordHash(body) };
    assert.equal(text, canonicalJson(expected));
    assert.deepEqual(record, JSON.parse(text));
  });

  it('keeps a key named __proto__ (an Azure tag or deployment output of that name) in the sealed record, as the reference does', () => {
    // JSON.parse makes "__proto__" an own key, as an Azure or Teams reply parsed is given it; keys out of order, so the copy is taken.
    const data = JSON.parse('{"outputs":{"z":2,"__proto__":{"site":"web-01"}}}') as Record<string, unknown>;
    const draft = { ...anEvent('execution.succeeded'), data } as AuditEventDraft;
    const { record, text } = sealRecord(draft, undefined, 'rec-1');
    assert.match(text, /"outputs":\{"__proto__":\{"site":"web-01"\},"z":2\}/);
    assert.deepEqual(JSON.parse(JSON.stringify(neutralise(draft).data)), JSON.parse('{"outputs":{"z":2,"__proto__":{"site":"web-01"}}}'));
    assert.equal(fastCanonicalJson(data), canonicalJson(data));
    assert.equal(text, JSON.stringify(record));
    assert.deepEqual(JSON.parse(JSON.stringify(shownOutputs(JSON.parse('{"__proto__":{"type":"object","value":{"y":1}}}')).outputs)), JSON.parse('{"__proto__":{"y":1}}'));
  });

  it('seals what an unauthenticated caller claimed with its control characters escaped, as the reference does, and the CSV line holds none', () => {
    const hostile = '29:\u001b[2K\u001b]0;title\u0007\u009b8m\u007f';
    const draft = { ...anEvent('auth.refused'), data: { unverified: { fromId: hostile, conversationId: `a\tb${hostile}` } } } as AuditEventDraft;
    const { record, text } = sealRecord(draft, undefined, 'rec-1');
    const body = { ...neutralise(draft), schemaVersion: AUDIT_SCHEMA_VERSION, id: 'rec-1', seq: 1, prevHash: GENESIS_HASH };
    assert.equal(text, canonicalJson({ ...body, hash: auditRecordHash(body) }));
    assert.deepEqual((record.data as { unverified: { fromId: string } }).unverified.fromId, '29:\\u001b[2K\\u001b]0;title\\u0007\\u009b8m\\u007f');
    assert.doesNotMatch(csvLine(record).replace(/\r\n$/, ''), /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/, 'no control character but tab before the line end');
  });
});

