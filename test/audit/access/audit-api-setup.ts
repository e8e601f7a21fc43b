/**
 * The audit HTTP API as the tests set it up: an issuer, audience and role in the example config's
 * `audit.http`, a signing key whose public half is the key set (jwks.json) beside the config, and
 * the example's templates there too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { parseConfig, type CountersignConfig } from '../../../src/config/load';
import { EXAMPLE_CONFIG } from '../../support/harness';

export const ISSUER = 'https://login.microsoftonline.com/6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/v2.0';
export const AUDIENCE = 'api://countersign-audit';
export const ROLE = 'Audit.Export';

export interface TestSigningKey {
  privateKey: CryptoKey;
  jwk: JWK;
}

/** An RS256 key pair; its public half is published as kid `test-key`. */
export async function testSigningKey(): Promise<TestSigningKey> {
  const pair = await generateKeyPair('RS256');
  return { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' } };
}

/** The example config with the audit API on, written into `dir` with its key set and templates (read only from its folder). */
export function auditApiConfig(dir: string, key: TestSigningKey): CountersignConfig {
  fs.cpSync(path.join(path.dirname(EXAMPLE_CONFIG), 'templates'), path.join(dir, 'templates'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify({ keys: [key.jwk] }));
  const configText = fs
    .readFileSync(EXAMPLE_CONFIG, 'utf8')
    .replace('  auditorRoles: [auditors]\n', `  auditorRoles: [auditors]\n  http:\n    issuer: ${ISSUER}\n    audience: ${AUDIENCE}\n    role: ${ROLE}\n    jwksFile: jwks.json\n`);
  return parseConfig(configText, path.join(dir, 'countersign.yaml'));
}
