/**
 * A file system that became read-only under a running store: mounted or remounted so, or made so by
 * the kernel after a disk error (ext4's errors=remount-ro). SQLite says only "disk I/O error"
 * (better-sqlite3 gives no errno), and the write lock can still be taken. access(2) says EROFS for a
 * file system mounted read-only (whoever asks, root too); ext4's read-only after an error is, on
 * recent Linux kernels, only in its mount options ("emergency_ro" in /proc/self/mountinfo), access(2)
 * still saying writable. Both are looked at (mountinfo on Linux only).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ReadOnlyLooks {
  access(target: string, mode: number): void;
  /** /proc/self/mountinfo's text, or undefined where there is none. */
  mountinfo(): string | undefined;
  realpath(target: string): string;
}

const SYSTEM: ReadOnlyLooks = {
  access: fs.accessSync,
  mountinfo: () => {
    try {
      return fs.readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      return undefined;
    }
  },
  realpath: (target) => fs.realpathSync(target),
};

/**
 * When the file system holding the database is read-only: what that stops and what to do, in words.
 * A file whose mode no longer lets this user write it does not count: SQLite still writes it through
 * the descriptors it holds (a start would say so, connection.ts).
 */
export function readOnlyFileSystem(file: string, looks: ReadOnlyLooks = SYSTEM): string | undefined {
  const dir = path.dirname(path.resolve(file));
  const how = readOnlyHow(dir, looks);
  if (!how) return undefined;
  return (
    `the file system holding ${dir} is read-only (${how}), so no write to the database can succeed: it was mounted read-only, ` +
    `or the kernel made it so after a disk error (its log, dmesg, says which). Make it writable again (mount -o remount,rw; ` +
    'after a disk error, stop Countersign, check the file system with fsck and mount it again): Countersign is ready once a write commits'
  );
}

/**
 * Which storage fault a storage error of SQLite's is (store.ts storageFault): `read-only-file-system`
 * while the file system holding the database is read-only (SQLite's "disk I/O error" does not say so),
 * so that people are not told the disk is full or failing; else `disk`.
 */
export function diskFault(file: string, looks: ReadOnlyLooks = SYSTEM): 'disk' | 'read-only-file-system' {
  return readOnlyHow(path.dirname(path.resolve(file)), looks) ? 'read-only-file-system' : 'disk';
}

function readOnlyHow(dir: string, looks: ReadOnlyLooks): string | undefined {
  try {
    looks.access(dir, fs.constants.W_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EROFS') return 'EROFS';
  }
  const text = looks.mountinfo();
  if (text === undefined) return undefined;
  let real: string;
  try {
    real = looks.realpath(dir);
  } catch {
    return undefined;
  }
  const mount = mountHolding(text, real);
  if (!mount) return undefined;
  if (mount.options.includes('ro')) return `mounted ro at ${mount.point}`;
  if (mount.superOptions.includes('ro')) return `ro at ${mount.point}`;
  if (mount.superOptions.includes('emergency_ro')) return `emergency_ro at ${mount.point}, after an error`;
  return undefined;
}

/** The mount (the last of the longest mount point) holding `dir`, from mountinfo's lines (proc(5)). */
function mountHolding(text: string, dir: string): { point: string; options: string[]; superOptions: string[] } | undefined {
  let best: { point: string; options: string[]; superOptions: string[] } | undefined;
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    if (after === undefined) continue;
    const fields = before.split(' ');
    if (fields.length < 6) continue;
    // Spaces, tabs, newlines and backslashes in a mount point are written as octal escapes.
    const point = fields[4].replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    const holds = point === '/' || dir === point || dir.startsWith(`${point}/`);
    if (!holds || (best && point.length < best.point.length)) continue;
    best = { point, options: fields[5].split(','), superOptions: (after.split(' ')[2] ?? '').split(',') };
  }
  return best;
}
