/**
 * Loads and validates the YAML config once, at startup (and for `countersign config check`).
 * Every mistake is reported with the file, line, key and the problem; nothing starts on a bad config.
 * The checking is validate.ts (the schema, and where each key is written), the building build.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../domain/canonical';
import { FileRefusedError, readBoundedFile } from './bounded-file';
import { buildConfig } from './build';
import { isUndeclaredRole } from './suggest';
import type { CountersignConfig } from './types';
import { ConfigError, type ConfigProblem, validateConfigText } from './validate';

// Callers that load a config get from here what it is and what a bad one throws.
export type { CountersignConfig } from './types';
export { ConfigError } from './validate';

export function loadConfig(file: string): CountersignConfig {
  const absolute = path.resolve(file);
  let bytes: Buffer;
  try {
    bytes = readBoundedFile(absolute, MAX_CONFIG_BYTES, 'a config');
  } catch (err) {
    if (err instanceof FileRefusedError) {
      const why = err.tooLarge ? ' (a catalog of hundreds of commands is a few hundred kB): it is read whole at every start' : '';
      throw new ConfigError(absolute, [{ key: '', problem: `${err.message}${why}` }]);
    }
    const code = (err as NodeJS.ErrnoException).code;
    // A missing file said in words, as the start says it: an errno code alone is not an answer.
    const problem = code === 'ENOENT' ? `the file is missing (ENOENT)${danglingLink(absolute)}` : `cannot read the file (${code ?? String(err)})`;
    throw new ConfigError(absolute, [{ key: '', problem }]);
  }
  return parseConfig(utf8Text(bytes, absolute), absolute);
}

/**
 * ": it is a link to <target>, which is not there" for a path that is a link to nothing (a release's
 * folder removed under a `current` link), so the link is not taken for a missing file; else nothing.
 */
function danglingLink(file: string): string {
  try {
    if (!fs.lstatSync(file).isSymbolicLink()) return '';
    return `: it is a link to ${path.resolve(path.dirname(file), fs.readlinkSync(file))}, which is not there`;
  } catch {
    return '';
  }
}

/** The largest config file read: 5,000 commands (2 MB) took 8.6 s to load, a 30 MB description 1.2 GB of memory. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The file's text, which must be UTF-8: read another way, its characters would change without a word
 * (Latin-1 "é" in a pattern became U+FFFD) and the policy version, the SHA-256 of the text, would no
 * longer be the file's. A byte order mark is kept, so the hash stays the file's bytes'.
 */
function utf8Text(bytes: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const lenient = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    const at = lenient.indexOf('\uFFFD');
    const line = lenient.slice(0, Math.max(at, 0)).split('\n').length;
    throw new ConfigError(file, [{ key: '', line, problem: `the file is not UTF-8 text (${bytes[0] === 0xff || bytes[0] === 0xfe ? 'it looks like UTF-16' : 'a byte there is no UTF-8 character; Latin-1 or Windows-1252, say'}): save it as UTF-8` }]);
  }
}

/**
 * The loaded config, or a ConfigError naming every problem in the file at once: what the schema
 * finds and what building finds (declared roles, templates, placeholders), so one run of
 * `countersign config check` is enough to fix them all.
 */
export function parseConfig(text: string, file: string): CountersignConfig {
  const { input, locate, problems } = validateConfigText(text, file);
  const said = problems.length;
  try {
    const config = buildConfig(input, { file, hash: sha256Hex(text), locate, schemaRefused: said > 0 });
    if (said === 0) return config;
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.found.filter((p) => !followsFrom(p, problems.slice(0, said))));
    // A config the schema refused may not have the shape building expects: its problems are known already.
    else if (said === 0) throw err;
  }
  const seen = new Set<string>();
  throw new ConfigError(file, problems.filter((p) => !seen.has(`${p.key}\u0000${p.problem}`) && !!seen.add(`${p.key}\u0000${p.problem}`)));
}

/**
 * Whether a problem building found only follows from one the schema said: one about a key under a
 * key the schema refused (`windows[0]: x`, read as an empty map, "opens and closes at undefined"),
 * and, with `roles` itself refused (`roles: x`), each role a list names being "not declared". (One
 * about the refused key itself can say more: an http address's user name, beside "must be https".)
 */
function followsFrom(problem: ConfigProblem, schema: readonly ConfigProblem[]): boolean {
  return schema.some((s) => s.key !== '' && (problem.key.startsWith(`${s.key}.`) || problem.key.startsWith(`${s.key}[`) || (s.key === 'roles' && isUndeclaredRole(problem.problem))));
}
