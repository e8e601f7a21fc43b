/**
 * What a command killed between its audit record and the move into place left: the complete output
 * named after its record (`<out>.partial-<pid>.<export id>`, see `writeFileAtomically`'s
 * `recordedAs`). One whose export id is recorded happened, so it is kept, as
 * `<out>.recorded-<export id>`; one this database has no record of (another data directory's, or
 * one killed in the moment before its record) is left where it is, and said.
 */
import { renameSync } from 'node:fs';
import type { AuditCliIo } from './audit-io';
import { writeTextAtomically } from './atomic-output';
import type { CliStore } from './audit-database';
import { abandonedRecordedOutputs } from '../output-file';

/**
 * `export`: a file, given the signed manifest its audit.exported record holds beside it
 * (`….manifest.json`, which it had not been given yet); `evidence`: a folder, which holds its own.
 */
export async function keepRecordedLeftovers(store: CliStore, target: string, io: AuditCliIo, what: 'export' | 'evidence'): Promise<void> {
  const earlier = what === 'export' ? 'an earlier export' : 'an earlier evidence run';
  for (const left of abandonedRecordedOutputs(target)) {
    const manifest = await store.auditAccess.getExportManifest(left.tag);
    if (!manifest) {
      // Not recorded here: in another database (another --data-dir), or stopped just before its
      // record. Complete either way, so it is not removed on this database's word.
      io.stderr.write(
        `Left ${left.file} as it is: it is a complete ${what === 'export' ? 'export' : 'evidence bundle'} naming ${left.tag}, which this database has no record of (one of another data directory, or one stopped just before it was recorded); remove it yourself once you know which.\n`,
      );
      continue;
    }
    const kept = `${target}.recorded-${left.tag}`;
    if (what === 'export') writeTextAtomically(`${kept}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`, true);
    renameSync(left.file, kept);
    const signed = what === 'export' ? `; its signed manifest (from its audit.exported record) is ${kept}.manifest.json` : '';
    io.stderr.write(`Kept ${kept}: ${earlier}, recorded as ${left.tag}, was stopped before it was moved to ${target}${signed}.\n`);
  }
}
