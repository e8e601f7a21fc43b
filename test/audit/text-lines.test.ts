/**
 * Export files are read line by line at LF only. Node 24's readline also ends lines at U+2028 and
 * U+2029, which JSON leaves unescaped in strings: a record quoting them was cut in two and a genuine
 * export failed verification as "edited" (on Node 24 only).
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { ChainDefect } from '../../src/audit/chain/record-text';
import { MAX_EXPORT_LINE_CHARS, readJsonl, textLines } from '../../src/audit/formats/jsonl';

async function linesOf(chunks: Iterable<string | Buffer>, maxLineChars?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const { text } of textLines(PassThrough.from(chunks), maxLineChars)) out.push(text);
  return out;
}

/** `count` chunks of `size` x's: one line as a file reader would deliver it, 64 KiB at a time. */
function* xs(count: number, size = 64 * 1024): Generator<Buffer> {
  const chunk = Buffer.alloc(size, 'x');
  for (let i = 0; i < count; i++) yield chunk;
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

  it('reads a line as long as the cap, however many chunks it came in, and the lines around it', async () => {
    const chunks = MAX_EXPORT_LINE_CHARS / (64 * 1024);
    const lines = await linesOf(['before\n', ...xs(chunks), '\r\nafter']);
    assert.deepEqual(
      lines.map((l) => l.length),
      [6, MAX_EXPORT_LINE_CHARS, 5],
    );
    assert.equal(lines[1], 'x'.repeat(MAX_EXPORT_LINE_CHARS));
  });

  it('refuses a line longer than the cap, naming the line, its length and the cap', async () => {
    const chunks = MAX_EXPORT_LINE_CHARS / (64 * 1024) + 1;
    const read: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const { text } of textLines(PassThrough.from(['one\n', ...xs(chunks), '\r\nthree\n']))) read.push(text);
      })(),
      (err: Error) => {
        assert.ok(err instanceof ChainDefect, String(err));
        assert.equal(err.kind, 'edited');
        assert.equal(
          err.message,
          "line 2 of the export is 16,842,752 characters long, more than the 16,777,216 a line may hold (Countersign's records are far shorter): it was edited, or is not a Countersign export.",
        );
        return true;
      },
    );
    assert.deepEqual(read, ['one'], 'the lines before it are read');
  });

  it('counts a line past the cap to its end, also the last line without LF, and not its line end', async () => {
    const refusal = (line: number, length: number) => ({ message: new RegExp(`^line ${line} of the export is ${length} characters long, more than the 10 a line may hold`) });
    assert.deepEqual(await linesOf(['0123456789\r\n', '0123456789'], 10), ['0123456789', '0123456789']);
    await assert.rejects(linesOf(['ok\n', '01234567890'], 10), refusal(2, 11));
    await assert.rejects(linesOf(['ok\n', '0123456789', '0123\r'], 10), refusal(2, 14));
    await assert.rejects(linesOf(['01234', '56789', '0123\r', '\n'], 10), refusal(1, 14));
    await assert.rejects(linesOf(['01234', '5678901234567', 'x\r\nok\n'], 10), refusal(1, 19));
  });
});
