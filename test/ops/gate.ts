/**
 * A loopback HTTP gate in front of the fake Bot Connector: while closed it holds every call the bot
 * makes to Teams (replies, card updates), so a test can catch the bot with work in flight.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface HeldCall {
  method: string;
  path: string;
  forward(): void;
}

export class ConnectorGate {
  url = '';
  private server?: http.Server;
  private holding = false;
  private readonly held: HeldCall[] = [];

  constructor(private readonly upstream: string) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  /** From now on, calls wait at the gate. */
  hold(): void {
    this.holding = true;
  }

  /** Lets the waiting calls through, and every later one. */
  release(): void {
    this.holding = false;
    for (const call of this.held.splice(0)) call.forward();
  }

  /** Calls waiting at the gate, as "METHOD path". */
  waiting(): string[] {
    return this.held.map((c) => `${c.method} ${c.path}`);
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = () => {
        const target = new URL(req.url ?? '/', this.upstream);
        fetch(target, { method: req.method, headers: { 'content-type': 'application/json' }, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) })
          .then(async (up) => {
            res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
            res.end(Buffer.from(await up.arrayBuffer()));
          })
          .catch((err: unknown) => {
            res.writeHead(502).end(String(err));
          });
      };
      if (this.holding) this.held.push({ method: req.method ?? '', path: req.url ?? '', forward });
      else forward();
    });
  }
}
