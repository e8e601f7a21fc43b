import assert from 'node:assert/strict';
import { completeSealed, sealedText, sealRecord, sealTemplate } from '../../src/audit/chain/chain';
import { fastCanonicalJson, isCanonicalOrder } from '../../src/audit/chain/seal-json-fast';
import { recordHash } from '../../src/audit/verify/verify';
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
  ['text with every line end some reader honours: NEL, LINE and PARAGRAPH SEPARATOR, also in keys', anEvent('click.refused', {
    outcome: { result: 'refused', detail: 'x\u0085Approved by Bob\u2028SUCCEEDED\u2029done \u2028\u2028' },
    data: { 'k\u2028': ['\u0085', { deep: 'a\u2029b' }] },
  })],
  ['keys a JavaScript object would reorder (array indexes)', anEvent('config.loaded', {
    data: { '10': 'ten', '2': 'two', b: 'bee', '1a': 'x', '': 'empty', 'é': 1, 'Z': 2 },
  })],
  ['undefined optional fields, and undefined inside arrays', anEvent('request.created', {
    actor: undefined,
    data: { list: ['a', undefined, 'b'], gone: undefined },
  })],
  ['unicode: lone surrogates, astral characters, keys that sort by UTF-16 code unit, escapes in keys', anEvent('request.created', {
    actor: { ...bob, name: 'Zoë 😀 \ud800 \udfff \u0000 \u007f \u00a0 \u2029' },
    data: { '\ufb01': 'fi ligature', '\u{1F600}': 'astral key sorts before U+FB01 by UTF-16 code unit', 'é': 'e acute', 'e\u0301': 'decomposed', 'a"b': 1, 'a\\b': 2, 'a\nb': 3, 'ключ': 'значение' },
  })],
  ['numbers at the edges of the ECMAScript number formatting', anEvent('config.loaded', {
    data: { n: [0, -0, 1, -1, 0.1, 0.2 + 0.1, 1e-6, 1e-7, 123e-20, 1e20, 1e21, 1.5e300, 2 ** 53, 2 ** 53 + 2, -(2 ** 31), Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, 4.35, 333333333.33333329] },
  })],
  ['deeply nested data: arrays of objects with index-like keys, empty containers', anEvent('execution.succeeded', {
    execution: { correlationId: 'c', operationIds: [], status: 'Succeeded' },
    data: { a: [[[{ '0': 0, '00': 1, '4294967295': 2, '4294967294': 3, z: { y: [{}, [], ''] } }]]], b: { c: { d: { e: { f: [1, [2, [3, [4]]]] } } } } },
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

  for (const [name, draft] of drafts) {
    it(`seals a template (another thread's or the database's way) to the same bytes and record for ${name}`, () => {
      const template = sealTemplate(draft, 'rec-42');
      const { text, hash } = sealedText(template.template, head.seq + 1, head.hash);
      const expected = reference(draft, 'rec-42');
      assert.equal(text, expected.text);
      assert.equal(hash, expected.record.hash);
      assert.deepEqual(completeSealed(template, head.seq + 1, head.hash, hash), JSON.parse(expected.text));
    });
  }

  it('writes the same canonical JSON as the reference canonicalize for every record shape (export and verify fast path)', () => {
    for (const [name, draft] of drafts) {
      const { record, text } = sealRecord(draft, head, 'rec-42');
      assert.equal(fastCanonicalJson(record), canonicalJson(record), name);
      assert.equal(fastCanonicalJson(JSON.parse(text)), text, name);
      assert.equal(fastCanonicalJson(draft), canonicalJson(JSON.parse(JSON.stringify(draft))), name);
    }
  });

  it('verification hashes every record shape as the reference does, read back or in any key order', () => {
    const reversed = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reversed) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    for (const [name, draft] of drafts) {
      const { record, text } = sealRecord(draft, head, 'rec-42');
      const read = JSON.parse(text) as typeof record;
      assert.equal(recordHash(read), auditRecordHash(read), name);
      assert.equal(recordHash(read), record.hash, name);
      const shuffled = reversed(read) as typeof record;
      assert.equal(recordHash(shuffled), auditRecordHash(read), name);
      assert.equal(recordHash({ ...read, data: { ...(read.data ?? {}), extra: -0, more: [1e21, undefined] } }), auditRecordHash({ ...read, data: { ...(read.data ?? {}), extra: -0, more: [1e21, undefined] } }), name);
    }
    assert.equal(isCanonicalOrder({ a: 1, b: { c: [1, 'x', null, true] } }), true);
    assert.equal(isCanonicalOrder({ b: 1, a: 2 }), false);
    assert.equal(isCanonicalOrder({ a: { '1': 1, '2': 2 } }), false);
    assert.equal(isCanonicalOrder({ a: [Number.NaN] }), false);
    assert.equal(isCanonicalOrder({ a: [undefined] }), false);
    assert.equal(isCanonicalOrder({ a: () => 1 }), false);
    assert.equal(isCanonicalOrder({ '\u{1F600}': 1, '\ufb01': 2 }), true);
    assert.equal(isCanonicalOrder({ '\ufb01': 2, '\u{1F600}': 1 }), false);
  });

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
