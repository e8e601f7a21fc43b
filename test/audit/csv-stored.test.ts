/**
 * The CSV line written straight from a record's stored text (csv-stored-fast.ts) must be exactly the line
 * the general path writes (JSON.parse, then csvLine), or be left to that path.
 */
import assert from 'node:assert/strict';
import { sealRecord } from '../../src/audit/chain/chain';
import { CSV_ENCODER, csvLine } from '../../src/audit/formats/csv-writer';
import { csvLineFromStoredText } from '../../src/audit/formats/csv-stored-fast';
import { packRows } from '../../src/audit/formats/packed-rows';
import { fastCanonicalJson } from '../../src/audit/chain/seal-json-fast';
import type { AuditRecord } from '../../src/domain/audit';
import { GENESIS_HASH } from '../../src/domain/audit';
import { anEvent, bob, requestRef, timeAt } from '../store/fixtures';

const INDEX_LIKE_KEY = /"(?:0|[1-9]\d{0,9})":/;
const THROWS = Symbol('throws');

/** What the general path writes for a stored text (CSV_ENCODER.encodeStored before the fast path). */
function general(text: string): string | typeof THROWS {
  try {
    const r = JSON.parse(text) as AuditRecord;
    return csvLine(r, INDEX_LIKE_KEY.test(text) ? fastCanonicalJson : JSON.stringify);
  } catch {
    return THROWS;
  }
}

function assertSame(text: string): string | undefined {
  const fast = csvLineFromStoredText(text);
  if (fast !== undefined) assert.equal(fast, general(text), `for the stored text ${JSON.stringify(text)}`);
  return fast;
}

function sealed(i: number, overrides: Parameters<typeof anEvent>[1] = {}): string {
  return sealRecord(anEvent('request.created', { time: timeAt(i), actor: bob, request: requestRef(`req-${i}`), ...overrides }), { seq: i, hash: GENESIS_HASH }, `id-${i}`).text;
}

const plain: Parameters<typeof anEvent>[1][] = [
  {},
  { actor: undefined, request: undefined },
  { request: { ...requestRef('r'), reason: '' } },
  { request: { ...requestRef('r'), reason: 'a, b and c' } },
  { actor: { aadObjectId: '@id', tenantId: '+tenant', name: '-Mallory' } },
  { actor: { aadObjectId: "'quoted", tenantId: '=1+1', name: '' } },
  { outcome: { result: 'refused', reason: 'self-approval', detail: '=HYPERLINK(1)' } },
  { data: { n: -5, list: [1, 'two', null, true, false, -0.5, 1e21, 1e-7], '': 'empty key', nested: { a: [[]], b: {} } } },
  { data: { text: 'Zürich – Ünïcode, ok', comma: 'a,b', eq: '=1' } },
  { source: { channelId: 'msteams', conversationId: 'c', conversationType: 'personal', activityId: 'a' } },
  { target: { subscriptionId: 's', resourceGroup: 'rg' }, execution: { correlationId: 'c', operationIds: ['o1', 'o2'], status: 'Running' } },
];

