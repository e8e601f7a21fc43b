import assert from 'node:assert/strict';
import { sealRecord } from '../../src/audit/chain';
import { AUDIT_SCHEMA_VERSION, GENESIS_HASH, neutralise } from '../../src/domain/audit';
import type { AuditEventDraft } from '../../src/domain/audit';
import { auditRecordHash, canonicalJson } from '../../src/domain/canonical';
import { anEvent, bob } from '../store/fixtures';

const head = { seq: 41, hash: 'c'.repeat(64) };

/** The reference definition: neutralise the draft, add the chain fields, hash the canonical JSON. */
function reference(draft: AuditEventDraft, id: string) {
  const { seq: _seq, hash: _hash, id: _id, ...content } = draft as AuditEventDraft & { seq?: number; hash?: string; id?: string };
  const body = { ...neutralise(content), schemaVersion: AUDIT_SCHEMA_VERSION, id, seq: head.seq + 1, prevHash: head.hash };
  const record = { ...body, hash: auditRecordHash(body) };
  return { record, text: canonicalJson(record) };
}

const drafts: [string, AuditEventDraft][] = [
  ['a typical event', anEvent('request.created')],
  ['an event with every optional part', anEvent('execution.failed', {
    actor: bob,
    execution: { correlationId: 'corr-1', operationIds: ['op-1', 'op-2'], status: 'Failed' },
    outcome: { result: 'error', reason: 'ResourceNotFound', detail: 'The Resource was not found' },
    data: { attempts: 3, ratio: 0.25, big: 1e21, tiny: 1e-7, neg: -0, flags: [true, false, null], nested: { z: 1, a: [{ y: 'x', b: 2 }] } },
  })],
  ['text with CR, LF, quotes, backslashes, control characters and non-ASCII', anEvent('request.refused', {
    outcome: { result: 'refused', detail: 'a\r\nb "q" \\ \t \u0001 é 日本 😀 \u2028' },
  })],
  ['keys a JavaScript object would reorder (array indexes)', anEvent('config.loaded', {
    data: { '10': 'ten', '2': 'two', b: 'bee', '1a': 'x', '': 'empty', 'é': 1, 'Z': 2 },
  })],
  ['undefined optional fields, and undefined inside arrays', anEvent('request.created', {
    actor: undefined,
    data: { list: ['a', undefined, 'b'], gone: undefined },
  })],
  ['a draft carrying chain fields of its own (they are overwritten)', {
    ...anEvent('request.created'),
    seq: 999,
    hash: 'f'.repeat(64),
    id: 'forged',
  } as AuditEventDraft],
];

describe('sealing an audit record into the chain', () => {
  for (const [name, draft] of drafts) {
    it(`matches the reference definition for ${name}`, () => {
      const sealed = sealRecord(draft, head, 'rec-42');
      const expected = reference(draft, 'rec-42');
      assert.equal(sealed.record.hash, expected.record.hash);
      assert.equal(sealed.text, expected.text);
      // The record handed back is exactly the record a reader gets from the stored text.
      assert.deepEqual(sealed.record, JSON.parse(expected.text));
      assert.equal(sealed.record.hash, auditRecordHash(sealed.record));
    });
  }

  it('starts the chain at seq 1 with the genesis hash', () => {
    const { record } = sealRecord(anEvent('config.loaded'), undefined, 'first');
    assert.equal(record.seq, 1);
    assert.equal(record.prevHash, GENESIS_HASH);
    assert.equal(record.schemaVersion, AUDIT_SCHEMA_VERSION);
  });

  it('does not change the draft it was given', () => {
    const draft = anEvent('request.refused', { outcome: { result: 'refused', detail: 'x\ny' } });
    const before = structuredClone(draft);
    sealRecord(draft, head, 'id');
    assert.deepEqual(draft, before);
  });

  it('refuses values that are not JSON data instead of recording something else', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, () => 1, Symbol('s'), 10n]) {
      assert.throws(() => sealRecord(anEvent('config.loaded', { data: { bad } }), head, 'id'), /only JSON data/);
    }
  });
});
