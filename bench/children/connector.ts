/**
 * The fake Bot Connector for load runs: a real HTTP server on loopback that answers sends, replies,
 * card updates (an id, 200) and the start of a personal chat (createConversation: the new chat's id,
 * 201) the way the service does, and only counts them, so that a long run holds nothing in memory.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { report, serve } from '../lib/proc';

const counts = { send: 0, reply: 0, update: 0, created: 0, other: 0 };
let counter = 0;
const ROUTE = /^\/v3\/conversations\/[^/]+\/activities(?:\/([^/?]+))?/;

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.method === 'POST' && (req.url ?? '').split('?')[0] === '/v3/conversations') {
      // createConversation (a person's personal chat with the bot, when none is saved yet): the
      // service answers the new conversation's id, as it does for someone who has the app, or with
      // BENCH_CONNECTOR_PERSONAL_CHAT=not-installed 404, as for someone who does not.
      if (process.env.BENCH_CONNECTOR_PERSONAL_CHAT === 'not-installed') {
        counts.other++;
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NotFound","message":"User not found"}}');
        return;
      }
      counts.created++;
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(`{"id":"a:bench-personal-${++counter}"}`);
      return;
    }
    const m = ROUTE.exec(req.url ?? '');
    if (!m) {
      counts.other++;
      res.writeHead(404).end();
      return;
    }
    let id: string;
    if (req.method === 'PUT' && m[1]) {
      counts.update++;
      id = decodeURIComponent(m[1]);
    } else {
      if (m[1]) counts.reply++;
      else counts.send++;
      id = `activity-${++counter}`;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"id":"${id}"}`);
  });
});
server.keepAliveTimeout = 60_000;

// A deep accept queue: the real service takes bursts of connections without refusing them.
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  report({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` });
});

serve({
  stats: () => ({ type: 'stats', ...counts }),
  reset: () => {
    counts.send = counts.reply = counts.update = counts.created = counts.other = 0;
    return { type: 'reset' };
  },
});
