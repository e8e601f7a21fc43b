/** The CSV reader of the verification path reads what csv-parse reads, however the text is chunked. */
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { readCsvRows } from '../../src/audit/formats/csv-reader';

async function rows(chunks: string[]): Promise<string[][]> {
  const out: string[][] = [];
  for await (const row of readCsvRows(chunks)) out.push(row.cells);
  return out;
}

function chunked(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

const TEXT = [
  'seq,detail,data',
  `1,plain,"{""a"":1,""b"":""x,y""}"`,
  `2,"'=HYPERLINK(""http://evil"",""x"")",`,
  `3,"line one\r\nline two","say ""hi"""`,
  `4,'\tcmd,""`,
  '5,,',
  '',
].join('\r\n');

describe('reading CSV rows', () => {
  it('reads exactly what csv-parse reads, in chunks of any size (quotes, CRLF and escapes split anywhere)', async () => {
    const expected = parse(TEXT, { relax_column_count: true }) as string[][];
    for (const size of [1, 2, 3, 5, 7, 11, 64, TEXT.length]) {
      assert.deepEqual(await rows(chunked(TEXT, size)), expected, `chunks of ${size}`);
    }
  });

  it('takes LF line ends, a byte order mark and blank lines in its stride', async () => {
    assert.deepEqual(await rows(['\ufeffa,b\n', '\n1,2\n', '3,"4"']), [
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('names the line of a quote that never ends, and of text after a closing quote', async () => {
    await assert.rejects(rows(['a,b\r\n1,"open\r\n2,3\r\n']), /a quoted cell that never ends/);
    await assert.rejects(rows(['a,b\r\n1,"x"y\r\n']), (err: Error & { line?: number }) => err.line === 2 && /text after the closing quote/.test(err.message));
    await assert.rejects(rows(['a,b\r\n1,x"y\r\n']), /a quote inside an unquoted cell/);
  });

  it('stops at a row past the cap as soon as it passes it, without reading on to its end', async () => {
    let pulled = 0;
    function* endless() {
      yield 'a,b\r\n1,"';
      for (;;) {
        pulled++;
        yield 'x'.repeat(10);
      }
    }
    await assert.rejects(
      (async () => {
        for await (const _ of readCsvRows(endless(), 100)) void _;
      })(),
      /a row longer than the 100 characters a row may hold/,
    );
    assert.ok(pulled <= 11, `read ${pulled} chunks past the cap`);
    // The cap counts the row's cells together, and only one row at a time.
    assert.deepEqual(await rows(['1234567890,1234567890\r\n', '1234567890,1234567890']), [
      ['1234567890', '1234567890'],
      ['1234567890', '1234567890'],
    ]);
    const capped = async (chunks: string[]) => {
      const out: string[][] = [];
      for await (const row of readCsvRows(chunks, 20)) out.push(row.cells);
      return out;
    };
    assert.deepEqual(await capped(['1234567890,1234567890\r\n', '1234567890,"1234567890"']), [
      ['1234567890', '1234567890'],
      ['1234567890', '1234567890'],
    ]);
    await assert.rejects(capped(['1234567890,12345678901\r\n']), /a row longer than the 20 characters/);
  });
});
