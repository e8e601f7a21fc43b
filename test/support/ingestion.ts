/**
 * A stand-in for Application Insights' ingestion endpoint (`POST /v2.1/track`, https only, gzip'd
 * JSON envelopes), on loopback with a certificate the child process trusts through NODE_EXTRA_CA_CERTS.
 */
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { generateCertificate } from '../../src/sandbox/tls';

export interface Envelope {
  name: string;
  data?: { baseType?: string; baseData?: { name?: string; metrics?: { name: string; value: number; count?: number }[]; properties?: Record<string, string>; resultCode?: string } };
}

export class FakeIngestion {
  readonly envelopes: Envelope[] = [];
  private server?: https.Server;
  private dir?: string;
  caFile = '';
  url = '';

  async start(): Promise<this> {
    const cert = await generateCertificate('127.0.0.1');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-ingestion-'));
    this.caFile = path.join(this.dir, 'ca.pem');
    fs.writeFileSync(this.caFile, cert.certPem);
    this.server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
        const text = body.toString('utf8');
        let received: Envelope[];
        try {
          const parsed = JSON.parse(text) as Envelope | Envelope[];
          received = Array.isArray(parsed) ? parsed : [parsed];
        } catch {
          received = text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Envelope);
        }
        this.envelopes.push(...received);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ itemsReceived: received.length, itemsAccepted: received.length, errors: [] }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  connectionString(): string {
    return `InstrumentationKey=00000000-0000-4000-8000-00000000c0de;IngestionEndpoint=${this.url}`;
  }

  metricNames(): string[] {
    return this.envelopes.flatMap((e) => e.data?.baseData?.metrics?.map((m) => m.name) ?? []);
  }

  /** Names of request (server span) or dependency (client/internal span) telemetry. */
  named(baseType: 'RequestData' | 'RemoteDependencyData'): string[] {
    return this.envelopes.filter((e) => e.data?.baseType === baseType).map((e) => e.data?.baseData?.name ?? '');
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
