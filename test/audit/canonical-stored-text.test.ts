/**
 * isCanonicalStoredText (the JSON Lines export's check of each stored text) answers as the full
 * check does (parse, write canonically, compare) for texts of every shape: its scan may only ever
 * say "canonical" of a text that is.
 */
import assert from 'node:assert/strict';
import { isCanonicalStoredText, isCanonicalText } from '../../src/audit/chain/record-text';
import { fastCanonicalJson } from '../../src/audit/chain/seal-json-fast';

const record = fastCanonicalJson({
  seq: 12,
  schemaVersion: 1,
  id: 'r-12',
  time: '2026-11-02T09:00:00.000Z',
  type: 'request.created',
  actor: { aadObjectId: 'a1', name: 'Alice', tenantId: 't' },
  data: { n: -3, big: 123456789012345, f: 1.5, e: 1e21, empty: {}, list: [1, 'two', null, true, false, []], '7': 'index-like' },
  outcome: { result: 'ok', detail: 'caf\u00e9 \u2028 \ud83d\ude00 "quoted" back\\slash tab\t' },
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
});

describe('isCanonicalStoredText', () => {
  const texts: Record<string, string> = {
    'a canonical record (escapes, floats, an index-like key)': record,
    'a plain canonical record': fastCanonicalJson({ a: 1, b: { c: 'x', d: [0, -1, 10] }, e: 'y' }),
    'a repeated member': '{"actor":{"name":"Mallory"},"actor":{"name":"Alice"},"seq":1}',
    'members out of order': '{"seq":1,"actor":{"name":"Alice"}}',
    'a repeated nested member': '{"a":{"b":1,"b":2}}',
    'a prefix key after its longer sibling': '{"ab":1,"a":2}',
    'spacing': '{"a": 1}',
    'a trailing newline': '{"a":1}\n',
    'a number written otherwise (1.0)': '{"a":1.0}',
    'a number written otherwise (-0)': '{"a":-0}',
    'a number written otherwise (01)': '{"a":01}',
    'a number written otherwise (1E3)': '{"a":1E3}',
    'a long integer JavaScript writes otherwise': '{"a":12345678901234567891}',
    'a character escaped that need not be': '{"a":"\\u0041"}',
    'a solidus escaped': '{"a":"\\/"}',
    'not JSON': '{"a":',
    'an index-like key out of JavaScript order': '{"b":1,"7":2}',
  };
  for (const [name, text] of Object.entries(texts)) {
    it(`answers as the full check for ${name}`, () => {
      let full: boolean;
      try {
        full = isCanonicalText(text, JSON.parse(text));
      } catch {
        full = false;
      }
      assert.equal(isCanonicalStoredText(text), full);
    });
  }

  it('says a repeated member is not canonical (the check the export relies on)', () => {
    assert.equal(isCanonicalStoredText(record), true);
    assert.equal(isCanonicalStoredText(record.replace('{"actor":', '{"actor":{"name":"Mallory"},"actor":')), false);
  });
});
