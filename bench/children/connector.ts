/**
 * The fake Bot Connector for load runs: a real HTTP server on loopback that answers sends, replies
 * and card updates the way the service does (an id, 200) and only counts them, so that a long run
 * holds nothing in memory.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { report, serve } from '../lib/proc';

const counts = { send: 0, reply: 0, update: 0, other: 0 };
let counter = 0;
const ROUTE = /^\/v3\/conversations\/[^/]+\/activities(?:\/([^/?]+))?/;

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
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
    counts.send = counts.reply = counts.update = counts.other = 0;
    return { type: 'reset' };
  },
});
