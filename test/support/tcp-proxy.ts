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
  const pipe = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk) => {
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
    pipe(client, upstream);
    pipe(upstream, client);
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
