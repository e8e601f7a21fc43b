/**
 * Fuzzing the three exporters: records sealed from drafts full of arbitrary text (quotes, commas,
 * line breaks, spreadsheet formula starters, unicode, keys like __proto__) are exported as JSON Lines,
 * CSV and OCSF, read back, and must come back identical, in a chain that verifies; the JSON exports
 * are one well-formed JSON object per line.
 */
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import type { ChainHead } from '../../src/domain/audit';
import { sealRecord } from '../../src/audit/chain/chain';
import { readCsv } from '../../src/audit/formats/csv-reader';
import { writeCsv } from '../../src/audit/formats/csv-writer';
import { readJsonl, writeJsonl } from '../../src/audit/formats/jsonl';
import { readOcsf, writeOcsf } from '../../src/audit/formats/ocsf';
import { verifyChain } from '../../src/audit/verify/verify';
import type { AuditEventDraft, AuditEventType, AuditRecord } from '../../src/domain/audit';

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('=HYPERLINK("http://x","y")', '+1', '-1', '@SUM(A1)', '\t=1', '"', '""', ',', 'a,b\r\nc', '\\n', '\u2028', '\u0000', '\ufeff', '\ud800', 'a\udc00b', '😀', 'é', 'e\u0301', '{"seq":1}', '</script>'),
);
const TYPES: AuditEventType[] = ['request.created', 'approval.granted', 'request.rejected', 'click.refused', 'execution.failed', 'auth.refused', 'audit.exported', 'config.loaded'];
const jsonLeaf = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }));
const data = fc.dictionary(fc.oneof(text, fc.constantFrom('__proto__', 'constructor', '1', '01', 'seq', 'hash')), fc.oneof(jsonLeaf, fc.array(jsonLeaf, { maxLength: 3 }), fc.dictionary(text, jsonLeaf, { maxKeys: 3 })), { maxKeys: 4 });

const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
const draft = fc.record(
  {
    type: fc.constantFrom(...TYPES),
    time: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
    actor: fc.record({ aadObjectId: fc.uuid(), tenantId: fc.uuid(), name: text }),
    request: fc.record({ id: text, command: text, parameters: fc.dictionary(text, text, { maxKeys: 3 }), operationHash: hex64, reason: text, policyVersion: hex64 }),
    target: fc.record({ subscriptionId: fc.uuid(), resourceGroup: text, resourceId: text }, { requiredKeys: ['subscriptionId'] }),
    outcome: fc.record({ result: fc.constantFrom('ok' as const, 'refused' as const, 'error' as const, 'unknown' as const), reason: text, detail: text }, { requiredKeys: ['result'] }),
    data,
  },
  { requiredKeys: ['type', 'time', 'outcome'] },
) as fc.Arbitrary<AuditEventDraft>;

function chainOf(drafts: AuditEventDraft[]): AuditRecord[] {
  let head: ChainHead | undefined;
  return drafts.map((d, i) => {
    const { record } = sealRecord(d, head, `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`);
    head = { seq: record.seq, hash: record.hash };
    // What a reader gets back is the parsed stored text, not the in-memory object.
    return JSON.parse(JSON.stringify(record)) as AuditRecord;
  });
}

async function exported(write: (records: AsyncIterable<AuditRecord>, out: PassThrough) => Promise<unknown>, records: AuditRecord[]): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await write(Readable.from(records), out);
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

async function collect(records: AsyncIterable<AuditRecord>): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}

const FORMATS = [
  { name: 'JSON Lines', write: writeJsonl, read: readJsonl, jsonLines: true },
  { name: 'CSV', write: writeCsv, read: readCsv, jsonLines: false },
  { name: 'OCSF', write: writeOcsf, read: readOcsf, jsonLines: true },
] as const;

describe('the exporters under fuzzing', function () {
  this.timeout(60000);

  it('seals a lone surrogate (half a UTF-16 pair, which UTF-8 cannot carry) as U+FFFD, so CSV reads back the same record', async () => {
    const records = chainOf([{ type: 'request.created', time: '2026-12-04T09:00:00.000Z', outcome: { result: 'ok', detail: 'a\udc00b' } }]);
    assert.equal(records[0].outcome.detail, 'a\ufffdb');
    assert.deepEqual(await collect(readCsv(Readable.from([await exported(writeCsv, records)]))), records);
  });

  for (const format of FORMATS) {
    it(`round-trips arbitrary record text through ${format.name}, into a chain that verifies`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(draft, { minLength: 1, maxLength: 6 }), async (drafts) => {
          const records = chainOf(drafts);
          const file = await exported(format.write, records);
          if (format.jsonLines) {
            const lines = file.split('\n');
            assert.equal(lines.pop(), '', 'ends with a line break');
            assert.equal(lines.length, records.length, 'one line per record');
            for (const line of lines) assert.equal(typeof JSON.parse(line), 'object');
          }
          const back = await collect(format.read(Readable.from([file])));
          assert.deepEqual(back, records);
          const verified = await verifyChain(Readable.from(back) as AsyncIterable<AuditRecord>);
          assert.equal(verified.ok, true, JSON.stringify(verified));
        }),
        { numRuns: 150 },
      );
    });
  }
});
