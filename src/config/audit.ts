/**
 * The config's `audit` section: when the chain head is signed into a checkpoint (every so many
 * records, every so long), and the audit HTTP API's token issuer with its key set (`jwksUri`, or a
 * `jwksFile` in the config's folder).
 */
import path from 'node:path';
import { FileRefusedError, inConfigFolder, OutsideFolderError, readBoundedFile, utf8JsonText } from './bounded-file';
import type { AuditConfig, RawConfig } from './types';
import { type At } from './validate';
import { durationOrZero } from './duration';
import { credentialsProblem } from './directory';

const DEFAULT_CHECKPOINT_EVERY_RECORDS = 1000;

const DEFAULT_CHECKPOINT_INTERVAL = '15m';

/** The longest `audit.checkpointInterval`: the records since the last checkpoint are vouched for by none. */
const MAX_CHECKPOINT_INTERVAL_SECONDS = 86400;

export function buildAudit(raw: RawConfig['audit'], at: At, dir: string): AuditConfig {
  const audit: AuditConfig = {
    checkpointIntervalSeconds: durationOrZero(raw?.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL),
    checkpointEveryRecords: raw?.checkpointEveryRecords ?? DEFAULT_CHECKPOINT_EVERY_RECORDS,
  };
  if (audit.checkpointIntervalSeconds > MAX_CHECKPOINT_INTERVAL_SECONDS) {
    at(['audit', 'checkpointInterval'], `at most 24h: the records written since the last checkpoint are vouched for by no signature until the next one (got ${raw?.checkpointInterval})`);
  }
  const http = raw?.http;
  if (!http) return audit;
  // A user name or password in either address is a secret copied into logs and config check's output, as in azure.endpoint.
  for (const key of ['issuer', 'jwksUri'] as const) {
    const credentials = http[key] === undefined ? undefined : credentialsProblem(http[key]);
    if (credentials) at(['audit', 'http', key], credentials);
  }
  if (!!http.jwksUri === !!http.jwksFile) {
    at(['audit', 'http'], "needs exactly one of jwksUri (the issuer's https key set) and jwksFile (a JSON Web Key Set file)");
    return audit;
  }
  if (http.jwksUri) return { ...audit, http: { issuer: http.issuer, audience: http.audience, role: http.role, jwks: { uri: http.jwksUri } } };
  const keys = jwksFromFile(dir, http.jwksFile!, (problem) => at(['audit', 'http', 'jwksFile'], problem));
  return keys ? { ...audit, http: { issuer: http.issuer, audience: http.audience, role: http.role, jwks: { keys } } } : audit;
}

/** A key set is a few kilobytes (Entra's, with every key it rotates through, under 20 kB). */
const MAX_JWKS_BYTES = 1024 * 1024;

/**
 * The keys of `audit.http.jwksFile`: a file in the config's folder, as templates are (whose keys are
 * trusted is the config's to say, reviewed with it), a regular file of at most 1 MiB. A file that is
 * not a key set is named without quoting it: JSON.parse's message quotes the text where it failed.
 */
function jwksFromFile(dir: string, relativePath: string, problem: (message: string) => void): Record<string, unknown>[] | undefined {
  const file = path.resolve(dir, relativePath);
  let bytes: Buffer;
  try {
    bytes = readBoundedFile(inConfigFolder(dir, relativePath, 'the key set'), MAX_JWKS_BYTES, 'a key set');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problem(err instanceof OutsideFolderError ? `${err.message} (a key set is read from the config's folder, as templates are)` : err instanceof FileRefusedError ? `${file}: ${err.message}` : `cannot read ${file} (${code ?? String(err)})`);
    return undefined;
  }
  const decoded = utf8JsonText(bytes);
  if ('problem' in decoded) {
    problem(`${file} ${decoded.problem}`);
    return undefined;
  }
  const { text } = decoded;
  let set: { keys?: unknown } | null;
  try {
    set = JSON.parse(text) as { keys?: unknown } | null;
  } catch (err) {
    const position = /at position (\d+)/.exec((err as Error).message);
    const where = position ? ` (line ${text.slice(0, Number(position[1])).split('\n').length})` : '';
    problem(`${file} is not a JSON Web Key Set: it is not valid JSON${where}`);
    return undefined;
  }
  if (!set || !Array.isArray(set.keys) || set.keys.length === 0 || !set.keys.every((k) => k && typeof k === 'object' && typeof (k as { kty?: unknown }).kty === 'string')) {
    problem(`${file} is not a JSON Web Key Set: it has no "keys" list of JSON Web Keys`);
    return undefined;
  }
  return set.keys as Record<string, unknown>[];
}
