/**
 * Every kind of tampering with an export file, in every format, is caught and named: with the
 * signed manifest, even what the records alone cannot show (a cut-off end, a record missing from a
 * filtered export, bytes changed around intact records).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { AuditFilter } from '../../src/domain/audit';
import { exportAudit } from '../../src/audit/access/export';
import { MAX_EXPORT_LINE_CHARS } from '../../src/audit/formats/jsonl';
import type { ExportManifest } from '../../src/audit/access/manifest';
import type { ExportFormat } from '../../src/audit/ports';
import { loadOrCreateSigningKey } from '../../src/audit/access/signing';
import type { AuditSigner } from '../../src/audit/access/signing';
import { WrongFormatError, verifyExportFile } from '../../src/audit/verify/verify-export';
import type { ExportVerification } from '../../src/audit/verify/verify-export';
import { openSqliteStore } from '../../src/store/sqlite';
import type { SqliteStore } from '../../src/store/sqlite';
import { alice, anEvent, bob, requestRef, tempDir, timeAt } from '../store/fixtures';

const FORMATS: ExportFormat[] = ['jsonl', 'csv', 'ocsf'];

describe('verifying an export against its signed manifest', function () {
  let tmp: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  let signer: AuditSigner;

  before(async () => {
    tmp = tempDir();
    store = await openSqliteStore({ file: path.join(tmp.dir, 'countersign.db') });
    signer = loadOrCreateSigningKey(tmp.dir);
    for (let i = 0; i < 30; i++) {
      await store.audit.append([
        anEvent(i % 3 ? 'approval.granted' : 'request.created', {
          time: timeAt(i),
          actor: i % 2 ? bob : alice,
          request: { ...requestRef(`req-${i % 4}`), reason: i % 5 ? `release ${i}` : '=cmd|" /C calc"!A0' },
        }),
      ]);
    }
  });
  after(async () => {
    await store.close();
    tmp.remove();
  });

  let n = 0;
  async function exported(format: ExportFormat, filter: AuditFilter = {}): Promise<{ file: string; manifest: ExportManifest; lines: string[]; eol: string }> {
    const file = path.join(tmp.dir, `export-${++n}.${format}`);
    const out = fs.createWriteStream(file);
    const { manifest } = await exportAudit(store.audit.read(filter), out, { format, filter, exportId: `exp-${n}`, exportedAt: timeAt(100), exportedBy: 'test' }, signer);
    out.end();
    await finished(out);
    const eol = format === 'csv' ? '\r\n' : '\n';
    return { file, manifest, lines: fs.readFileSync(file, 'utf8').split(eol), eol };
  }

  /** Index in `lines` of the line holding the record at position i (CSV has a header). */
  const at = (format: ExportFormat, i: number) => (format === 'csv' ? i + 1 : i);

  function rewrite(e: { file: string; eol: string }, lines: string[]): void {
    fs.writeFileSync(e.file, lines.join(e.eol));
  }

  const check = (e: { file: string; manifest: ExportManifest }, format: ExportFormat, manifest = e.manifest) =>
    verifyExportFile(e.file, { format, manifest, verifier: signer });

  function expectProblem(v: ExportVerification, kind: string, message: RegExp): void {
    assert.equal(v.ok, false, 'the tampering went unnoticed');
    assert.equal(v.problems[0]?.kind, kind, JSON.stringify(v.problems));
    assert.match(v.problems[0].message, message);
  }

  for (const format of FORMATS) {
    describe(`${format}, the whole log`, () => {
      it('accepts the untouched export, whose bytes are the ones signed', async () => {
        const e = await exported(format);
        const v = await check(e, format);
        assert.deepEqual(v.problems, []);
        assert.equal(v.ok, true);
        assert.equal(v.chain.count, 30);
        assert.equal(v.sha256, e.manifest.sha256);
        assert.equal(e.manifest.contiguous, true);
      });

      it('names an edited record', async () => {
        const e = await exported(format);
        const lines = [...e.lines];
        lines[at(format, 6)] = lines[at(format, 6)].replace('release 6', 'release 7');
        rewrite(e, lines);
        const v = await check(e, format);
        expectProblem(v, 'edited', format === 'ocsf' ? /do not match the record in its raw_data|altered/ : /record 7 .* was altered after it was written/);
        assert.equal(v.chain.problem?.seq, 7);
      });

      it('names a deleted record', async () => {
        const e = await exported(format);
        const lines = [...e.lines];
        lines.splice(at(format, 10), 1);
        rewrite(e, lines);
        expectProblem(await check(e, format), 'deleted', /record 11 is missing \(deleted\)/);
      });

      it('names reordered records', async () => {
        const e = await exported(format);
        const lines = [...e.lines];
        [lines[at(format, 4)], lines[at(format, 5)]] = [lines[at(format, 5)], lines[at(format, 4)]];
        rewrite(e, lines);
        expectProblem(await check(e, format), 'reordered', /out of order/);
      });

      it('names a duplicated record', async () => {
        const e = await exported(format);
        const lines = [...e.lines];
        lines.splice(at(format, 8), 0, lines[at(format, 8)]);
        rewrite(e, lines);
        expectProblem(await check(e, format), 'duplicated', /record 9 .* appears twice in a row/);
      });

      it('names a cut-off end, which the records alone cannot show', async () => {
        const e = await exported(format);
        rewrite(e, [...e.lines.slice(0, at(format, 27)), '']);
        expectProblem(await check(e, format), 'truncated', /it ends at record 27, but the manifest says it runs to record 30 \(3 record\(s\) missing at the end\)/);
        const alone = await verifyExportFile(e.file, { format });
        assert.equal(alone.ok, true, 'without a manifest, a shorter chain is still a chain');
      });

      it('names an emptied export as cut short, not as records removed from its start', async () => {
        const e = await exported(format);
        fs.writeFileSync(e.file, '');
        expectProblem(await check(e, format), 'truncated', /the export holds no records \(emptied, or cut before its first record\), but the manifest says it holds 30 record\(s\), seq 1 to 30/);
      });

      it('names a change of the bytes around intact records', async () => {
        const e = await exported(format);
        fs.appendFileSync(e.file, e.eol);
        expectProblem(await check(e, format), 'bytes-changed', /the file is not the one exported: its SHA-256 is/);
      });

      it('names a record whose text has a member repeated (what JSON.parse and other readers read differently)', async () => {
        const e = await exported(format);
        const lines = [...e.lines];
        const i = at(format, 8);
        if (format === 'csv') {
          // The parameters cell is JSON: a second "vm" before the real one.
          assert.ok(lines[i].includes('"{""vm"":'), `no parameters cell in ${lines[i]}`);
          lines[i] = lines[i].replace('"{""vm"":', '"{""vm"":""db-01"",""vm"":');
        } else if (format === 'ocsf') {
          const event = JSON.parse(lines[i]) as { raw_data: string };
          event.raw_data = `{"actor":{"name":"Mallory"},${event.raw_data.slice(1)}`;
          lines[i] = JSON.stringify(event);
        } else {
          lines[i] = `{"actor":{"name":"Mallory"},${lines[i].slice(1)}`;
        }
        rewrite(e, lines);
        const v = await verifyExportFile(e.file, { format });
        assert.equal(v.ok, false, 'the repeated member went unnoticed');
        assert.equal(v.chain.problem?.kind, 'edited');
        assert.equal(v.chain.problem?.seq, 9);
        assert.match(v.chain.problem!.message, /not the canonical form it was sealed in/);
      });

      if (format === 'csv') {
        // Number() reads "09", "9.0", " 9" or "0x9" as 9: the record hashes the same, but the cell is not what Countersign wrote.
        for (const [column, edit] of [
          ['seq', (line: string) => line.replace(/^9,/, '09,')],
          ['seq', (line: string) => line.replace(/^9,/, '0x9,')],
          ['schema_version', (line: string) => line.replace(/,1,([0-9a-f]{64}),/, ',1.0,$1,')],
        ] as const) {
          it(`names a ${column} cell written as another number's text (${edit('9,x,1,' + 'a'.repeat(64) + ',').split(',')[column === 'seq' ? 0 : 2]})`, async () => {
            const e = await exported(format);
            const lines = [...e.lines];
            const i = at(format, 8);
            const edited = edit(lines[i]);
            assert.notEqual(edited, lines[i]);
            lines[i] = edited;
            rewrite(e, lines);
            const v = await verifyExportFile(e.file, { format });
            assert.equal(v.ok, false, 'the number written otherwise went unnoticed');
            assert.equal(v.chain.problem?.kind, 'edited');
            assert.equal(v.chain.problem?.seq, 9);
            assert.match(v.chain.problem!.message, new RegExp(`the ${column} cell of record`));
          });
        }
      }

      it('names an edited manifest', async () => {
        const e = await exported(format);
        rewrite(e, [...e.lines.slice(0, at(format, 27)), '']);
        const forged = { ...e.manifest, records: 27, lastSeq: 27 };
        expectProblem(await check(e, format, forged), 'bad-signature', /the manifest was edited after it was signed/);
      });
    });
  }

  describe('a filtered export (one request)', () => {
    for (const format of FORMATS) {
      it(`${format}: accepts it untouched and names a deleted, reordered, duplicated, edited or cut-off record`, async () => {
        const e = await exported(format, { requestId: 'req-2' });
        assert.equal(e.manifest.contiguous, false);
        assert.equal(e.manifest.records, 7);
        assert.equal((await check(e, format)).ok, true);

        const deleted = [...e.lines];
        deleted.splice(at(format, 3), 1);
        rewrite(e, deleted);
        expectProblem(await check(e, format), 'deleted', /1 record\(s\) were deleted from the export/);

        const reordered = [...e.lines];
        [reordered[at(format, 1)], reordered[at(format, 2)]] = [reordered[at(format, 2)], reordered[at(format, 1)]];
        rewrite(e, reordered);
        expectProblem(await check(e, format), 'reordered', /out of order/);

        const duplicated = [...e.lines];
        duplicated.splice(at(format, 2), 0, duplicated[at(format, 2)]);
        rewrite(e, duplicated);
        expectProblem(await check(e, format), 'duplicated', /appears twice in a row/);

        const edited = [...e.lines];
        edited[at(format, 4)] = edited[at(format, 4)].replace('req-2', 'req-3');
        rewrite(e, edited);
        expectProblem(await check(e, format), 'edited', /./);

        rewrite(e, [...e.lines.slice(0, at(format, 5)), '']);
        expectProblem(await check(e, format), 'truncated', /missing at the end/);
      });
    }
  });

  for (const format of ['jsonl', 'ocsf'] as const) {
    it(`${format}: names a line too long to be a record as edited at its place, with its length and the cap`, async () => {
      const e = await exported(format);
      const lines = [...e.lines];
      lines.splice(5, 0, 'x'.repeat(MAX_EXPORT_LINE_CHARS + 1));
      rewrite(e, lines);
      const v = await check(e, format);
      expectProblem(v, 'edited', /^line 6 of the export is 16,777,217 characters long, more than the 16,777,216 a line may hold \(Countersign's records are far shorter\): it was edited, or is not a Countersign export\.$/);
      assert.equal(v.chain.problem?.seq, 6);
      assert.equal(v.chain.count, 5, 'the records before it were read and are intact');
    });
  }

  it('csv: names a row too long to be a record as edited at its place, the cap, without reading it whole', async () => {
    const e = await exported('csv');
    const lines = [...e.lines];
    // A quoted cell that never ends (the whole rest of the file), past the cap.
    lines.splice(6, lines.length - 6, `1,"${'A'.repeat(MAX_EXPORT_LINE_CHARS + 1)}`);
    rewrite(e, lines);
    const v = await check(e, 'csv');
    expectProblem(v, 'edited', /^line 7 of the CSV export starts a row longer than the 16,777,216 characters a row may hold \(Countersign's records are far shorter\): it was edited, or is not a Countersign export\.$/);
    assert.equal(v.chain.count, 5, 'the records before it were read and are intact');
  });

  it('csv: names a first row past the cap as an edit when the manifest signed the file as CSV, and refuses it as not an export without one', async () => {
    const e = await exported('csv');
    rewrite(e, ['x'.repeat(MAX_EXPORT_LINE_CHARS + 1), ...e.lines.slice(1)]);
    expectProblem(await check(e, 'csv'), 'edited', /^line 1 of the CSV export is not the header Countersign writes \(its first row is longer than the 16,777,216 characters a row may hold \(Countersign's records are far shorter\)\): it was edited\.$/);
    await assert.rejects(verifyExportFile(e.file, { format: 'csv' }), { message: "not a Countersign audit CSV export: its first row is longer than the 16,777,216 characters a row may hold (Countersign's records are far shorter)" });
  });

  it('csv: names a header with a column added, moved or removed, or the header row deleted, as an edit of the signed export (damage, not another kind of file)', async () => {
    for (const header of [(h: string) => `${h},comment`, (h: string) => h.replace('actor_id,actor_name', 'actor_name,actor_id'), (h: string) => h.replace(',actor_tenant', '')]) {
      const e = await exported('csv');
      rewrite(e, [header(e.lines[0]), ...e.lines.slice(1)]);
      const v = await check(e, 'csv');
      expectProblem(v, 'edited', /^line 1 of the CSV export is not the header Countersign writes \(expected the columns seq,id,time,.*, found seq,id,.*\): it was edited\.$/);
      assert.equal(v.chain.count, 0);
    }
    const cut = await exported('csv');
    rewrite(cut, cut.lines.slice(1));
    expectProblem(await check(cut, 'csv'), 'edited', /^line 1 of the CSV export is not the header Countersign writes \(expected the columns seq,id,.*, found 1,/);
  });

  describe('without a manifest, a file plainly of another format than it is checked as', () => {
    for (const format of FORMATS) {
      for (const checkedAs of FORMATS.filter((f) => f !== format)) {
        it(`refuses ${format} checked as ${checkedAs}, naming what it looks like, instead of reporting damage`, async () => {
          const e = await exported(format);
          await assert.rejects(verifyExportFile(e.file, { format: checkedAs }), (err: unknown) => {
            assert.ok(err instanceof WrongFormatError, String(err));
            assert.equal(err.looksLike, format);
            assert.equal(err.checkedAs, checkedAs);
            return true;
          });
        });
      }
    }

    it('names the CSV header and the format checked as', async () => {
      const e = await exported('csv');
      await assert.rejects(verifyExportFile(e.file, { format: 'jsonl' }), { message: 'it looks like a CSV export (its first line is the CSV header), not JSON Lines' });
    });

    it('refuses a first line that is some JSON object (cut off) checked as CSV', async () => {
      const e = await exported('jsonl');
      rewrite(e, [e.lines[0].slice(0, 40), ...e.lines.slice(1)]);
      await assert.rejects(verifyExportFile(e.file, { format: 'csv' }), { message: 'it looks like a JSON Lines or OCSF export (its first line is a JSON object), not CSV' });
    });

    it('still reports damage as damage: a cut-off first record, an edit further in', async () => {
      const jsonl = await exported('jsonl');
      rewrite(jsonl, [jsonl.lines[0].slice(0, 40), ...jsonl.lines.slice(1)]);
      expectProblem(await verifyExportFile(jsonl.file, { format: 'jsonl' }), 'edited', /^line 1 of the export is not valid JSON/);
      expectProblem(await verifyExportFile(jsonl.file, { format: 'ocsf' }), 'edited', /^line 1 of the OCSF export is not an event/);

      const csv = await exported('csv');
      rewrite(csv, [...csv.lines.slice(0, 5), csv.lines[5].replace('req-', 'rex-'), ...csv.lines.slice(6)]);
      expectProblem(await verifyExportFile(csv.file, { format: 'csv' }), 'edited', /./);

      const ocsf = await exported('ocsf');
      rewrite(ocsf, [...ocsf.lines.slice(0, 7), '{"seq":8}', ...ocsf.lines.slice(8)]);
      expectProblem(await verifyExportFile(ocsf.file, { format: 'ocsf' }), 'edited', /line 8 of the OCSF export/);
    });
  });

  describe('CSV without a manifest: a cell not in the form Countersign writes', () => {
    it('names a formula whose guard was taken off as edited (a spreadsheet would run it), though the record hashes the same', async () => {
      const e = await exported('csv');
      const guarded = `"'=cmd|"" /C calc""!A0"`;
      assert.ok(e.lines[at('csv', 5)].includes(guarded), e.lines[at('csv', 5)]);
      const lines = [...e.lines];
      lines[at('csv', 5)] = lines[at('csv', 5)].replace(guarded, `"=cmd|"" /C calc""!A0"`);
      rewrite(e, lines);
      const v = await verifyExportFile(e.file, { format: 'csv' });
      expectProblem(v, 'edited', /^the request_reason cell of record 6 was edited: it starts with "=" without the ' Countersign writes before = \+ - @ ' tab and CR/);
      assert.equal(v.chain.problem?.seq, 6);
    });

    it('names a guard put before a cell that needs none as edited, and reads the untouched export as written', async () => {
      const e = await exported('csv');
      const lines = [...e.lines];
      lines[at('csv', 2)] = lines[at('csv', 2)].replace('release 2', "'release 2");
      rewrite(e, lines);
      expectProblem(await verifyExportFile(e.file, { format: 'csv' }), 'edited', /^the request_reason cell of record 3 was edited: it starts with a ' that Countersign writes only before an empty text or one starting with/);
      const intact = await exported('csv');
      assert.deepEqual((await verifyExportFile(intact.file, { format: 'csv' })).problems, []);
    });
  });

  it('refuses a manifest checked with another key, naming both keys', async () => {
    const e = await exported('jsonl');
    const other = tempDir();
    try {
      const stranger = loadOrCreateSigningKey(other.dir);
      const v = await verifyExportFile(e.file, { format: 'jsonl', manifest: e.manifest, verifier: stranger });
      expectProblem(v, 'bad-signature', new RegExp(`signed with key ${signer.keyId}, but the public key in use is ${stranger.keyId}`));
    } finally {
      other.remove();
    }
  });
});
