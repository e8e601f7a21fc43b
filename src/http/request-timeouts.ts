/**
 * A client that does not send its request in time (REQUEST_TIMEOUTS in server.ts) is answered 408 by
 * Node and let go. Node does that without a word: an operator saw neither the slow senders nor the
 * Bot Connector's own requests cut short. Each one is logged here (warn `http request timed out`:
 * method and path when its headers had come, elapsed, peer; never a header or the body), at most
 * LINES_PER_WINDOW a minute: past them, a flood of slow senders is counted and told in one line at
 * the end of the minute (`http requests timed out, not logged one by one`, with how many, from how
 * many peers and the first few of them).
 *
 * Node answers a client error itself only while nobody listens for it: this listener answers every
 * one as Node does (408 for a timeout, 431 for headers too large, 413 for chunk extensions too large,
 * 400 for anything else unreadable, only when no answer to the request has begun) and closes the
 * connection.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { Logger } from '../log/context';

/** Timeout lines logged one by one per window; the rest are counted. */
export const LINES_PER_WINDOW = 10;
const WINDOW_MS = 60_000;
/** Peers named in a window's summary line. */
const PEERS_NAMED = 5;

const ANSWERS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n',
};
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';

/** What is known of the request a connection is sending: since when, and its method and path once its headers came. */
interface Sending {
  since: number;
  method?: string;
  path?: string;
}

/**
 * Logs each request `server` times out (see above). `pathOf` turns a request target into the path
 * as logged (no query string, no download token); `now` is for tests.
 */
export function logRequestTimeouts(server: http.Server, log: Logger, pathOf: (url: string) => string, now: () => number = () => performance.now()): void {
  const sending = new WeakMap<net.Socket, Sending>();
  server.on('connection', (socket: net.Socket) => sending.set(socket, { since: now() }));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    const began = sending.get(socket)?.since ?? now();
    sending.set(socket, { since: began, method: String(req.method ?? '').slice(0, 16), path: pathOf(req.url ?? '') });
    // The next request on a kept-alive connection begins once this one is answered.
    res.on('finish', () => sending.set(socket, { since: now() }));
  });
  const flood = new Flood(log, now);
  server.on('clientError', (err: Error & { code?: string }, socket: net.Socket) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const request = sending.get(socket) ?? { since: now() };
      const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort ?? ''}` : 'unknown';
      flood.note({ method: request.method ?? '(headers not received)', path: request.path ?? '(headers not received)', elapsedMs: Math.round(now() - request.since), peer });
    }
    const answering = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (socket.writable && !answering?.headersSent) socket.write(ANSWERS[err.code ?? ''] ?? BAD_REQUEST);
    socket.destroy(err);
  });
}

interface TimedOut {
  method: string;
  path: string;
  elapsedMs: number;
  peer: string;
}

/** The first LINES_PER_WINDOW timeouts of each minute logged one by one, the rest counted and told once at its end. */
class Flood {
  private windowStart = -Infinity;
  private logged = 0;
  private held = 0;
  private readonly peers = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  note(t: TimedOut): void {
    if (this.now() - this.windowStart >= WINDOW_MS) {
      this.summarise();
      this.windowStart = this.now();
      this.logged = 0;
    }
    if (this.logged < LINES_PER_WINDOW) {
      this.logged++;
      this.log.warn({ ...t }, 'http request timed out');
      return;
    }
    this.held++;
    this.peers.add(t.peer.replace(/:\d*$/, ''));
    this.timer ??= setTimeout(() => this.summarise(), Math.max(0, this.windowStart + WINDOW_MS - this.now())).unref();
  }

  /** The window's timeouts not logged one by one, in one line. */
  private summarise(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held === 0) return;
    const peers = [...this.peers];
    this.log.warn({ count: this.held, peerCount: peers.length, peers: peers.slice(0, PEERS_NAMED), windowMs: WINDOW_MS, loggedOneByOne: LINES_PER_WINDOW }, 'http requests timed out, not logged one by one');
    this.held = 0;
    this.peers.clear();
  }
}
