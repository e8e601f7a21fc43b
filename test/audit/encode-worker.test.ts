/**
 * Large exports have their stored batches encoded on a worker thread (encoders with storedWorker):
 * the bytes, the summary and the progress must be what encoding on the main thread gives, and a
 * batch the worker cannot encode must fail the export as it would have anyway.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { CSV_ENCODER } from '../../src/audit/formats/csv-writer';
import { EncodeWorker } from '../../src/audit/formats/encode-worker';
import { packRows, unpackRows } from '../../src/audit/formats/packed-rows';
import { writeRecords } from '../../src/audit/formats/output';
import type { StoredRecordText } from '../../src/audit/formats/encoder';
import type { ExportSummary } from '../../src/audit/formats/output';
import { openSqliteStore } from '../../src/store/sqlite';
import type { SqliteStore } from '../../src/store/sqlite';
import { anEvent, bob, requestRef, tempDir, timeAt } from '../store/fixtures';

async function exportText(rows: AsyncIterable<StoredRecordText>, workerAfterBatches?: number): Promise<{ text: string; summary: ExportSummary; counts: number[] }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const counts: number[] = [];
  const summary = await writeRecords({ stored: rows }, CSV_ENCODER, out, (s) => counts.push(s.count), workerAfterBatches === undefined ? {} : { workerAfterBatches });
  out.end();
  await finished(out);
  return { text: Buffer.concat(chunks).toString('utf8'), summary, counts };
}

describe('encoding export batches on a worker thread', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tempDir>;
  let store: SqliteStore;

  before(async () => {
    tmp = tempDir();
    store = await openSqliteStore({ file: path.join(tmp.dir, 'countersign.db') });
    const drafts = [];
    for (let i = 0; i < 3000; i++) {
      drafts.push(
        anEvent('request.created', {
          time: timeAt(i),
          actor: i % 3 ? bob : undefined,
          request: requestRef(`req-${i % 40}`),
          // Some records take the general path (an escaped quote, an index-like key).
          outcome: i % 17 === 0 ? { result: 'refused', detail: `say "no" ${i}` } : { result: 'ok', detail: `=${i}` },
          data: i % 29 === 0 ? { '7': i } : { n: -i },
        }),
      );
    }
    await store.audit.append(drafts);
  });
  after(async () => {
    await store.close();
    tmp.remove();
  });

  it('writes the same bytes, summary and progress as encoding on the main thread', async () => {
    const here = await exportText(store.audit.readStored(), Infinity);
    const there = await exportText(store.audit.readStored(), 0);
    assert.ok(here.text.length > 0);
    assert.equal(there.text, here.text);
    assert.deepEqual(there.summary, here.summary);
    // Progress counts what was written, batch by batch, in both.
    assert.deepEqual(there.counts, here.counts);
    assert.equal(here.counts.at(-1), 3000);
  });

  it('starts the worker only after the first batches (the default leaves small exports on the main thread)', async () => {
    const mixed = await exportText(store.audit.readStored(), 3);
    const here = await exportText(store.audit.readStored(), Infinity);
    assert.equal(mixed.text, here.text);
    assert.deepEqual(mixed.summary, here.summary);
  });

  it('brings back from the worker the records whose stored text is not canonical (a member repeated, hash unchanged)', async () => {
    const altered = new Set([101, 1502, 3000]);
    async function* rows(): AsyncGenerator<StoredRecordText> {
      for await (const row of store.audit.readStored()) yield altered.has(row.seq) ? { ...row, text: row.text.replace('{"actor":', '{"actor":{"name":"Mallory"},"actor":') } : row;
    }
    const here = await exportText(rows(), Infinity);
    const there = await exportText(rows(), 0);
    assert.deepEqual(here.summary.altered, { count: 3, seqs: [101, 1502, 3000] });
    assert.deepEqual(there.summary, here.summary);
    assert.equal(there.text, here.text);
  });

  it('fails the export with the error the main thread would give for a batch it cannot encode', async () => {
    async function* rows(): AsyncGenerator<StoredRecordText> {
      for await (const row of store.audit.readStored()) yield row.seq === 2000 ? { ...row, text: row.text.slice(0, 30) } : row;
    }
    const expected = await exportText(rows(), Infinity).then(
      () => assert.fail('the broken record was exported'),
      (err: Error) => err,
    );
    assert.ok(expected instanceof SyntaxError);
    await assert.rejects(exportText(rows(), 0), (err: Error) => err instanceof SyntaxError && err.message === expected.message);
  });

  it('keeps a batch for the main thread packed outside the heap, and unpacks it exactly', () => {
    const rows: StoredRecordText[] = [
      { seq: 1, hash: 'a'.repeat(64), text: '{"a":"plain"}' },
      { seq: 7, hash: '', text: '' },
      { seq: 2 ** 40, hash: 'h\u00e9', text: '{"x":"caf\u00e9 \u2028 \ud83d\ude00 lone \ud800 and \udc00"}' },
    ];
    assert.deepEqual(unpackRows(packRows(rows)), rows);
    assert.deepEqual(unpackRows(packRows([])), []);
  });

  it('has the main thread encode what a worker that is gone cannot', async () => {
    const worker = new EncodeWorker(CSV_ENCODER.storedWorker!);
    const rows: StoredRecordText[] = [];
    for await (const row of store.audit.readStored()) if (rows.length < 10) rows.push(row);
    const encoded = await worker.encode(rows);
    assert.equal(Buffer.from(encoded!.bytes).toString('utf8'), CSV_ENCODER.encodeStored!(rows));
    worker.close();
    assert.equal(await worker.encode(rows), undefined);
  });
});
