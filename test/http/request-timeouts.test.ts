/**
 * A client that trickles its request (slowloris) holds a connection only so long: the headers within
 * REQUEST_TIMEOUTS.headersMs, the whole request within requestMs (Node then answers 408 and closes),
 * instead of Node's defaults of 60 s and 300 s. Node looks for such connections every 30 s, which no
 * setting after the server exists can shorten, so this checks what the server is given, not a wait.
 */
import assert from 'node:assert/strict';
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
