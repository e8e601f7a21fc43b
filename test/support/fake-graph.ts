/**
 * A fake Microsoft Graph on a loopback socket: `POST /v1.0/users/{id}/checkMemberGroups` answers which
 * of the groups asked about the user is in, transitively (groups nested in groups), as Graph does.
 * Tests change membership while it runs and make it fail (403, 500, 429 with Retry-After, no answer).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/identity';

/** What the next requests get instead of an answer: a status (with a body and Retry-After), or silence. */
export type GraphFault = { status: number; code?: string; retryAfter?: string } | 'hang';

export interface FakeGraph {
  url: string;
  /** Every checkMemberGroups call: the user, the group ids asked about and the bearer token. */
  calls: { user: string; groupIds: string[]; token: string }[];
  /** Direct members of each group: person object ids and nested group ids. */
  members: Map<string, Set<string>>;
  addMember(groupId: string, memberId: string): void;
  removeMember(groupId: string, memberId: string): void;
  /** The next `times` calls get the fault (default every call until cleared). */
  fail(fault: GraphFault | undefined, times?: number): void;
  close(): Promise<void>;
}

export async function startFakeGraph(): Promise<FakeGraph> {
  const members = new Map<string, Set<string>>();
  const calls: FakeGraph['calls'] = [];
  let fault: GraphFault | undefined;
  let faultsLeft = Infinity;
  const hanging = new Set<http.ServerResponse>();

  const transitivelyIn = (group: string, id: string, seen = new Set<string>()): boolean => {
    if (seen.has(group)) return false;
    seen.add(group);
    const direct = members.get(group) ?? new Set();
    return direct.has(id) || [...direct].some((m) => members.has(m) && transitivelyIn(m, id, seen));
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const match = /^\/v1\.0\/users\/([^/]+)\/checkMemberGroups$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match) return send(res, 404, { error: { code: 'Request_ResourceNotFound', message: `no route ${req.method} ${req.url}` } });
      const user = decodeURIComponent(match[1]).toLowerCase();
      const groupIds = ((JSON.parse(body || '{}') as { groupIds?: string[] }).groupIds ?? []).map((g) => g.toLowerCase());
      calls.push({ user, groupIds, token: (req.headers.authorization ?? '').replace(/^Bearer /, '') });
      if (fault && faultsLeft > 0) {
        faultsLeft--;
        const now = fault;
        if (faultsLeft === 0) fault = undefined;
        if (now === 'hang') {
          hanging.add(res);
          return;
        }
        const headers: Record<string, string> = now.retryAfter ? { 'retry-after': now.retryAfter } : {};
        return send(res, now.status, { error: { code: now.code ?? 'generalException', message: 'fake Graph fault' } }, headers);
      }
      send(res, 200, { value: groupIds.filter((g) => transitivelyIn(g, user)) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    members,
    addMember(groupId, memberId) {
      const key = groupId.toLowerCase();
      members.set(key, (members.get(key) ?? new Set()).add(memberId.toLowerCase()));
    },
    removeMember(groupId, memberId) {
      members.get(groupId.toLowerCase())?.delete(memberId.toLowerCase());
    },
    fail(next, times = Infinity) {
      fault = next;
      faultsLeft = times;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A TokenCredential that hands out a fixed token and records the scopes asked for. */
export function fakeGraphCredential(): TokenCredential & { scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    getToken: async (asked): Promise<AccessToken> => {
      scopes.push(...[asked].flat());
      return { token: 'graph-token', expiresOnTimestamp: Date.now() + 3600_000 };
    },
  };
}
