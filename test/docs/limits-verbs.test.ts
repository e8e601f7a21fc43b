/**
 * docs/limits.md's row for a card action's `verb` against the request card itself: every verb a button
 * of cards/request.json sends is named there, so the limit's reader knows every value it takes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

describe('docs/limits.md against the request card', () => {
  it("names every verb the request card's buttons send in the row of `verb`", () => {
    const verbs = [...new Set([...readFileSync(path.join(ROOT, 'cards', 'request.json'), 'utf8').matchAll(/"verb":\s*"([a-z-]+)"/g)].map((m) => m[1]))];
    assert.ok(verbs.includes('approve') && verbs.length >= 5, verbs.join(', '));
    const row = readFileSync(path.join(ROOT, 'docs', 'limits.md'), 'utf8').split('\n').find((line) => line.startsWith('| `verb` |'));
    assert.ok(row, 'limits.md has a row for verb');
    for (const verb of verbs) assert.ok(row.includes(`\`${verb}\``), `limits.md's verb row does not name ${verb}: ${row}`);
  });
});
