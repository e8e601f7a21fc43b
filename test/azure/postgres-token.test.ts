import assert from 'node:assert/strict';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { entraDatabasePassword, POSTGRES_ENTRA_SCOPE } from '../../src/azure';
import { poolConfig } from '../../src/store/postgres/connection';
import { readSettings } from '../../src/settings';

/** A TokenCredential that hands out numbered tokens valid for an hour of the fake clock. */
function fakeCredential(clock: { now: number }, fail = false) {
  const calls: string[][] = [];
  const credential: TokenCredential = {
    async getToken(scopes): Promise<AccessToken> {
      calls.push([scopes].flat());
      if (fail) throw new Error('ManagedIdentityCredential: no managed identity endpoint found');
      await new Promise((r) => setTimeout(r, 5));
      return { token: `token-${calls.length}`, expiresOnTimestamp: clock.now + 3600_000 };
    },
  };
  return { credential, calls };
}

describe('Microsoft Entra tokens as the PostgreSQL password', () => {
  it('asks for the Azure Database for PostgreSQL scope and reuses the token while it is fresh', async () => {
    const clock = { now: 1_000_000 };
    const { credential, calls } = fakeCredential(clock);
    const password = entraDatabasePassword(credential, { now: () => clock.now });
    assert.equal(await password(), 'token-1');
    clock.now += 50 * 60_000;
    assert.equal(await password(), 'token-1');
    assert.deepEqual(calls, [[POSTGRES_ENTRA_SCOPE]]);
    assert.equal(POSTGRES_ENTRA_SCOPE, 'https://ossrdbms-aad.database.windows.net/.default');
  });

  it("asks a sovereign cloud's scope when COUNTERSIGN_DATABASE_TOKEN_SCOPE names one, and names it when the token cannot be had", async () => {
    const scope = 'https://ossrdbms-aad.database.usgovcloudapi.net/.default';
    const read = readSettings({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'db.example', COUNTERSIGN_DATABASE_AUTH: 'entra', COUNTERSIGN_DATABASE_TOKEN_SCOPE: scope }).store;
    assert.equal(read.kind === 'postgres' ? read.postgres.entraScope : undefined, scope);
    const clock = { now: 1_000_000 };
    const { credential, calls } = fakeCredential(clock);
    assert.equal(await entraDatabasePassword(credential, { scope, now: () => clock.now })(), 'token-1');
    assert.deepEqual(calls, [[scope]]);
    await assert.rejects(entraDatabasePassword(fakeCredential(clock, true).credential, { scope })(), /could not get a Microsoft Entra token for PostgreSQL \(scope https:\/\/ossrdbms-aad\.database\.usgovcloudapi\.net\/\.default\)/);
    for (const wrong of ['ossrdbms-aad.database.usgovcloudapi.net', 'http://ossrdbms-aad.database.usgovcloudapi.net/.default', 'https://ossrdbms-aad.database.usgovcloudapi.net/']) {
      assert.throws(
        () => readSettings({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'db.example', COUNTERSIGN_DATABASE_AUTH: 'entra', COUNTERSIGN_DATABASE_TOKEN_SCOPE: wrong }),
        /COUNTERSIGN_DATABASE_TOKEN_SCOPE: must be the https scope of the cloud's Azure Database for PostgreSQL, ending in \/\.default/,
        wrong,
      );
    }
  });

  it('fetches a new token five minutes before the cached one expires', async () => {
    const clock = { now: 1_000_000 };
    const { credential, calls } = fakeCredential(clock);
    const password = entraDatabasePassword(credential, { now: () => clock.now });
    await password();
    clock.now += 55 * 60_000 + 1;
    assert.equal(await password(), 'token-2');
    assert.equal(calls.length, 2);
  });

  it('makes one token request for connections opened together', async () => {
    const clock = { now: 0 };
    const { credential, calls } = fakeCredential(clock);
    const password = entraDatabasePassword(credential, { now: () => clock.now });
    assert.deepEqual(await Promise.all([password(), password(), password()]), ['token-1', 'token-1', 'token-1']);
    assert.equal(calls.length, 1);
  });

  it('says what to check when no token can be had', async () => {
    const { credential } = fakeCredential({ now: 0 }, true);
    await assert.rejects(entraDatabasePassword(credential)(), /could not get a Microsoft Entra token for PostgreSQL .*no managed identity endpoint.*COUNTERSIGN_DATABASE_CLIENT_ID/);
  });

  it('is given to the pool as the password function, which pg calls for each new connection', () => {
    // The local server's trust authentication never asks for a password, so this checks the hand-over.
    const password = entraDatabasePassword(fakeCredential({ now: 0 }).credential);
    const config = poolConfig({ url: 'postgres://countersign-app@cs.postgres.database.azure.com/countersign?sslmode=verify-full', password });
    assert.equal(config.password, password);
    assert.deepEqual(config.ssl, { rejectUnauthorized: true });
  });
});
