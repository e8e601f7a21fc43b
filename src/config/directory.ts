/**
 * The `directory` block (where Entra group membership is looked up, and how long an answer is kept)
 * and the checks on roles that list groups that a schema cannot make.
 */
import { GROUP_PREFIX } from '../domain/policy';
import { parseDuration } from './duration';
import type { DirectoryConfig, RawConfig } from './types';

type At = (key: (string | number)[], problem: string) => void;

const DEFAULT_CACHE_LIFETIME = '5m';
/** A person removed from a group keeps its roles at most this long: an hour is the most we allow. */
const MAX_CACHE_LIFETIME_SECONDS = 3600;
const DEFAULT_GRAPH_ENDPOINT = 'https://graph.microsoft.com';
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

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
  let url: URL | undefined;
  try {
    url = new URL(graphEndpoint);
  } catch {
    at(['directory', 'graphEndpoint'], `not a URL: ${graphEndpoint}`);
  }
  if (url && url.protocol === 'http:' && !LOOPBACK_HOSTS.includes(url.hostname)) {
    at(['directory', 'graphEndpoint'], 'must be https (plain http is accepted only on loopback, for a local fake of Microsoft Graph)');
  }
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
