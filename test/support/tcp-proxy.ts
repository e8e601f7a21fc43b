/**
 * A TCP proxy between an instance and PostgreSQL that a test can stall (bytes held, sockets open: a
 * network that drops packets), cut (every connection reset) and restore. For the faults of the
 * network between an instance and its database (docs/faults.md).
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Holds every byte in both directions from now on, connections left open (a black hole). */
  stall(): void;
  /** Lets bytes through again (those held first). */
  resume(): void;
  /** Resets every open connection (RST); new ones are still accepted unless `refuse` too. */
  cut(): void;
  /**
   * The next chunk an instance sends that holds a COMMIT reaches the server, which commits it; then
   * that connection is reset before the server's answer comes back: a commit whose outcome the
   * instance cannot know. Resolves once it happened.
   */
  cutAfterCommit(): Promise<void>;
  /**
   * The next chunk an instance sends that holds a COMMIT reaches the server, which commits it; then
   * the network stalls (as stall()) before the server's answer comes back. Resolves once it happened.
   */
  stallAfterCommit(): Promise<void>;
  /** Refuses new connections (the server unreachable) until resume(). */
  refuse(): void;
  /** How many connections have been opened through it. */
  opened(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; server: net.Socket }>();
  let stalled = false;
  let refusing = false;
  let count = 0;
  const held: (() => void)[] = [];
  let afterCommit: (() => void) | undefined;
  let stallAfterCommit: (() => void) | undefined;
  const pipe = (from: net.Socket, to: net.Socket, toServer: boolean) => {
    from.on('data', (chunk: Buffer) => {
      if (toServer && afterCommit && chunk.includes('COMMIT')) {
        const done = afterCommit;
        afterCommit = undefined;
        // The server gets the COMMIT and then the end of the connection; the instance gets a reset.
        from.pause();
        from.resetAndDestroy();
        to.end(chunk, () => setTimeout(done, 200));
        return;
      }
      if (toServer && stallAfterCommit && !stalled && chunk.includes('COMMIT')) {
        const done = stallAfterCommit;
        stallAfterCommit = undefined;
        stalled = true;
        to.write(chunk, () => setTimeout(done, 200));
        return;
      }
      if (stalled) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  };
  const server = net.createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    count++;
    const upstream = net.connect(target.port, target.host);
    const pair = { client, server: upstream };
    pairs.add(pair);
    pipe(client, upstream, true);
    pipe(upstream, client, false);
    const end = () => {
      pairs.delete(pair);
      if (!client.destroyed) client.destroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    stall: () => void (stalled = true),
    resume: () => {
      stalled = false;
      refusing = false;
      for (const send of held.splice(0)) send();
    },
    cut: () => {
      held.length = 0;
      for (const p of [...pairs]) {
        p.client.resetAndDestroy();
        p.server.resetAndDestroy();
      }
    },
    cutAfterCommit: () => new Promise<void>((resolve) => (afterCommit = resolve)),
    stallAfterCommit: () => new Promise<void>((resolve) => (stallAfterCommit = resolve)),
    refuse: () => void (refusing = true),
    opened: () => count,
    close: async () => {
      for (const p of [...pairs]) {
        p.client.destroy();
        p.server.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
