import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parse } from 'csv-parse/sync';
import { CSV_COLUMNS, escapeCsvCell, unescapeCsvCell } from '../../src/audit/formats/csv-columns';
import { readCsv } from '../../src/audit/formats/csv-reader';
import { csvLine, writeCsv } from '../../src/audit/formats/csv-writer';
import { readJsonl, writeJsonl } from '../../src/audit/formats/jsonl';
import { writeRecords } from '../../src/audit/formats/output';
import type { ExportSummary } from '../../src/audit/formats/output';
import { OCSF_ENCODER } from '../../src/audit/formats/ocsf';
import { CSV_ENCODER } from '../../src/audit/formats/csv-writer';
import { JSONL_ENCODER } from '../../src/audit/formats/jsonl';
import type { AuditFilter } from '../../src/domain/audit';
import { verifyChain } from '../../src/audit/verify/verify';
import type { AuditRecord } from '../../src/domain/audit';
import { canonicalJson } from '../../src/domain/canonical';
import { openSqliteStore } from '../../src/store/sqlite';
import type { SqliteStore } from '../../src/store/sqlite';
import { anEvent, bob, requestRef, tempDir, timeAt } from '../store/fixtures';
import { collect } from '../store/store-contract';

// Every kind of record an export must carry, those about reaching approvers included.
const TYPES = ['request.created', 'approval.granted', 'request.approved', 'execution.started', 'execution.succeeded', 'approvers.notified', 'approver.unreachable', 'request.reminded', 'request.escalated'] as const;

/** A varied event: every optional part appears in some records, absent in others. */
function varied(i: number) {
  return anEvent(TYPES[i % TYPES.length], {
    time: timeAt(i),
    actor: i % 7 === 0 ? undefined : i % 2 ? bob : undefined,
    request: i % 11 === 0 ? undefined : { ...requestRef(`req-${i % 50}`), ...[{}, { reason: `reason ${i}` }, { reason: '' }][i % 3] },
    execution: i % 5 === 4 ? { correlationId: `corr-${i}`, operationIds: [`op-${i}`], status: 'Succeeded' } : undefined,
    outcome: i % 13 === 0 ? { result: 'refused', reason: 'SelfApproval', detail: `=HYPERLINK("http://evil/${i}","click")` } : { result: 'ok' },
    data: i % 4 === 0 ? { n: i, note: i % 8 ? '-1+1' : "'quoted", list: [1, 'two', null] } : undefined,
  });
}

async function writeToFile(file: string, write: (out: NodeJS.WritableStream & import('node:stream').Writable) => Promise<unknown>) {
  const out = createWriteStream(file);
  await write(out);
  out.end();
  await finished(out);
}

