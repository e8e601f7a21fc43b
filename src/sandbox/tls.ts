/**
 * The sandbox's TLS identity: a certificate generated at start for the loopback names, which clients
 * trust explicitly (the PEM is handed to them) instead of anyone turning verification off.
 */
import { generate } from 'selfsigned';

export interface SandboxCertificate {
  /** The certificate, PEM: what a client adds to its trusted CAs. */
  certPem: string;
  keyPem: string;
}

export async function generateCertificate(host: string): Promise<SandboxCertificate> {
  const ips = new Set(['127.0.0.1', '::1']);
  if (/^[\d.]+$/.test(host) || host.includes(':')) ips.add(host.replace(/^\[|\]$/g, ''));
  const pems = await generate([{ name: 'commonName', value: 'Countersign ARM sandbox' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 7 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [{ type: 2, value: 'localhost' }, ...[...ips].map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}
