/**
 * Where `audit export` may write. Never over the data directory's own files (the database, its
 * write-ahead log, the checkpoint file, the signing keys): an export written there would destroy
 * the very trail it copies, so not even --force allows it, whatever path, link or hard link leads
 * there. Over any other file that exists only with --force.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import { checkpointFileOf } from '../audit/access/checkpoints';
import { INSTANCE_LOCK_FILE } from '../store/sqlite/instance-lock';
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from '../audit/access/signing';
import { databaseFile } from '../settings';
import { AuditInputError } from './audit-io';
import { existsAt } from '../output-file';

/** A file the export is about to write, and how the user named it (for the message). */
export interface ExportTarget {
  file: string;
  /** `--out /x/a.jsonl`, `the manifest /x/a.jsonl.manifest.json`: as the refusal names it. */
  named: string;
  /** How to proceed other than --force: `choose another --out`. */
  instead: string;
}

/** What each of the data directory's own files is, by its name there; undefined for any other name. */
function dataDirectoryFileKind(dataDir: string, name: string): string | undefined {
  const db = path.basename(databaseFile(dataDir));
  const checkpoints = path.basename(checkpointFileOf(dataDir));
  if (name === db) return 'the audit database';
  if (name === `${db}-wal`) return "the audit database's write-ahead log";
  if (name === `${db}-shm`) return "the audit database's shared-memory index";
  if (name === `${db}-journal`) return "the audit database's rollback journal";
  if (name === checkpoints) return 'the signed checkpoint file';
  // Set aside by `audit accept-loss`, kept as evidence.
  if (name.startsWith(`${checkpoints}.lost-`)) return 'a set-aside checkpoint file';
  if (name === PRIVATE_KEY_FILE) return 'the audit signing key';
  if (name === PUBLIC_KEY_FILE) return 'the audit public key';
  if (name === INSTANCE_LOCK_FILE) return "the running bot's instance lock";
  return undefined;
}

/**
 * The path with every link resolved, also where the file (or a link's target) does not exist yet:
 * its directory resolved, and its name joined on.
 */
function resolvedPath(file: string, hops = 0): string {
  try {
    return realpathSync.native(file);
  } catch {
    // Not there, or a link to nowhere: follow the link by hand, else resolve the directory.
  }
  let link: string | undefined;
  try {
    link = lstatSync(file).isSymbolicLink() ? readlinkSync(file) : undefined;
  } catch {
    link = undefined;
  }
  if (link !== undefined && hops < 40) return resolvedPath(path.resolve(path.dirname(file), link), hops + 1);
  const dir = path.dirname(file);
  return dir === file ? file : path.join(resolvedPath(dir, hops), path.basename(file));
}

function statOf(file: string): BigIntStats | undefined {
  try {
    return statSync(file, { bigint: true });
  } catch {
    return undefined;
  }
}

/** Which of the data directory's own files this path reaches (by name, link or hard link), if any. */
function dataDirectoryFileAt(file: string, dataDir: string): { kind: string; real: string } | undefined {
  const realDir = resolvedPath(dataDir);
  const real = resolvedPath(file);
  const byName = path.dirname(real) === realDir ? dataDirectoryFileKind(realDir, path.basename(real)) : undefined;
  if (byName) return { kind: byName, real };
  const target = statOf(file);
  if (!target?.isFile()) return undefined;
  let names: string[];
  try {
    names = readdirSync(realDir);
  } catch {
    return undefined;
  }
  for (const name of names) {
    const kind = dataDirectoryFileKind(realDir, name);
    const own = kind ? statOf(path.join(realDir, name)) : undefined;
    if (kind && own && own.dev === target.dev && own.ino === target.ino) return { kind, real: path.join(realDir, name) };
  }
  return undefined;
}

function specialKind(s: BigIntStats): string {
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isFIFO()) return 'a named pipe (FIFO)';
  if (s.isSocket()) return 'a socket';
  return 'something other than a file';
}

/**
 * Refuses, before anything is read or recorded: a target that is one of the data directory's own
 * files (always), a directory, two targets that are one file, and a file that exists (unless force).
 */
export function checkExportTargets(targets: readonly ExportTarget[], dataDir: string, force: boolean): void {
  const seen = new Map<string, ExportTarget>();
  for (const t of targets) {
    // The path the export replaces: links before its name are followed, one at its name is replaced.
    const replaced = path.join(resolvedPath(path.dirname(t.file)), path.basename(t.file));
    const own = dataDirectoryFileAt(t.file, dataDir);
    if (own) {
      // Through a link or a hard link: the file it reaches is named too.
      const via = path.basename(own.real) === path.basename(replaced) ? '' : ` (${own.real})`;
      throw new AuditInputError(
        `${t.named} is ${own.kind} of the data directory ${dataDir}${via}: an export never writes over the data directory's own files, not even with --force; ${t.instead}`,
      );
    }
    const stat = statOf(t.file);
    if (stat?.isDirectory()) throw new AuditInputError(`${t.named} is a directory, not a file: ${t.instead}`);
    // A device, a FIFO or a socket would be replaced by a regular file holding the records (renamed
    // over it, world-readable): never, not even with --force.
    if (stat && !stat.isFile()) throw new AuditInputError(`${t.named} is ${specialKind(stat)}, not a regular file: an export is written to a file of its own and would replace it, not even with --force; ${t.instead}`);
    const other = seen.get(replaced);
    if (other) throw new AuditInputError(`${t.named} is the same file as ${other.named}: ${t.instead}`);
    seen.set(replaced, t);
    if (!force && existsAt(t.file)) throw new AuditInputError(`${t.named} already exists: pass --force to replace it, or ${t.instead}`);
  }
}
