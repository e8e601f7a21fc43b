/**
 * A client that trickles its request (slowloris) holds a connection only so long: the headers within
 * REQUEST_TIMEOUTS.headersMs, the whole request within requestMs (Node then answers 408 and closes),
 * instead of Node's defaults of 60 s and 300 s. Node looks for such connections every
 * REQUEST_TIMEOUTS.checkEveryMs (its default, 30 s, let them go 30 s late): the second test waits
 * for the headers' bound once.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { createServer, REQUEST_TIMEOUTS } from '../../src/http/server';

describe('how long a client may take to send its request', () => {
  it('is bounded for the headers and for the whole request, well below Node\'s defaults', () => {
    const noop = () => undefined;
    const log = { info: noop, warn: noop, error: noop, debug: noop, fatal: noop, trace: noop, child: () => log } as never;
    const server = createServer({ handleActivity: async () => undefined, log, ready: async () => ({ ok: true, checks: {} }), stopping: () => false, track: <T>(work: Promise<T>) => work } as never);
    assert.equal(server.server.headersTimeout, REQUEST_TIMEOUTS.headersMs);
    assert.equal(server.server.requestTimeout, REQUEST_TIMEOUTS.requestMs);
    assert.ok(REQUEST_TIMEOUTS.headersMs <= 10_000 && REQUEST_TIMEOUTS.requestMs <= 30_000);
    assert.ok(REQUEST_TIMEOUTS.headersMs <= REQUEST_TIMEOUTS.requestMs, 'Node requires the headers\' bound within the request\'s');
    server.close();
  });
});

describe('a client that sends its headers one byte at a time', function () {
  this.timeout(20_000);

  it('is answered 408 and let go within about the headers\' bound, not when Node next looks (every 30 s)', async () => {
    const noop = () => undefined;
    const log = { info: noop, warn: noop, error: noop, debug: noop, fatal: noop, trace: noop, child: () => log } as never;
    const server = createServer({ handleActivity: async () => undefined, log, ready: async () => ({ ok: true, checks: {} }), stopping: () => false, track: <T>(work: Promise<T>) => work } as never);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    const started = Date.now();
    try {
      const answer = await new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        const head = 'POST /api/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n';
        let i = 0;
        const drip = setInterval(() => i < head.length && !socket.destroyed && socket.write(head[i++]), 1000);
        let got = '';
        socket.on('data', (c: Buffer) => (got += c.toString()));
        socket.on('error', noop);
        socket.on('close', () => {
          clearInterval(drip);
          resolve(got);
        });
      });
      const took = Date.now() - started;
      assert.match(answer, /^HTTP\/1\.1 408 /);
      assert.ok(took < REQUEST_TIMEOUTS.headersMs + 2000, `let go after ${took} ms`);
    } finally {
      server.close();
    }
  });
});
