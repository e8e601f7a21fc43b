/**
 * The options of `countersign audit verify`, and the public key they name: --public-key, or the
 * data directory's; and, when a manifest was signed with another key, where the key in use came from.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadPublicKey, PUBLIC_KEY_FILE, readVerifier } from '../audit/access/signing';
import type { AuditVerifier } from '../audit/access/signing';
import type { ExportFormat } from '../audit/ports';
import { resolveDataDir } from './audit-options';
import { notARegularFile } from '../config/bounded-file';
import { AuditInputError } from './audit-io';
import type { AuditCliIo } from './audit-io';

export interface VerifyOptions {
  dataDir?: string;
  file?: string;
  format?: ExportFormat;
  /** A path, or false for --no-manifest. */
  manifest?: string | false;
  publicKey?: string;
  checkpoints?: string[];
  partial?: boolean;
  filtered?: boolean;
  /** Name every request row and version not backed, past NAMED_UNBACKED too. */
  everyFinding?: boolean;
}

/** The data directory holds a public key file, but it cannot be read as one (damaged, cut short, another file). */
export class PublicKeyFileUnusableError extends AuditInputError {}

/** --public-key, else the data directory's public key when there is one. */
export function verifierFor(opts: VerifyOptions, io: AuditCliIo, required: string | undefined): AuditVerifier | undefined {
  if (opts.publicKey) {
    const file = path.resolve(io.cwd, opts.publicKey);
    // A device or a named pipe would be read without end, or wait for a writer.
    const kind = existsSync(file) ? notARegularFile(file) : undefined;
    if (kind) throw new AuditInputError(`the public key ${file} is ${kind}, not a file: pass the audit public key's PEM file (print it with countersign audit public-key)`);
    return readVerifier(file);
  }
  const dataDir = resolveDataDir(opts.dataDir, io.settings, io.cwd);
  try {
    return loadPublicKey(dataDir);
  } catch (err) {
    // A public key file there that cannot be used is not "no key": say which file, and that the signing key can write it again.
    const pubFile = path.join(dataDir, PUBLIC_KEY_FILE);
    if (required && existsSync(pubFile)) {
      throw new PublicKeyFileUnusableError(
        `${required} is checked with the audit public key, and the data directory's public key file ${pubFile} cannot be used (${(err as Error).message}): run countersign audit public-key --data-dir ${dataDir}, which writes it again from the signing key, or pass --public-key <file> (print it with countersign audit public-key)`);
    }
    if (required) throw new AuditInputError(`${required} is checked with the audit public key: pass --public-key <file> (print it with countersign audit public-key)`);
    if (opts.dataDir) throw err;
    return undefined;
  }
}

/**
 * Where the key that did not sign a manifest came from: with neither --public-key nor --data-dir it is
 * whatever ./data (or COUNTERSIGN_DATA_DIR) holds, often another installation's, which reads as
 * damage unless it is said.
 */
export function keyInUse(verifier: AuditVerifier, opts: VerifyOptions, io: AuditCliIo): string {
  const dataDir = resolveDataDir(opts.dataDir, io.settings, io.cwd);
  const implicit = !opts.publicKey && !opts.dataDir ? ' (no --public-key or --data-dir was given, so the key of the default data directory was used)' : '';
  return `The public key in use, ${verifier.keyId}, is ${keySourceOf(opts, dataDir, io)}${implicit}. If the export comes from another installation, check it with that installation's public key: --public-key <file>.`;
}

export function keySourceOf(opts: VerifyOptions, dataDir: string, io: AuditCliIo): string {
  return opts.publicKey ? `from --public-key ${path.resolve(io.cwd, opts.publicKey)}` : `the data directory's, in ${dataDir}`;
}
