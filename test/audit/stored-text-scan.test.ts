/**
 * The scan that lets database verification skip JSON.parse must accept a text only when it is its
 * own canonical form (then the hash over the stored bytes is the reference hash) and must find the
 * values JSON.parse would give.
 */
import assert from 'node:assert/strict';
import { sealRecord } from '../../src/audit/chain/chain';
import { scanStoredText, storedTextFields, type StoredTextFields } from '../../src/audit/verify/stored-text-scan';
import { anEvent, bob, requestRef, timeAt } from '../store/fixtures';

function fieldsOf(text: string, f: StoredTextFields) {
  const at = (s: number, e: number) => (s === -1 ? null : text.slice(s, e));
  return {
    seq: f.seq,
    id: at(f.idStart, f.idEnd),
    time: at(f.timeStart, f.timeEnd),
    type: at(f.typeStart, f.typeEnd),
    prevHash: at(f.prevHashStart, f.prevHashEnd),
    hash: at(f.hashStart, f.hashEnd),
    requestId: at(f.requestIdStart, f.requestIdEnd),
    actorId: at(f.actorIdStart, f.actorIdEnd),
    hashed: text.slice(0, f.hashMember) + text.slice(f.hashEnd + 2),
  };
}

function expected(text: string) {
  const r = JSON.parse(text) as Record<string, unknown> & { request?: { id?: string }; actor?: { aadObjectId?: string } };
  return {
    seq: r.seq,
    id: r.id,
    time: r.time,
    type: r.type,
    prevHash: r.prevHash,
    hash: r.hash,
    requestId: r.request?.id ?? null,
    actorId: r.actor?.aadObjectId ?? null,
    hashed: JSON.stringify({ ...r, hash: undefined }),
  };
}

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('scanning a stored record text without parsing it', () => {
  const texts: string[] = [];
  before(() => {
    let prev: { seq: number; hash: string } | undefined;
    for (let i = 0; i < 60; i++) {
      const data = i % 4 === 0 ? { hash: 'f'.repeat(64), nested: { hash: 'e'.repeat(64), list: [1, -2, 0, true, false, null, { id: 'x' }] } } : i % 4 === 1 ? { id: 'not the request id', aadObjectId: 'nor the actor' } : i % 4 === 2 ? { note: 'déjà vu \u{1F600} ok' } : undefined;
      const sealed = sealRecord(
        anEvent('request.created', { time: timeAt(i), ...(i % 3 === 0 ? { actor: undefined } : i % 3 === 1 ? { actor: bob } : {}), ...(i % 5 === 0 ? { request: undefined } : { request: requestRef(`req-${i}`) }), ...(data ? { data } : {}) }),
        prev,
        `id-${i}`,
      );
      texts.push(sealed.text);
      prev = { seq: sealed.record.seq, hash: sealed.record.hash };
    }
  });

  it('accepts what the sealer writes and finds what JSON.parse finds', () => {
    const f = storedTextFields();
    for (const text of texts) {
      assert.equal(scanStoredText(text, f), true, text);
      assert.deepEqual(fieldsOf(text, f), expected(text), text);
    }
  });

  it('refuses texts that are not their own canonical form, or that it leaves to the reference way', () => {
    const f = storedTextFields();
    const text = texts[4];
    const refused: [string, string][] = [
      ['whitespace', text.replace('":', '": ')],
      ['keys out of order', text.replace(/^\{"actor":(\{[^}]*\}),/, (_, actor: string) => `{${text.slice(1).split(',"id":')[0].replace(/^"actor":\{[^}]*\},/, '')},"actor":${actor},"id":`)],
      ['a repeated key', text.replace('"seq":', '"seq":1,"seq":')],
      ['an escape', text.replace('"type":"request.created"', '"type":"request\\u002ecreated"')],
      ['a fraction', text.replace('"schemaVersion":1', '"schemaVersion":1.0')],
      ['an exponent', text.replace('"schemaVersion":1', '"schemaVersion":1e0')],
      ['minus zero', text.replace('"schemaVersion":1', '"schemaVersion":-0')],
      ['a leading zero', text.replace('"schemaVersion":1', '"schemaVersion":01')],
      ['a control character', text.replace('request.created', 'request\u0001created')],
      ['a lone surrogate', text.replace('request.created', 'request\ud800created')],
      ['a key like an array index', text.replace('{"actor":', '{"0":1,"actor":')],
      ['a request that is not an object', text.replace(/"request":\{[^}]*\}/, '"request":"req-4"')],
      ['no seq', text.replace(/"seq":\d+,/, '')],
      ['a seq that is not a positive integer', text.replace(/"seq":\d+/, '"seq":0')],
      ['something after the object', `${text} `],
      ['deep nesting', text.replace('"schemaVersion":1', `"schemaVersion":${'['.repeat(100)}${']'.repeat(100)}`)],
    ];
    for (const [what, t] of refused) {
      assert.notEqual(t, text, what);
      assert.equal(scanStoredText(t, f), false, what);
    }
  });

  it('never accepts a text that is not its own canonical form, however it was changed (random edits)', () => {
    const next = random(18);
    const alphabet = '{}[]":,0123456789-.eE tfnrul\\abé\u2028\u0001\ud83d\ude00';
    const f = storedTextFields();
    let accepted = 0;
    for (let k = 0; k < 20_000; k++) {
      let t = texts[k % texts.length];
      for (let m = 0; m <= k % 3; m++) {
        const p = Math.floor(next() * t.length);
        const c = alphabet[Math.floor(next() * alphabet.length)];
        const op = next();
        t = op < 0.33 ? t.slice(0, p) + t.slice(p + 1) : op < 0.66 ? t.slice(0, p) + c + t.slice(p) : t.slice(0, p) + c + t.slice(p + 1);
      }
      if (!scanStoredText(t, f)) continue;
      accepted += 1;
      assert.equal(JSON.stringify(JSON.parse(t)), t, t);
      assert.deepEqual(fieldsOf(t, f), expected(t), t);
    }
    assert.ok(accepted > 1000, `some edited texts are still canonical (${accepted})`);
  });
});
