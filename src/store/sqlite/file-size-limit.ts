/**
 * A process may not grow a file past its file size limit (RLIMIT_FSIZE: `ulimit -f`, systemd's
 * LimitFSIZE): its writes there fail with EFBIG, which SQLite reports as a disk I/O error, while the
 * file system has room. Linux tells the limit in /proc/self/limits (shared by the writer thread);
 * elsewhere it is not looked at.
 */
import fs from 'node:fs';

/** The largest of the database and its -wal, when it lies within `marginBytes` of the limit: what to say. */
export function fileSizeLimitReached(file: string, marginBytes: number): string | undefined {
  const limit = fileSizeLimit();
  if (limit === undefined) return undefined;
  const [name, size] = [file, `${file}-wal`].map((f): [string, number] => [f, fileSize(f)]).reduce((a, b) => (b[1] > a[1] ? b : a));
  if (limit - size >= marginBytes) return undefined;
  return `this process may not grow a file past ${limit} bytes (its file size limit, ulimit -f or LimitFSIZE), and ${name} is ${size} bytes: writes that grow it fail (EFBIG)`;
}

/** This process's soft file size limit in bytes, or undefined when unlimited or not told. */
function fileSizeLimit(): number | undefined {
  let limits: string;
  try {
    limits = fs.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max file size\s+(\S+)/m.exec(limits)?.[1];
  return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : undefined;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