describe('CSV lines from the stored text', () => {
  it('writes a record of the usual shapes straight from its text, as the general path does', () => {
    for (const [i, overrides] of plain.entries()) {
      const text = sealed(i + 1, overrides);
      assert.notEqual(assertSame(text), undefined, `the usual shape takes the fast path: ${text}`);
    }
  });

  it('leaves to the general path what it cannot write the same way', () => {
    const base = sealed(7);
    const cases: Record<string, string> = {
      'an escaped character': sealed(7, { outcome: { result: 'ok', detail: 'say "hi"' } }),
      'a neutralised line break': sealed(7, { outcome: { result: 'ok', detail: 'two\nlines' } }),
      'a character outside the BMP': sealed(7, { outcome: { result: 'ok', detail: 'emoji 😀' } }),
      'an index-like key': sealed(7, { data: { '10': 1, '9': 2 } }),
      'a key starting with a digit': sealed(7, { data: { '1a': 1 } }),
      whitespace: base.replace('"type":', ' "type": '),
      'trailing whitespace': `${base} `,
      'a duplicated member': base.replace('"type":', '"type":"x","type":'),
      'keys out of order': base.replace(/^\{/, '{"zz":1,'),
      '-0': sealed(7, { data: { n: 1 } }).replace('"n":1', '"n":-0'),
      '1.0': sealed(7, { data: { n: 1 } }).replace('"n":1', '"n":1.0'),
      '1E3': sealed(7, { data: { n: 1 } }).replace('"n":1', '"n":1E3'),
      'a seq written as text': base.replace(/"seq":(\d+)/, '"seq":"$1"'),
      'an actor that is not an object': base.replace(/"actor":\{[^}]*\}/, '"actor":"bob"'),
      'an actor name that is a number': base.replace(/"name":"[^"]*"/, '"name":5'),
      'no outcome': base.replace(/"outcome":\{[^}]*\},/, ''),
      'a raw control character': base.replace('"type":"', '"type":"\u0001'),
      'text after the record': `${base}x`,
      'a cut-off record': base.slice(0, -3),
    };
    for (const [what, text] of Object.entries(cases)) {
      assert.notEqual(text, base, what);
      assert.equal(assertSame(text), undefined, `${what} takes the general path`);
    }
  });

  /** Texts of the usual shapes with one to three random edits, from a seeded generator (a failure can be replayed). */
  function editedTexts(count: number, seed: number): string[] {
    let state = seed;
    const random = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const alphabet = '{}[]",:0123456789-+.eE \\tfnulü';
    const texts = plain.map((o, i) => sealed(i + 1, o));
    const edited: string[] = [];
    for (let k = 0; k < count; k++) {
      let text = texts[random(texts.length)];
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(text.length);
        const op = random(3);
        const ch = alphabet[random(alphabet.length)];
        text = op === 0 ? text.slice(0, at) + text.slice(at + 1) : op === 1 ? text.slice(0, at) + ch + text.slice(at) : text.slice(0, at) + ch + text.slice(at + 1);
      }
      edited.push(text);
    }
    return edited;
  }

  it('never writes a line the general path would not, whatever the text (random edits)', () => {
    let fast = 0;
    for (const text of editedTexts(5000, 42)) if (assertSame(text) !== undefined) fast++;
    // Some edits keep the text of the usual shape (a changed letter or digit): those took the fast path.
    assert.ok(fast > 100, `only ${fast} edited texts took the fast path`);
  });

  it('writes a packed batch of records of any shape, each read only within its own bytes, as the general path does', () => {
    // Only texts the general path can write: a batch with any other fails as a whole, as it should.
    const texts = editedTexts(6000, 7).filter((text) => general(text) !== THROWS);
    assert.ok(texts.length > 1000, `only ${texts.length} edited texts were valid`);
    for (let i = 0; i < texts.length; i += 256) {
      const batch = texts.slice(i, i + 256).map((text, k) => ({ seq: i + k + 1, hash: `h${k}`, text }));
      const expected = batch.map((row) => general(row.text)).join('');
      const bytes = CSV_ENCODER.encodePackedBytes!(packRows(batch));
      assert.equal(Buffer.from(bytes).toString('utf8'), expected);
    }
  });

  it('finds a backslash or a raw control character wherever it sits in the packed bytes (any alignment)', () => {
    const detail = 'abcdefghijklmnopqrstuvwx';
    const base = sealed(9, { outcome: { result: 'ok', detail } });
    const at = base.indexOf(detail);
    for (let pad = 0; pad < 4; pad++) {
      // A first record of another length moves the second one's bytes against four-byte words.
      const first = { seq: 1, hash: '', text: sealed(1, { outcome: { result: 'ok', detail: 'x'.repeat(pad) } }) };
      for (let k = 0; k < detail.length; k++) {
        const escaped = `${base.slice(0, at + k)}\\"${base.slice(at + k)}`;
        const batch = [first, { seq: 2, hash: '', text: escaped }];
        assert.equal(Buffer.from(CSV_ENCODER.encodePackedBytes!(packRows(batch))).toString('utf8'), [first.text, escaped].map(general).join(''), `an escape at ${k}, pad ${pad}`);
        for (const control of ['\u0001', '\u001f', '\t']) {
          const raw = `${base.slice(0, at + k)}${control}${base.slice(at + k + 1)}`;
          // JSON.parse refuses it: the batch fails, as it would on the general path, and is not written as if plain.
          assert.throws(() => CSV_ENCODER.encodePackedBytes!(packRows([first, { seq: 2, hash: '', text: raw }])), SyntaxError, `${JSON.stringify(control)} at ${k}, pad ${pad}`);
        }
      }
    }
  });

  it('leaves a record of the usual shape to the general path when its text is not plain JSON (an escape, an emoji)', () => {
    const cases = [sealed(3, { outcome: { result: 'ok', detail: 'say "hi"' } }), sealed(4, { outcome: { result: 'ok', detail: 'emoji 😀, Zürich' } }), sealed(5, { data: { n: 'Zürich, ok' } })];
    const batch = cases.map((text, k) => ({ seq: k + 1, hash: '', text }));
    assert.equal(Buffer.from(CSV_ENCODER.encodePackedBytes!(packRows(batch))).toString('utf8'), cases.map((text) => general(text)).join(''));
  });

  it('writes a batch as bytes exactly as the text of it, however long its lines (non-ASCII ones included)', () => {
    const texts = [...plain.map((o, i) => sealed(i + 1, o)), sealed(50, { outcome: { result: 'ok', detail: `long ${'Ünïcödé 東京 '.repeat(20_000)}` } }), sealed(51, { outcome: { result: 'ok', detail: 'say "hi"' } })];
    const batch = texts.map((text, i) => ({ seq: i + 1, hash: '', text }));
    const bytes = CSV_ENCODER.encodeStoredBytes!(batch);
    assert.ok(bytes.length > 256 * 1024, 'the batch outgrew the first buffer');
    assert.equal(Buffer.from(bytes).toString('utf8'), CSV_ENCODER.encodeStored!(batch));
    assert.deepEqual(Buffer.from(bytes), Buffer.from(CSV_ENCODER.encodeStored!(batch), 'utf8'));
  });
});
