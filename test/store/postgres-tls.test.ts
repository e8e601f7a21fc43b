/**
 * node-postgres cannot try TLS and fall back as libpq's default `prefer` does: with PGSSLMODE unset
 * Countersign connects in the clear. The start warns when that connection crosses the network.
 */
import assert from 'node:assert/strict';
import { PostgresStartupError, poolConfig, unencryptedRemoteHost } from '../../src/store/postgres/connection';

describe('a PostgreSQL connection without TLS over the network', () => {
  it('names the host when no sslmode (or disable, allow, prefer) reaches a server off this machine', () => {
    assert.equal(unencryptedRemoteHost({ url: 'postgres://app@db.example.org/countersign' }), 'db.example.org');
    assert.equal(unencryptedRemoteHost({ host: '10.0.0.5', sslMode: 'prefer' }), '10.0.0.5');
    assert.equal(unencryptedRemoteHost({ url: 'postgres://app@db.example.org/countersign?sslmode=disable', sslMode: 'verify-full' }), 'db.example.org', "the URL's sslmode wins");
    assert.equal(unencryptedRemoteHost({ host: 'db.example.org', sslMode: 'allow' }), 'db.example.org');
  });

  it('says nothing of TLS, nor of loopback and Unix sockets, nor of the default host', () => {
    for (const sslMode of ['require', 'verify-ca', 'verify-full'] as const) assert.equal(unencryptedRemoteHost({ host: 'db.example.org', sslMode }), undefined, sslMode);
    assert.equal(unencryptedRemoteHost({ url: 'postgres://app@db.example.org/countersign?sslmode=verify-full' }), undefined);
    for (const host of ['127.0.0.1', 'localhost', '::1', '/var/run/postgresql']) assert.equal(unencryptedRemoteHost({ host }), undefined, host);
    assert.equal(unencryptedRemoteHost({}), undefined, 'localhost by default');
  });

  it('refuses to send a Microsoft Entra token to a server off this machine without TLS, before any connection', () => {
    const token = async () => 'eyJ0eXAiOiJKV1QifQ.e30.sig';
    for (const options of [{ url: 'postgres://app@cs.postgres.database.azure.com/countersign' }, { host: '10.0.0.5', sslMode: 'disable' as const }, { url: 'postgres://app@db.example.org/countersign?sslmode=prefer' }]) {
      assert.throws(() => poolConfig({ ...options, password: token }), (err: Error) => err instanceof PostgresStartupError && /COUNTERSIGN_DATABASE_AUTH is entra, but .* would be reached without TLS .*PGSSLMODE=verify-full/.test(err.message), JSON.stringify(options));
    }
    // With TLS, on loopback or a Unix socket (a local proxy), and with a fixed password (warned of at the start): taken.
    for (const options of [{ host: 'db.example.org', sslMode: 'require' as const }, { url: 'postgres://app@db.example.org/countersign?sslmode=verify-full' }, { host: '127.0.0.1' }, { host: '/var/run/postgresql' }]) {
      assert.equal(poolConfig({ ...options, password: token }).password, token, JSON.stringify(options));
    }
    assert.equal(poolConfig({ host: 'db.example.org', password: 'secret' }).ssl, false);
  });
});