describe('exporting the audit trail', function () {
  let tmp: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  let records: AuditRecord[];

  before(async () => {
    tmp = tempDir();
    store = await openSqliteStore({ file: path.join(tmp.dir, 'countersign.db') });
    const appends = [];
    for (let i = 0; i < 3000; i++) appends.push(store.audit.append([varied(i)]));
    await Promise.all(appends);
    records = await collect(store.audit.read());
  });
  after(async () => {
    await store.close();
    tmp.remove();
  });

  describe('as JSON Lines', () => {
    it('writes one canonical JSON record per line, and the file verifies offline', async () => {
      const file = path.join(tmp.dir, 'audit.jsonl');
      let summary: ExportSummary | undefined;
      await writeToFile(file, async (out) => {
        summary = await writeJsonl(store.audit.read(), out);
      });
      assertSummary(summary, file, records);
      const lines = readFileSync(file, 'utf8').split('\n');
      assert.equal(lines.pop(), '');
      assert.equal(lines.length, 3000);
      lines.forEach((line, i) => assert.equal(line, canonicalJson(records[i])));
      assert.deepEqual(await collect(readJsonl(file)), records);
      const v = await verifyChain(readJsonl(file));
      assert.equal(v.ok, true, v.problem?.message);
      assert.equal(v.headHash, records[2999].hash);
    });

    it('names the record when a line of the export was edited', async () => {
      const file = path.join(tmp.dir, 'edited.jsonl');
      const lines = records.slice(0, 20).map((r) => canonicalJson(r));
      lines[11] = lines[11].replace('"result":"ok"', '"result":"refused"');
      writeFileSync(file, `${lines.join('\n')}\n`);
      const v = await verifyChain(readJsonl(file));
      assert.equal(v.problem?.kind, 'edited');
      assert.equal(v.problem?.seq, 12);
    });

    it('names the line when the export is not JSON any more', async () => {
      const file = path.join(tmp.dir, 'broken.jsonl');
      const lines = records.slice(0, 5).map((r) => canonicalJson(r));
      lines[3] = lines[3].slice(0, 40);
      writeFileSync(file, `${lines.join('\n')}\n`);
      const v = await verifyChain(readJsonl(createReadStream(file)));
      assert.equal(v.problem?.kind, 'edited');
      assert.equal(v.problem?.seq, 4);
      assert.match(v.problem!.message, /line 4 of the export is not valid JSON/);
    });
  });

  describe('from the stored text (not parsed)', () => {
    const filters: AuditFilter[] = [
      {},
      { requestId: 'req-7' },
      { actorId: bob.aadObjectId, types: ['approval.granted', 'execution.succeeded'] },
      { from: timeAt(100), to: timeAt(900) },
    ];
    for (const [format, encoder] of [['jsonl', JSONL_ENCODER], ['csv', CSV_ENCODER], ['ocsf', OCSF_ENCODER]] as const) {
      it(`${format}: writes the same bytes, summary and manifest hash as from parsed records, under every filter`, async () => {
        for (const filter of filters) {
          const fromRecords = new PassThrough();
          const a = await collectText(fromRecords, writeRecords(store.audit.read(filter), encoder, fromRecords));
          const fromStored = new PassThrough();
          let summaries: ExportSummary[] = [];
          const b = await collectText(
            fromStored,
            Promise.all([
              writeRecords(store.audit.read(filter), encoder, new PassThrough().resume()),
              writeRecords({ stored: store.audit.readStored(filter) }, encoder, fromStored),
            ]).then((s) => (summaries = s)),
          );
          assert.ok(a.length > 0);
          assert.equal(b, a, JSON.stringify(filter));
          assert.deepEqual(summaries[1], summaries[0]);
          assert.equal(summaries[1].sha256, createHash('sha256').update(b, 'utf8').digest('hex'));
        }
      });
    }
  });

  describe('as CSV', () => {
    it('parses back with csv-parse into exactly the records, which verify', async () => {
      const file = path.join(tmp.dir, 'audit.csv');
      let summary: ExportSummary | undefined;
      await writeToFile(file, async (out) => {
        summary = await writeCsv(store.audit.read(), out);
      });
      assertSummary(summary, file, records);
      const rows = parse(readFileSync(file), { columns: true }) as Record<string, string>[];
      assert.equal(rows.length, 3000);
      assert.deepEqual(Object.keys(rows[0]), [...CSV_COLUMNS]);
      assert.equal(rows[13].seq, '14');
      assert.equal(rows[13].actor_name, 'Bob Approver');
      assert.equal(rows[13].request_parameters, '{"vm":"web-01"}');
      assert.deepEqual(await collect(readCsv(file)), records);
      const v = await verifyChain(readCsv(file));
      assert.equal(v.ok, true, v.problem?.message);
      assert.equal(v.count, 3000);
    });

    it('keeps an empty text apart from an absent one', async () => {
      const withEmpty = records.find((r) => r.request?.reason === '');
      const withoutReason = records.find((r) => r.request && r.request.reason === undefined);
      assert.ok(withEmpty && withoutReason);
      const out = new PassThrough();
      const done = writeCsv(
        (async function* () {
          yield withEmpty;
          yield withoutReason;
        })(),
        out,
      );
      const text = await collectText(out, done);
      assert.deepEqual(await collect(readCsv(PassThrough.from([text]))), [withEmpty, withoutReason]);
    });

    it('escapes cells a spreadsheet would run as a formula', () => {
      for (const cell of ['=HYPERLINK("http://evil","x")', '+1', '-2', '@SUM(A1)', '\tcmd', '\rcmd', "'already"]) {
        assert.equal(escapeCsvCell(cell), `'${cell}`);
        assert.equal(unescapeCsvCell(escapeCsvCell(cell)), cell);
      }
      for (const cell of ['plain', '1-2', 'a=b', '{"json":1}']) assert.equal(escapeCsvCell(cell), cell);
      // An empty text is a lone quote, so it reads back apart from an absent value (an empty cell).
      assert.equal(escapeCsvCell(''), "'");
      assert.equal(unescapeCsvCell("'"), '');
    });

    it('writes a record whose text starts with a formula so no cell starts with = + - @ tab or CR', () => {
      const r = records.find((x) => x.outcome.detail?.startsWith('=HYPERLINK'))!;
      const hostile = { ...r, actor: { aadObjectId: '@id', tenantId: '+tenant', name: '-Mallory' }, outcome: { result: 'refused' as const, detail: '\t=cmd|" /C calc"!A0', reason: '\rx' } };
      const [cells] = parse(csvLine(hostile), { relax_quotes: true }) as string[][];
      for (const cell of cells) assert.doesNotMatch(cell, /^[=+\-@\t\r]/, `cell ${JSON.stringify(cell)} would run in a spreadsheet`);
      assert.equal(cells[CSV_COLUMNS.indexOf('outcome_detail')], `'\t=cmd|" /C calc"!A0`);
      assert.equal(cells[CSV_COLUMNS.indexOf('actor_name')], "'-Mallory");
    });

    it('refuses a CSV file that is not a Countersign export', async () => {
      await assert.rejects(collect(readCsv(PassThrough.from(['a,b\n1,2\n']))), /not a Countersign audit CSV export/);
    });

    it('quotes only the start of a long first line that is not the header', async () => {
      const long = 'x'.repeat(100_000);
      await assert.rejects(collect(readCsv(PassThrough.from([`${long}\n1,2\n`]))), (err: Error) => {
        assert.ok(err.message.length < 1000, `the message is ${err.message.length} characters long`);
        assert.match(err.message, /found x{300}… \(100,000 characters in all\)$/);
        return true;
      });
    });
  });
});

