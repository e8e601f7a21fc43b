/**
 * Loads and validates the YAML config once, at startup (and for `countersign config check`).
 * Every mistake is reported with the file, line, key and the problem; nothing starts on a bad config.
 * The checking is validate.ts (the schema, and where each key is written), the building build.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../domain/canonical';
import { buildConfig } from './build';
import type { CountersignConfig } from './types';
import { ConfigError, validateConfigText } from './validate';

// Callers that load a config get from here what it is and what a bad one throws.
export type { CountersignConfig } from './types';
export { ConfigError } from './validate';

export function loadConfig(file: string): CountersignConfig {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(absolute, 'utf8');
  } catch (err) {
    throw new ConfigError(absolute, [{ key: '', problem: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})` }]);
  }
  return parseConfig(text, absolute);
}

/**
 * The loaded config, or a ConfigError naming every problem in the file at once: what the schema
 * finds and what building finds (declared roles, templates, placeholders), so one run of
 * `countersign config check` is enough to fix them all.
 */
export function parseConfig(text: string, file: string): CountersignConfig {
  const { input, locate, problems } = validateConfigText(text, file);
  try {
    const config = buildConfig(input, { file, hash: sha256Hex(text), locate });
    if (problems.length === 0) return config;
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems);
    // A config the schema refused may not have the shape building expects: its problems are known already.
    else if (problems.length === 0) throw err;
  }
  const seen = new Set<string>();
  throw new ConfigError(file, problems.filter((p) => !seen.has(`${p.key}\u0000${p.problem}`) && !!seen.add(`${p.key}\u0000${p.problem}`)));
}
