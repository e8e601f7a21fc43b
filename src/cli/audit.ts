/**
 * `countersign audit ...`: what compliance staff run against the database or an export file:
 * verify, export, evidence, checkpoint, public-key. Each command lives in its own file.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { exportRecords } from './audit-export';
import type { ExportOptions } from './audit-export';
import { writeEvidence } from './audit-evidence';
import type { EvidenceOptions } from './audit-evidence';
import { AuditInputError, processIo } from './audit-io';
import { reportingInputErrors } from './failure-report';
import type { AuditCliIo } from './audit-io';
import { acceptLoss } from './audit-accept-loss';
import { printPublicKey, writeCheckpoint } from './audit-keys';
import { EXPORT_FORMATS, parseInstant } from './audit-options';
import { verify } from './audit-verify';
import type { VerifyOptions } from './audit-verify-options';

export type { AuditCliIo } from './audit-io';

const DATA_DIR_HELP = 'data directory holding countersign.db (default: $COUNTERSIGN_DATA_DIR or ./data)';
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The options of `audit verify` that only an export file's check reads (`--file`). */
const EXPORT_ONLY = ['--manifest', '--no-manifest', '--format', '--partial', '--filtered'];

/**
 * An option of `audit verify` given where it is not read, or undefined: a check asked for and not
 * made must not end in a report of intact. `--checkpoints` is read only against the database (an
 * export's own checkpoint records are what --file checks); the export's options only with --file
 * (without it the database would be verified in place of the export meant).
 */
function unusedVerifyOption(given: readonly string[]): string | undefined {
  const has = (option: string) => given.some((a) => a === option || a.startsWith(`${option}=`));
  if (has('--file')) {
    return has('--checkpoints')
      ? '--checkpoints is not read with --file: an export is checked against the checkpoints it carries (its audit.checkpoint records) and its signed manifest. Leave --checkpoints out, or verify the database (without --file) against that checkpoint file'
      : undefined;
  }
  const option = EXPORT_ONLY.find(has);
  return option ? `${option} applies to an export file, given with --file <export>: without --file the database is verified, and nothing else. Give the export with --file, or leave ${option} out` : undefined;
}

export function registerAuditCommands(program: Command, io: AuditCliIo = processIo()): Command {
  const audit = program.command('audit').description('Verify and export the tamper-evident audit trail');

  audit
    .command('verify')
    .description('Check the database (hash chain and signed checkpoints), an export file against its signed manifest, or an evidence bundle folder; exit 2 when damaged')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--file <export>', 'verify an export file (.jsonl, .csv or .ocsf.jsonl), or an evidence bundle folder, instead of the database')
    .addOption(formatOption('the export file\'s format (default: from the manifest or the file name)'))
    .option('--manifest <file>', 'the export\'s signed manifest (default: <export>.manifest.json; with none there the check is refused, unless --no-manifest)')
    .option('--no-manifest', 'check only the records of the export file, even if a manifest lies beside it')
    .option('--public-key <pem>', 'the audit public key (default: the one in the data directory)')
    .option('--checkpoints <file>', 'also check against this checkpoint file (e.g. a copy shipped elsewhere); repeatable', collect)
    .option('--partial', 'without a manifest: the file is a window of the chain (exported with --from), not from record 1')
    .option('--filtered', 'without a manifest: the file is a selection (exported with --request, --type or --actor): gaps between its records are expected')
    .option('--every-finding', 'name every request row and saved version its audit records do not back, however many (default: the first 1000, the rest counted by field)')
    .action(async (opts: VerifyOptions, cmd: Command) => {
      await reportingInputErrors(io, () => {
        // Both set one option (the last given wins): asked for together, they contradict each other.
        // (commander keeps the words it parsed on the program as rawArgs, untyped.)
        const given = (cmd.parent?.parent as { rawArgs?: string[] } | null | undefined)?.rawArgs ?? [];
        if (given.includes('--no-manifest') && given.some((a) => a === '--manifest' || a.startsWith('--manifest='))) {
          throw new AuditInputError('--manifest <file> and --no-manifest contradict each other: give the manifest to check the export against, or --no-manifest to check its records alone');
        }
        const unused = unusedVerifyOption(given);
        if (unused) throw new AuditInputError(unused);
        return verify(opts, io);
      }, { readsOnly: true });
    });

  audit
    .command('export')
    .description('Export audit records in seq order as JSON Lines, CSV or OCSF, with a signed manifest; the export is itself audited')
    .addOption(formatOption('required: jsonl (canonical), csv or ocsf').makeOptionMandatory())
    .option('--from <iso>', 'only records at or after this time (ISO-8601; UTC if no zone)', parseInstant)
    .option('--to <iso>', 'only records before this time (ISO-8601; UTC if no zone)', parseInstant)
    .option('--request <id>', 'only the records of this request')
    .option('--actor <object-id>', "only records of this person's actions (Entra object id)")
    .option('--type <type>', 'only records of this event type (repeatable, or comma-separated)', collect)
    .option('--out <file>', 'write to this file (default: standard output); the manifest goes to <file>.manifest.json')
    .option('--manifest <file>', 'write the signed manifest here')
    .option('--force', "replace the --out or manifest file if it exists (never one of the data directory's own files)")
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (opts: ExportOptions, cmd: Command) => {
      if (opts.from && opts.to && opts.from >= opts.to) {
        cmd.error(`error: --from (${opts.from}) must be before --to (${opts.to})`, { code: 'countersign.audit.range' });
      }
      await reportingInputErrors(io, () => exportRecords(opts, io));
    });

  audit
    .command('evidence')
    .description('Write the evidence bundle of one request: its audit records, the card at each step, the what-if, ARM ids and the verification result')
    .argument('<request-id>', 'the request, e.g. CS-7K3M9QXW')
    .option('--out <dir>', 'the folder to create (default: ./evidence-<request-id>)')
    .option('--public-key <pem>', 'check checkpoints with this public key (default: the data directory\'s)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (requestId: string, opts: EvidenceOptions) => {
      await reportingInputErrors(io, () => writeEvidence(requestId, opts, io));
    });

  audit
    .command('checkpoint')
    .description('Sign the audit chain head now (table, checkpoint file and audit log); the bot also does this regularly')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (opts: { dataDir?: string }) => {
      await reportingInputErrors(io, () => writeCheckpoint(opts, io));
    });

  audit
    .command('accept-loss')
    .description('After start-up refused an emptied, replaced or shortened audit database: record (audited) that the loss is accepted, so Countersign starts on what is left')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .requiredOption('--reason <text>', 'required: why the loss is accepted (recorded in the audit log)')
    .option('--key-lost', 'the key that signed the checkpoints is lost for good (asked for when that is all that is wrong: more often the data directory is the wrong one)')
    .action(async (opts: { dataDir?: string; reason?: string; keyLost?: boolean }) => {
      await reportingInputErrors(io, () => acceptLoss(opts, io));
    });

  audit
    .command('public-key')
    .description('Print the audit public key (PEM) that checks manifests, checkpoints and evidence bundles offline')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (opts: { dataDir?: string }) => {
      await reportingInputErrors(io, () => printPublicKey(opts, io));
    });

  return audit;
}

/** --format, read whatever the case of its letters (CSV is csv), as Teams and the audit API read it. */
function formatOption(description: string): Option {
  return new Option('--format <format>', description).choices(EXPORT_FORMATS).argParser((value: string) => {
    const format = value.toLowerCase();
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new InvalidArgumentError(`Allowed choices are ${EXPORT_FORMATS.join(', ')}.`);
    return format;
  });
}
