/**
 * The `directory` block (where Entra group membership is looked up, and how long an answer is kept)
 * and the checks on roles that list groups that a schema cannot make.
 */
import { GROUP_PREFIX } from '../domain/policy';
import { isLoopbackHost, LOOPBACK_TEXT } from '../loopback';
import { parseDuration } from './duration';
import type { DirectoryConfig, RawConfig } from './types';
import type { At } from './validate';

const DEFAULT_CACHE_LIFETIME = '5m';
/** A person removed from a group keeps its roles at most this long: an hour is the most we allow. */
const MAX_CACHE_LIFETIME_SECONDS = 3600;
const DEFAULT_GRAPH_ENDPOINT = 'https://graph.microsoft.com';

/**
 * Problems with a service endpoint (ARM's, Graph's): a URL, https (http on this machine's loopback,
 * as src/loopback.ts decides it, only when `loopbackHttp`), an origin and at most a path: a query or
 * fragment would be glued to every call.
 */
export function endpointProblem(text: string, loopbackHttp: boolean): string | undefined {
  const credentials = credentialsProblem(text);
  if (credentials) return credentials;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // What a URL that does not parse holds before an @ may be a password (one with a / in it): not repeated.
    return text.includes('@') ? 'not a URL (not repeated here: what it holds before its @ may be a password)' : `not a URL: ${text}`;
  }
  if (/\s/.test(text)) return `not a URL: ${text} (it holds white space)`;
  if (url.search || url.hash || text.includes('?') || text.includes('#')) return `must be the service's address without a query or fragment (got ${text})`;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && loopbackHttp && isLoopbackHost(url.hostname)) return undefined;
  return loopbackHttp ? `must be https (plain http is accepted only on ${LOOPBACK_TEXT}, for a local fake of Microsoft Graph)` : `must be https (got ${text})`;
}

/**
 * A user name or password written in a service's address (https://user:secret@management.azure.com):
 * the address is shown in logs and by `config check`, and kept with the config's policy version, so a
 * password there is a secret copied wherever they go; Countersign signs in with its credential, never
 * with these. The problem names the address without them, never the password.
 */
export function credentialsProblem(text: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@([^/?#]*)(.*)$/is.exec(text.trim());
  if (!m) return undefined;
  const rest = m[4].replace(/[?#].*$/s, '');
  return `must not hold a user name or password (the part before @): a secret written there is copied into logs and config check's output, and Countersign signs in with its credential, not with it; write the address without it, ${m[1]}${m[3]}${rest}`;
}

/**
 * Graph's base URL written with an API version (https://graph.microsoft.us/v1.0, as Graph's own
 * documentation writes its calls): Countersign adds /v1.0 itself, so every membership check would go
 * to /v1.0/v1.0/... and fail as Graph not answering, group members refused, long after the start.
 */
function graphVersionProblem(endpoint: string): string | undefined {
  const version = /\/(v1\.0|beta)$/i.exec(new URL(endpoint).pathname)?.[1];
  if (!version) return undefined;
  return `must be Microsoft Graph's base URL without the API version: Countersign adds /v1.0 itself (got ${endpoint}; write ${endpoint.slice(0, -version.length - 1)})`;
}

export function buildDirectory(input: RawConfig, at: At): DirectoryConfig {
  const raw = input.directory;
  let cacheLifetimeSeconds = 300;
  try {
    cacheLifetimeSeconds = parseDuration(raw?.cacheLifetime ?? DEFAULT_CACHE_LIFETIME);
  } catch {
    // reported by the schema
  }
  if (cacheLifetimeSeconds > MAX_CACHE_LIFETIME_SECONDS) {
    at(['directory', 'cacheLifetime'], `at most 1h: someone removed from a group keeps its roles for as long as an answer is cached (got ${raw?.cacheLifetime})`);
  }
  const graphEndpoint = (raw?.graphEndpoint ?? DEFAULT_GRAPH_ENDPOINT).replace(/\/+$/, '');
  const problem = endpointProblem(graphEndpoint, true) ?? graphVersionProblem(graphEndpoint);
  if (problem) at(['directory', 'graphEndpoint'], problem);
  return { cacheLifetimeSeconds, graphEndpoint };
}

/** Auditor roles are checked by name only (audit export has no directory lookup): they may not list groups. */
export function checkGroupRoles(input: RawConfig, at: At): void {
  for (const role of input.audit?.auditorRoles ?? []) {
    (Object.hasOwn(input.roles, role) ? input.roles[role] : []).forEach((member, j) => {
      if (member.toLowerCase().startsWith(GROUP_PREFIX)) {
        at(['roles', role, j], `role "${role}" is an auditor role (audit.auditorRoles), which must list people by object id; Entra groups are not supported there`);
      }
    });
  }
}
