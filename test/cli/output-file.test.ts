/**
 * How an export's file is put in place: written under a temporary name, moved to its name in one
 * step, and never over a file that appeared at that name while it was written (unless --force).
 * What a killed export left behind is removed by the next export to the same name.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { AuditInputError } from '../../src/cli/audit-io';
import { writeFileAtomically, writeTextAtomically } from '../../src/cli/atomic-output';
import { abandonedRecordedOutputs, partialNameOf, removeAbandonedPartials } from '../../src/output-file';
import { tempDir } from '../store/fixtures';

describe('putting an output file in place', () => {
  let tmp: ReturnType<typeof tempDir>;
  let out: string;
  beforeEach(() => {
    tmp = tempDir();
    out = path.join(tmp.dir, 'audit.jsonl');
  });
  afterEach(() => tmp.remove());

  const writing = (text: string, meanwhile?: () => void) => async (stream: Writable) => {
    stream.write(text);
    meanwhile?.();
    return text.length;
  };

  it('moves the written file to its name and leaves nothing else', async () => {
    const recorded: number[] = [];
    assert.equal(await writeFileAtomically(out, writing('records\n'), async (n) => void recorded.push(n)), 8);
    assert.equal(readFileSync(out, 'utf8'), 'records\n');
    assert.deepEqual(recorded, [8]);
    assert.deepEqual(readdirSync(tmp.dir), ['audit.jsonl']);
  });

  it('does not replace a file that appeared at its name while it was written: nothing recorded, nothing left', async () => {
    let recorded = false;
    const run = writeFileAtomically(out, writing('records\n', () => writeFileSync(out, "the auditor's notes\n")), async () => void (recorded = true));
    await assert.rejects(run, (err: Error) => err instanceof AuditInputError && err.message === `${out} appeared while the export was written: nothing was exported or recorded; pass --force to replace it, or choose another --out`);
    assert.equal(recorded, false);
    assert.equal(readFileSync(out, 'utf8'), "the auditor's notes\n");
    assert.deepEqual(readdirSync(tmp.dir), ['audit.jsonl']);
  });

  it('keeps a recorded export under its temporary name when the file appeared just after it was recorded, and says where', async () => {
    const run = writeFileAtomically(out, writing('records\n'), async () => writeFileSync(out, "the auditor's notes\n"));
    const kept = partialNameOf(out);
    await assert.rejects(run, (err: Error) => err instanceof AuditInputError && err.message === `${out} appeared while the export was written and was not replaced; the export is recorded and kept as ${kept}`);
    assert.equal(readFileSync(out, 'utf8'), "the auditor's notes\n");
    assert.equal(readFileSync(kept, 'utf8'), 'records\n');
  });

  it('names the complete file after its record before recording it, so that a kill after the record leaves it findable', async () => {
    const tag = '019a0000-0000-7000-8000-0000000000ab';
    let seen: string[] = [];
    await writeFileAtomically(
      out,
      writing('records\n'),
      async () => {
        seen = readdirSync(tmp.dir);
        assert.equal(readFileSync(`${partialNameOf(out)}.${tag}`, 'utf8'), 'records\n', 'complete when the record is made');
      },
      false,
      () => tag,
    );
    assert.deepEqual(seen, [`audit.jsonl.partial-${process.pid}.${tag}`]);
    assert.deepEqual(readdirSync(tmp.dir), ['audit.jsonl']);
    // One a process now gone left that way is found, not removed as unfinished.
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(`${out}.partial-${gone}.${tag}`, 'records\n');
    assert.deepEqual(removeAbandonedPartials(out), []);
    assert.deepEqual(abandonedRecordedOutputs(out), [{ file: `${out}.partial-${gone}.${tag}`, tag }]);
  });

  it('removes the renamed file when the record fails', async () => {
    const run = writeFileAtomically(out, writing('records\n'), async () => Promise.reject(new Error('database is locked')), false, () => '019a0000-0000-7000-8000-0000000000ab');
    await assert.rejects(run, /database is locked/);
    assert.deepEqual(readdirSync(tmp.dir), []);
  });

  it('replaces it when told to (--force)', async () => {
    await writeFileAtomically(out, writing('records\n', () => writeFileSync(out, 'old\n')), async () => undefined, true);
    assert.equal(readFileSync(out, 'utf8'), 'records\n');
    assert.deepEqual(readdirSync(tmp.dir), ['audit.jsonl']);
  });

  it('writes a manifest over nothing unless told to, and leaves no temporary file either way', () => {
    const manifest = `${out}.manifest.json`;
    writeTextAtomically(manifest, '{"a":1}\n');
    assert.throws(() => writeTextAtomically(manifest, '{"b":2}\n'), new Error(`${manifest} appeared meanwhile and was not replaced (pass --force to replace it)`));
    assert.equal(readFileSync(manifest, 'utf8'), '{"a":1}\n');
    writeTextAtomically(manifest, '{"c":3}\n', true);
    assert.equal(readFileSync(manifest, 'utf8'), '{"c":3}\n');
    assert.deepEqual(readdirSync(tmp.dir), ['audit.jsonl.manifest.json']);
  });

  it('removes what an export killed while writing left (its process gone), not what a running one is writing', () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(`${out}.partial-${gone}`, 'half an export');
    // A backup's copy is a SQLite database: killed mid-copy, its journal is left beside it.
    writeFileSync(`${out}.partial-${gone}-journal`, 'a journal');
    writeFileSync(`${out}.partial-${process.ppid}`, 'an export under way');
    writeFileSync(`${out}.partial-${process.ppid}-journal`, 'the journal of a backup under way');
    writeFileSync(`${out}.partial-notes`, 'not a partial export');
    writeFileSync(path.join(tmp.dir, `other.jsonl.partial-${gone}`), 'another name');
    assert.deepEqual(removeAbandonedPartials(out).sort(), [`${out}.partial-${gone}`, `${out}.partial-${gone}-journal`]);
    assert.ok(!existsSync(`${out}.partial-${gone}`));
    assert.deepEqual(readdirSync(tmp.dir).sort(), [
      `audit.jsonl.partial-${process.ppid}`,
      `audit.jsonl.partial-${process.ppid}-journal`,
      'audit.jsonl.partial-notes',
      `other.jsonl.partial-${gone}`,
    ]);
  });
});
