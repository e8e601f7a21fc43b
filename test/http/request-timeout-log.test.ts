/**
 * A request Node times out (408) is logged: method and path once its headers came, how long it had
 * been sending, the peer; never a header or the body. A flood of slow senders makes ten lines a
 * minute and one line summing up the rest.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import net from 'node:net';
import { createServer, REQUEST_TIMEOUTS } from '../../src/http/server';
import { LINES_PER_WINDOW, logRequestTimeouts } from '../../src/http/request-timeouts';

interface Line {
  fields: Record<string, unknown>;
  msg: string;
}

function capture() {
  const lines: Line[] = [];
  const noop = () => undefined;
  const log = { info: noop, warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }), error: noop, debug: noop, fatal: noop, trace: noop, child: () => log } as never;
  return { lines, log };
}

/** A connection that sent `text` and then nothing: the server's answer, once it closed it. */
function sendAndStall(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    socket.on('data', (c: Buffer) => (got += c.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(got));
  });
}

describe('a request the server timed out (408)', function () {
  this.timeout(20_000);
  const saved = { ...REQUEST_TIMEOUTS };
  afterEach(() => Object.assign(REQUEST_TIMEOUTS, saved));

  it('is logged with its method, path, elapsed time and peer, and nothing of its headers or body', async () => {
    Object.assign(REQUEST_TIMEOUTS, { headersMs: 1000, requestMs: 1500, checkEveryMs: 200 });
    const { lines, log } = capture();
    const server = createServer({ handleActivity: async () => undefined, log, ready: async () => ({ ok: true, checks: {} }), stopping: () => false, track: <T>(work: Promise<T>) => work } as never);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    try {
      // Its headers whole, its body trickling: the route waits for the body, Node gives up on it.
      const body = '{"type":"message","text":"secret-in-the-body"';
      const answer = await sendAndStall(port, `POST /api/messages?code=secret-in-the-query HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer secret-in-a-header\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n${body}`);
      assert.match(answer, /^HTTP\/1\.1 408 /);
      // Headers never finished: no method or path to name.
      const headless = await sendAndStall(port, 'GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n');
      assert.match(headless, /^HTTP\/1\.1 408 /);
      const timedOut = lines.filter((l) => l.msg === 'http request timed out');
      assert.equal(timedOut.length, 2, JSON.stringify(lines));
      assert.equal(timedOut[0].fields.method, 'POST');
      assert.equal(timedOut[0].fields.path, '/api/messages');
      assert.match(String(timedOut[0].fields.peer), /^127\.0\.0\.1:\d+$/);
      assert.ok(Number(timedOut[0].fields.elapsedMs) >= 1000, JSON.stringify(timedOut[0]));
      assert.equal(timedOut[1].fields.method, '(headers not received)');
      assert.doesNotMatch(JSON.stringify(lines), /secret/);
    } finally {
      server.close();
    }
  });

  it('answers the other unreadable requests as Node does: 400, and 431 for headers too large', async () => {
    const { log } = capture();
    const server = createServer({ handleActivity: async () => undefined, log, ready: async () => ({ ok: true, checks: {} }), stopping: () => false, track: <T>(work: Promise<T>) => work } as never);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    try {
      assert.equal(await sendAndStall(port, 'GARBAGE\r\n\r\n'), 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      assert.equal(await sendAndStall(port, `GET /healthz HTTP/1.1\r\nx: ${'a'.repeat(20_000)}\r\n\r\n`), 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n');
    } finally {
      server.close();
    }
  });

  it('under a flood of slow senders logs ten lines a minute, and sums up the rest in one line', () => {
    const { lines, log } = capture();
    const server = new EventEmitter() as unknown as http.Server;
    let now = 0;
    logRequestTimeouts(server, log, (url) => url, () => now);
    const timeout = (address: string) => {
      const socket = Object.assign(new EventEmitter(), { remoteAddress: address, remotePort: 5000, writable: false, destroy: () => undefined }) as unknown as net.Socket;
      server.emit('connection', socket);
      now += 100;
      server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
    };
    for (let i = 0; i < 200; i++) timeout(`10.0.0.${i % 7}`);
    assert.equal(lines.length, LINES_PER_WINDOW);
    // A minute on, the next one ends the window: the rest in one line, then it is logged itself.
    now += 60_000;
    timeout('10.0.1.1');
    assert.equal(lines.length, LINES_PER_WINDOW + 2);
    const summary = lines[LINES_PER_WINDOW];
    assert.equal(summary.msg, 'http requests timed out, not logged one by one');
    assert.equal(summary.fields.count, 200 - LINES_PER_WINDOW);
    assert.equal(summary.fields.peerCount, 7);
    assert.equal(lines[LINES_PER_WINDOW + 1].msg, 'http request timed out');
  });
});
