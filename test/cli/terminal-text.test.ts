/** What the CLI prints from the database reaches the terminal inert: controls, bidi controls and invisible characters escaped. */
import assert from 'node:assert/strict';
import { shownReport, shownValue } from '../../src/cli/terminal-text';

describe('text the CLI prints from the database', () => {
  it('escapes bidi controls and zero-width characters, so a terminal neither reorders the line nor hides them', () => {
    assert.equal(shownValue('Bob\u202e Approver\u2066x\u2069'), 'Bob\\u202e Approver\\u2066x\\u2069');
    assert.equal(shownValue('Bob\u200bApprover\u200f\ufeff\u2060'), 'Bob\\u200bApprover\\u200f\\ufeff\\u2060');
    assert.equal(shownReport('reason: fix\u202e done\nnext line\u061c\n'), 'reason: fix\\u202e done\nnext line\\u061c\n');
  });

  it('leaves letters of any script, emoji and plain spaces alone', () => {
    for (const plain of ['Zoë Ñandú', 'שלום עולם', 'مرحبا', '日本語 😀', 'a\u00a0b']) assert.equal(shownValue(plain), plain);
  });
});
