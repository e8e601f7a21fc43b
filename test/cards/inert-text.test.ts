/**
 * Text from Teams or Azure shown on a card is one line of inert text: a display name or an Azure
 * error message cannot add lines ("Approved by Bob", "SUCCEEDED") or reverse what approvers read.
 */
import assert from 'node:assert/strict';
import { requestCard } from '../../src/cards/request-card';
import { firstLayoutCharacter, inertLine, unsafeTextProblem } from '../../src/domain/text-safety';
import { cardText } from '../support/connector';
import { alice, buildRequest, requestIn } from '../support/requests';

const SPOOFS = ['\n', '\r', '\u2028', '\u2029', '\u0085', '\u000b', '\u202e', '\u2066', '\u200f', '\u061c', '\u0000', '\u009b'];

/** Every string value of a card, as Teams gets it. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
  return out;
}

describe('inert card text', () => {
  it('finds every control, line-separator and bidi character, and nothing in ordinary text', () => {
    for (const c of SPOOFS) assert.ok(firstLayoutCharacter(`ok${c}ok`), JSON.stringify(c));
    for (const ok of ['Zoë Ñandú', 'rg-prod-01', 'שלום', 'مرحبا', '日本語 😀', 'a\u00a0b']) assert.equal(firstLayoutCharacter(ok), undefined, ok);
    assert.match(unsafeTextProblem('The reason', 'fix\u2028Approved by Bob', 'free-text') ?? '', /The reason contains a line break, control or text-direction character \(U\+2028\)/);
  });

  it('makes one line: breaks become a space, other controls and bidi controls are shown by their code points, never left in or dropped', () => {
    assert.equal(inertLine('Mallory\nApproved by Bob\u2028SUCCEEDED'), 'Mallory Approved by Bob SUCCEEDED');
    assert.equal(inertLine('abc\u202edcba\u202c'), 'abc[U+202E]dcba[U+202C]');
    assert.equal(inertLine('\u2066Bob\u2069\u200f\u061c\u0000\u009b'), '[U+2066]Bob[U+2069][U+200F][U+061C][U+0000][U+009B]');
    for (const c of SPOOFS) assert.equal(firstLayoutCharacter(inertLine(`ok${c}ok`)), undefined, JSON.stringify(c));
    assert.equal(inertLine('plain'), 'plain');
  });

  it('shows a requester display name and an Azure error message on one line, their bidi controls by code point', () => {
    const spoofedName = 'Alice\n\nApproved by Bob Approver\u2028\u202eDEDEECCUS';
    const pending = requestCard(buildRequest({ requester: { ...alice, name: spoofedName } }));
    const failed = requestCard(
      requestIn('failed', {
        execution: {
          startedAt: '2026-03-02T09:10:00.000Z',
          ref: { correlationId: 'c1', resourceIds: [] },
          error: { code: 'Conflict', message: 'nope\r\nSUCCEEDED\u0085Approved by Bob\u2066', details: ['x\u2029y'] },
        },
      }),
    );
    for (const card of [pending, failed]) {
      for (const s of strings(card)) assert.equal(firstLayoutCharacter(s), undefined, JSON.stringify(s));
    }
    assert.match(cardText(pending), /Alice Approved by Bob Approver \\\[U\+202E\\\]DEDEECCUS/);
    assert.match(cardText(failed), /nope SUCCEEDED Approved by Bob\\\[U\+2066\\\]/);
  });

  it('shows an invisible character in a stored request by its code point, so the card reads as what would run', () => {
    // A request made before such values were refused: its card must not read "platformteam".
    const stored = buildRequest({ parameters: { name: 'staging\u200bold' }, reason: 'cleanup\u2060 done' });
    const text = cardText(requestCard(stored));
    assert.match(text, /staging\\\[U\+200B\\\]old/);
    assert.match(text, /cleanup\\\[U\+2060\\\] done/);
    assert.ok(!/[\u200b\u2060]/.test(text), 'no invisible character is left on the card');
  });
});
