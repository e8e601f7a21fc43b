/**
 * Reading a file the config is made of (the config itself, its JSON Web Key Set) with a bound: only
 * a regular file, of at most so many bytes. Read without one, `/dev/zero` grew the process to 9 GB
 * and a named pipe held the start until something wrote to it.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The file is not one to read: what it is instead, or how large, in words (its name is the caller's to give). */
export class FileRefusedError extends Error {
  constructor(
    message: string,
    /** Refused for its size (else for what it is). */
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * What the path leads to when it is not a regular file ("a named pipe", "a character device"), else
 * undefined; a link is followed, a path that is not there throws. Asked without opening it (a named
 * pipe would wait for a writer), before a file is read whole or streamed: /dev/zero never ends.
 */
export function notARegularFile(file: string): string | undefined {
  const stat = fs.statSync(file);
  return stat.isFile() ? undefined : kindOf(stat);
}

/**
 * The file's bytes. Throws FileRefusedError for anything but a regular file (found without waiting:
 * a named pipe is opened non-blocking) and for one larger than `maxBytes` (`what`: the file, in the
 * words of the error, as "a config"), and the file system's error (with its code) when it cannot be
 * opened or read.
 */
export function readBoundedFile(file: string, maxBytes: number, what: string): Buffer {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new FileRefusedError(`it is ${kindOf(stat)}, not a file: ${what} is a file`);
    const tooLarge = (size: string) => new FileRefusedError(`the file is ${size} bytes; ${what} may be at most ${count(maxBytes)}`, true);
    if (stat.size > maxBytes) throw tooLarge(count(stat.size));
    // One byte more than allowed is asked for: a file that grew since its size was read is caught too.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (length > maxBytes) throw tooLarge(`more than ${count(maxBytes)}`);
    return buffer.subarray(0, length);
  } finally {
    fs.closeSync(fd);
  }
}

export class OutsideFolderError extends Error {}

/**
 * The real path of a file the config names (`what`: "template"), relative to the config's folder. A
 * path out of the folder, or a link inside it to a file outside it, is an OutsideFolderError: the
 * config names what may run and whose keys are trusted, with files kept and reviewed beside it.
 * A file that is not there throws the file system's error.
 */
export function inConfigFolder(dir: string, relativePath: string, what: string): string {
  const file = path.resolve(dir, relativePath);
  if (!file.startsWith(path.resolve(dir) + path.sep)) throw new OutsideFolderError(`${what} ${relativePath} is outside the config folder`);
  const real = fs.realpathSync(file);
  const folder = fs.realpathSync(dir);
  if (!real.startsWith(folder + path.sep)) throw new OutsideFolderError(`${what} ${relativePath} is outside the config folder: it is a link to ${real}`);
  return real;
}

/**
 * The UTF-8 text of a JSON file the config names (a template, a key set), its byte order mark left
 * out (Visual Studio and Windows PowerShell write one, and az deployment takes it); or, for a file in
 * another encoding, what it is, to follow its name ("is UTF-16 text …"), rather than JSON.parse's
 * words about a garbled first character.
 */
export function utf8JsonText(bytes: Buffer): { text: string } | { problem: string } {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { problem: "is UTF-16 text (as Windows PowerShell's Out-File writes it): save it as UTF-8" };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { problem: 'is not UTF-8 text (a byte in it is no UTF-8 character; Latin-1 or Windows-1252, say): save it as UTF-8' };
  }
}
