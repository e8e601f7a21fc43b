import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { readSettings, readStoreSettings, SettingsError } from '../../src/settings';
import { postgresConnectionOf } from '../../src/store/open-store';
import { describeTarget } from '../../src/store/postgres';
import { poolConfig } from '../../src/store/postgres/connection';

describe('choosing the store from the environment', () => {
  it('stays on SQLite unless PostgreSQL is chosen, even with PG* variables and DATABASE_URL set', () => {
    assert.deepEqual(readStoreSettings({}), { kind: 'sqlite' });
    assert.deepEqual(readStoreSettings({ PGHOST: 'db.example', PGUSER: 'u', DATABASE_URL: 'postgres://x@y/z' }), { kind: 'sqlite' });
    assert.deepEqual(readSettings({}).store, { kind: 'sqlite' });
  });

  it('reads a URL, preferring COUNTERSIGN_DATABASE_URL over DATABASE_URL', () => {
    const s = readStoreSettings({ COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: 'postgres://a@h1/db1', DATABASE_URL: 'postgres://b@h2/db2' });
    assert.deepEqual(s, { kind: 'postgres', postgres: { url: 'postgres://a@h1/db1', auth: 'password', migrate: 'auto' } });
  });

  it('reads the libpq variables, TLS included', () => {
    const s = readStoreSettings({
      COUNTERSIGN_STORE: 'postgres',
      PGHOST: 'cs.postgres.database.azure.com',
      PGPORT: '6432',
      PGUSER: 'countersign-app',
      PGDATABASE: 'countersign',
      PGSSLMODE: 'verify-full',
      COUNTERSIGN_DATABASE_AUTH: 'entra',
      COUNTERSIGN_DATABASE_CLIENT_ID: '7c1d0a1e-0000-4000-8000-000000000001',
    });
    assert.equal(s.kind, 'postgres');
    if (s.kind !== 'postgres') return;
    const password = async () => 'token';
    const c = postgresConnectionOf(s.postgres, password);
    assert.equal(c.password, password);
    assert.equal(c.sslMode, 'verify-full');
    assert.equal(describeTarget(c), 'postgres://countersign-app@cs.postgres.database.azure.com:6432/countersign');
  });

  it('a sslmode in the URL is honoured', () => {
    assert.equal(describeTarget({ url: 'postgres://u:secret@h:5433/d?sslmode=verify-full' }), 'postgres://u@h:5433/d');
  });

  it('refuses a URL query parameter it would not read, naming it (and the one meant), rather than ignoring it', () => {
    const open = (url: string) => {
      const s = readStoreSettings({ COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: url });
      assert.ok(s.kind === 'postgres');
      return postgresConnectionOf(s.postgres);
    };
    assert.throws(() => open('postgres://app@db.example/countersign?connect_timeout=5'), /COUNTERSIGN_DATABASE_URL or DATABASE_URL\) has the parameter "connect_timeout", which Countersign does not read: it reads only sslmode, sslrootcert, application_name/);
    assert.throws(() => open('postgres://app@db.example/countersign?sslmode=verify-full&target_session_attrs=read-write'), /"target_session_attrs"/);
    assert.throws(() => open('postgres://app@db.example/countersign?sslmod=verify-full'), /"sslmod" \(did you mean sslmode\?\)/);
    assert.throws(() => open('postgres://app@db.example/countersign?SSLMODE=verify-full'), /"SSLMODE" \(did you mean sslmode\?\)/);
    assert.throws(() => open('postgres://app@db.example/countersign?sslmode=disable&sslmode=verify-full'), /the parameter sslmode more than once/);
    // libpq's host=/var/run/postgresql (a Unix socket): named with the variable Countersign reads it from.
    assert.throws(() => open('postgres:///countersign?host=/var/run/postgresql'), /"host" \(set PGHOST instead, or write it in the URL's own place\)/);
    // Each refusal is the store's startup error, which the bot's start and every command report.
    assert.throws(() => poolConfig({ url: 'postgres://u@h/d?connect_timeout=5' }), /connect_timeout/);
  });

  it("honours the URL's application_name, ahead of PGAPPNAME", () => {
    const s = readStoreSettings({ COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: 'postgres://app@db.example/countersign?sslmode=verify-full&application_name=countersign-west', PGAPPNAME: 'from-env' });
    assert.ok(s.kind === 'postgres');
    assert.equal(poolConfig(postgresConnectionOf(s.postgres)).application_name, 'countersign-west');
    assert.equal(poolConfig({ host: 'h', applicationName: 'from-env' }).application_name, 'from-env');
  });

  it("trusts the certificate authorities the URL's sslrootcert names, as libpq does, ahead of PGSSLROOTCERT", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-rootcert-'));
    try {
      const urlCa = path.join(dir, 'url-ca.pem');
      const envCa = path.join(dir, 'env-ca.pem');
      writeFileSync(urlCa, '-----BEGIN CERTIFICATE-----\nfrom the URL\n-----END CERTIFICATE-----\n');
      writeFileSync(envCa, '-----BEGIN CERTIFICATE-----\nfrom PGSSLROOTCERT\n-----END CERTIFICATE-----\n');
      const connection = (env: NodeJS.ProcessEnv) => {
        const s = readStoreSettings({ COUNTERSIGN_STORE: 'postgres', ...env });
        assert.ok(s.kind === 'postgres');
        return postgresConnectionOf(s.postgres);
      };
      const url = `postgres://app@db.example/countersign?sslmode=verify-full&sslrootcert=${encodeURIComponent(urlCa)}`;
      assert.match(connection({ COUNTERSIGN_DATABASE_URL: url }).sslRootCert ?? '', /from the URL/);
      assert.match(connection({ COUNTERSIGN_DATABASE_URL: url, PGSSLROOTCERT: envCa }).sslRootCert ?? '', /from the URL/);
      assert.match(connection({ COUNTERSIGN_DATABASE_URL: 'postgres://app@db.example/countersign?sslmode=verify-full', PGSSLROOTCERT: envCa }).sslRootCert ?? '', /from PGSSLROOTCERT/);
      assert.throws(
        () => connection({ DATABASE_URL: `postgres://app@db.example/countersign?sslmode=verify-full&sslrootcert=${encodeURIComponent(path.join(dir, 'none.pem'))}` }),
        (e: Error) => e.message.startsWith(`the database URL's sslrootcert names ${path.join(dir, 'none.pem')}, which cannot be read`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes libpq's sslrootcert=system: the operating system's certificate authorities, the server's name checked", () => {
    const connection = (env: NodeJS.ProcessEnv) => {
      const s = readStoreSettings({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'cs.postgres.database.azure.com', ...env });
      assert.ok(s.kind === 'postgres');
      return postgresConnectionOf(s.postgres);
    };
    const system = tls.getCACertificates('system').join('\n');
    for (const env of [{ PGSSLROOTCERT: 'system' }, { PGSSLROOTCERT: 'system', PGSSLMODE: 'verify-full' }, { COUNTERSIGN_DATABASE_URL: 'postgres://app@cs.postgres.database.azure.com/countersign?sslrootcert=system' }]) {
      const c = connection(env);
      assert.equal(c.sslMode, 'verify-full', JSON.stringify(env));
      assert.equal(c.sslRootCert ?? '', system, JSON.stringify(env));
    }
    assert.throws(() => connection({ PGSSLROOTCERT: 'system', PGSSLMODE: 'require' }), /^PostgresStartupError: PGSSLROOTCERT is system \(the operating system's certificate authorities\), which checks the server's certificate: sslmode require does not; set PGSSLMODE \(or the URL's sslmode\) to verify-full/);
  });

  it('names the variable that is wrong', () => {
    const wrong = (env: NodeJS.ProcessEnv, variable: string, pattern: RegExp) =>
      assert.throws(() => readStoreSettings(env), (e: Error) => e instanceof SettingsError && e.variable === variable && pattern.test(e.message));
    wrong({ COUNTERSIGN_STORE: 'mysql' }, 'COUNTERSIGN_STORE', /must be sqlite or postgres/);
    wrong({ COUNTERSIGN_STORE: 'postgres' }, 'COUNTERSIGN_STORE', /set COUNTERSIGN_DATABASE_URL/);
    wrong({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'h', PGPORT: 'x' }, 'PGPORT', /port number/);
    wrong({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'h', PGSSLMODE: 'on' }, 'PGSSLMODE', /verify-full/);
    wrong({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'h', COUNTERSIGN_DATABASE_AUTH: 'entra', PGPASSWORD: 'p' }, 'PGPASSWORD', /remove one of them/);
    wrong({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'h', COUNTERSIGN_DATABASE_MIGRATE: 'yes' }, 'COUNTERSIGN_DATABASE_MIGRATE', /auto, always or never/);
    wrong({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'h', COUNTERSIGN_DATABASE_AUTH: 'entra', COUNTERSIGN_DATABASE_CLIENT_ID: 'countersign-identity' }, 'COUNTERSIGN_DATABASE_CLIENT_ID', /must be the client id \(a GUID\).*got "countersign-identity"/);
    wrong({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'h', COUNTERSIGN_DATABASE_AUTH: 'entra', AZURE_CLIENT_ID: 'x' }, 'AZURE_CLIENT_ID', /must be the client id \(a GUID\)/);
    wrong({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'h', COUNTERSIGN_DATABASE_SCHEMA: 'cs-prod' }, 'COUNTERSIGN_DATABASE_SCHEMA', /letters, digits and underscores.*got "cs-prod"/);
    wrong({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'h', COUNTERSIGN_DATABASE_SCHEMA: '1st' }, 'COUNTERSIGN_DATABASE_SCHEMA', /not starting with a digit/);
  });

  it('names the URL variable and the part whose % is not percent-encoding, never its value', () => {
    const refused = (env: NodeJS.ProcessEnv) => {
      try {
        readStoreSettings({ COUNTERSIGN_STORE: 'postgres', ...env });
      } catch (err) {
        assert.ok(err instanceof SettingsError, String(err));
        return err;
      }
      assert.fail('accepted');
    };
    const password = refused({ COUNTERSIGN_DATABASE_URL: 'postgres://postgres:TopSecret%zzPw99@127.0.0.1/db' });
    assert.equal(password.variable, 'COUNTERSIGN_DATABASE_URL');
    assert.equal(password.message, 'COUNTERSIGN_DATABASE_URL: the password in the URL holds a % that is not percent-encoding (a % and two hex digits of UTF-8): write a % itself as %25');
    assert.doesNotMatch(password.message, /TopSecret|Pw99/);
    const database = refused({ DATABASE_URL: 'postgres://app@db.example/count%ersign' });
    assert.equal(database.variable, 'DATABASE_URL');
    assert.match(database.message, /^DATABASE_URL: the database name in the URL holds a %/);
    assert.match(refused({ DATABASE_URL: 'postgres://us%FFer@h/d' }).message, /the user name in the URL/);
    // Percent-encoding that decodes is read as before.
    assert.equal(readStoreSettings({ COUNTERSIGN_STORE: 'postgres', DATABASE_URL: 'postgres://u:p%25w@h/d' }).kind, 'postgres');
  });
});
