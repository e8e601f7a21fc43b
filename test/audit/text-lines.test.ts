/**
 * Export files are read line by line at LF only. Node 24's readline also ends lines at U+2028 and
 * U+2029, which JSON leaves unescaped in strings: a record quoting them was cut in two and a genuine
 * export failed verification as "edited" (on Node 24 only).
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readJsonl, textLines } from '../../src/audit/formats/jsonl';

async function linesOf(chunks: (string | Buffer)[]): Promise<string[]> {
  const out: string[] = [];
  for await (const { text } of textLines(PassThrough.from(chunks))) out.push(text);
  return out;
}

describe('reading export lines', () => {
  it('keeps U+2028 and U+2029 inside a line (JSON leaves them unescaped in strings)', async () => {
    const records = [{ seq: 1, text: 'a\u2028b' }, { seq: 2, text: 'c\u2029d' }];
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const read: unknown[] = [];
    for await (const r of readJsonl(PassThrough.from([text]))) read.push(r);
    assert.deepEqual(read, records);
  });

  it('ends lines at LF and CRLF, skips blank ones, and numbers them as an editor would', async () => {
    const out: [string, number][] = [];
    for await (const { text, lineNo } of textLines(PassThrough.from(['one\r\n\ntwo\nthree']))) out.push([text, lineNo]);
    assert.deepEqual(out, [['one', 1], ['two', 3], ['three', 4]]);
  });

  it('decodes a character split across two chunks of bytes', async () => {
    const bytes = Buffer.from('Zürich 東京\n');
    assert.deepEqual(await linesOf([bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)]), ['Zürich 東京']);
  });
});
