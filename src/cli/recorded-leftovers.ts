/**
 * What a command killed between its audit record and the move into place left: the complete output
 * named after its record (`<out>.partial-<pid>.<export id>`, see `writeFileAtomically`'s
 * `recordedAs`). One whose export id is recorded happened, so it is kept, as
 * `<out>.recorded-<export id>`; one never recorded (killed in the moment before its record) is
 * removed, as an unfinished output is.
 */
import { renameSync, rmSync } from 'node:fs';
import type { AuditCliIo } from './audit-io';
import { writeTextAtomically } from './audit-io';
import type { CliStore } from './audit-database';
import { abandonedRecordedOutputs } from './output-file';

/**
 * `export`: a file, given the signed manifest its audit.exported record holds beside it
 * (`….manifest.json`, which it had not been given yet); `evidence`: a folder, which holds its own.
 */
export async function keepRecordedLeftovers(store: CliStore, target: string, io: AuditCliIo, what: 'export' | 'evidence'): Promise<void> {
  const earlier = what === 'export' ? 'an earlier export' : 'an earlier evidence run';
  for (const left of abandonedRecordedOutputs(target)) {
    const manifest = await store.compliance.getExportManifest(left.tag);
    if (!manifest) {
      rmSync(left.file, { recursive: true, force: true });
      io.stderr.write(`Removed ${left.file}, left by ${earlier} that was never recorded.\n`);
      continue;
    }
    const kept = `${target}.recorded-${left.tag}`;
    if (what === 'export') writeTextAtomically(`${kept}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`, true);
    renameSync(left.file, kept);
    const signed = what === 'export' ? `; its signed manifest (from its audit.exported record) is ${kept}.manifest.json` : '';
    io.stderr.write(`Kept ${kept}: ${earlier}, recorded as ${left.tag}, was stopped before it was moved to ${target}${signed}.\n`);
  }
}