describe('exporting from the stored text, records of every shape', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  before(async () => {
    tmp = tempDir();
    store = await openSqliteStore({ file: path.join(tmp.dir, 'countersign.db') });
    const shapes: Record<string, unknown>[] = [
      { '10': 1, '9': 2, a: { '2': 'x', '01': 'y', b: [{ '4294967295': true, '7': null }] } },
      { text: 'Zürich – 東京 😀 \u2028 \ud800 lone', 'ключ': 'значение', '\u00e9': 1, e: 2, '"quoted"': '\\back' },
      { numbers: [0, -0, 1e21, 1e-7, 0.1, -5.5, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE, 123456789012345680000] },
      { nested: { deep: { deeper: [[[]], {}, [{ z: 1, y: [2, { x: 'w' }] }]] } }, '': 'empty key', list: ['a,b', '"q"', '=1+1'] },
      { '1"': 'key ending in a quote', '12a': 'not an index', '-1': 'not an index either' },
    ];
    for (const [i, data] of shapes.entries()) {
      await store.audit.append([anEvent('request.created', { time: timeAt(i), actor: bob, request: { ...requestRef(`req-${i}`), parameters: i % 2 ? { name: `ü-${i}` } : { '3': 'x', name: `ü-${i}` } }, data })]);
    }
  });
  after(async () => {
    await store.close();
    tmp.remove();
  });

  for (const [format, encoder] of [['jsonl', JSONL_ENCODER], ['csv', CSV_ENCODER], ['ocsf', OCSF_ENCODER]] as const) {
    it(`${format}: the same bytes as from the parsed records`, async () => {
      const a = new PassThrough();
      const fromRecords = await collectText(a, writeRecords(store.audit.read(), encoder, a));
      const b = new PassThrough();
      const fromStored = await collectText(b, writeRecords({ stored: store.audit.readStored() }, encoder, b));
      assert.equal(fromStored, fromRecords);
    });
  }

  it('jsonl: every line is the reference canonical JSON of its record, and the export verifies', async () => {
    const out = new PassThrough();
    const text = await collectText(out, writeRecords({ stored: store.audit.readStored() }, JSONL_ENCODER, out));
    const records = await collect(store.audit.read());
    assert.deepEqual(text.split('\n').slice(0, -1), records.map((r) => canonicalJson(r)));
    assert.equal((await verifyChain(readJsonl(PassThrough.from([text])))).ok, true);
  });
});

/** The summary counts the records and names the SHA-256 and size of exactly the bytes written. */
function assertSummary(summary: ExportSummary | undefined, file: string, records: AuditRecord[]): void {
  const bytes = readFileSync(file);
  assert.deepEqual(summary, {
    count: records.length,
    firstSeq: 1,
    lastSeq: records.length,
    headHash: records[records.length - 1].hash,
    contiguous: true,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
  });
}

async function collectText(out: PassThrough, done: Promise<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await done;
  out.end();
  await finished(out);
  return Buffer.concat(chunks).toString('utf8');
}
