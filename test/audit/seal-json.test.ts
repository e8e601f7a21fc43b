import assert from 'node:assert/strict';
import { sealRecord } from '../../src/audit/chain/chain';
import { sortKeys } from '../../src/audit/chain/seal-json-fast';
import { AUDIT_SCHEMA_VERSION, GENESIS_HASH, neutralise } from '../../src/domain/audit';
import type { AuditEventDraft } from '../../src/domain/audit';
import { auditRecordHash, canonicalJson } from '../../src/domain/canonical';
import { anEvent } from '../store/fixtures';

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
});
