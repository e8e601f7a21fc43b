import assert from 'node:assert/strict';
import { readSettings, SettingsError } from '../../src/settings';

describe('settings of the boundary limits', () => {
  it('defaults the dialog-state bound, its time to live and the request rate', () => {
    const s = readSettings({});
    assert.equal(s.dialogStateMaxEntries, 10_000);
    assert.equal(s.dialogStateTtlMs, 30 * 60_000);
    assert.equal(s.requestsPerPersonPerHour, 20);
    assert.equal(s.microsoftApp.openIdMetadataUrl, '');
  });

  it('reads them, and names the variable and the expected form when one is wrong', () => {
    const s = readSettings({ COUNTERSIGN_DIALOG_STATE_MAX: '500', COUNTERSIGN_DIALOG_STATE_TTL: '2h', COUNTERSIGN_REQUESTS_PER_HOUR: '3', BotOpenIdMetadata: 'https://login.example/openid' });
    assert.equal(s.dialogStateMaxEntries, 500);
    assert.equal(s.dialogStateTtlMs, 7_200_000);
    assert.equal(s.requestsPerPersonPerHour, 3);
    assert.equal(s.microsoftApp.openIdMetadataUrl, 'https://login.example/openid');
    assert.throws(() => readSettings({ COUNTERSIGN_DIALOG_STATE_MAX: '0' }), (e: Error) => e instanceof SettingsError && /COUNTERSIGN_DIALOG_STATE_MAX: must be a whole number from 1 to 1,000,000, in digits, got "0"/.test(e.message));
    assert.throws(() => readSettings({ COUNTERSIGN_DIALOG_STATE_TTL: 'forever' }), /COUNTERSIGN_DIALOG_STATE_TTL: must be a duration of at least 1s such as 30m, 45m or 2h \(a whole number followed by ms, s, m, h or d\), got "forever"/);
    assert.throws(() => readSettings({ COUNTERSIGN_REQUESTS_PER_HOUR: '2.5' }), /COUNTERSIGN_REQUESTS_PER_HOUR: must be a whole number/);
    assert.throws(() => readSettings({ COUNTERSIGN_REQUESTS_PER_HOUR: '1e308' }), /COUNTERSIGN_REQUESTS_PER_HOUR: must be a whole number from 1 to 1,000,000,000, in digits, got "1e308"/);
    assert.throws(() => readSettings({ COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: 'postgres://u@127.0.0.1/db', COUNTERSIGN_DATABASE_POOL_SIZE: '1000000' }), /COUNTERSIGN_DATABASE_POOL_SIZE: must be a whole number of connections from 1 to 100/);
  });

  it('refuses an OpenID metadata location that is no https URL, naming the variable (http only on loopback)', () => {
    assert.throws(() => readSettings({ BotOpenIdMetadata: 'notaurl' }), (e: Error) => e instanceof SettingsError && /^BotOpenIdMetadata: must be the https URL of the Bot Framework's OpenID metadata, .*got "notaurl"$/.test(e.message));
    assert.throws(() => readSettings({ BotOpenIdMetadata: 'http://login.example/openid' }), /BotOpenIdMetadata: must be an https URL \(http only on this machine's loopback \(localhost, 127\.0\.0\.0\/8 or ::1\)\), got "http:\/\/login\.example\/openid"$/);
    assert.throws(() => readSettings({ BotOpenIdMetadata: 'ftp://login.example/openid' }), /BotOpenIdMetadata: must be an https URL/);
    assert.equal(readSettings({ BotOpenIdMetadata: 'http://127.0.0.1:4000/v1/.well-known/openidconfiguration' }).microsoftApp.openIdMetadataUrl, 'http://127.0.0.1:4000/v1/.well-known/openidconfiguration');
  });

  it("suggests durations of each setting's own scale when one is wrong", () => {
    // A wait of about 5 s is not offered hours; the one without a lower bound does not claim 'at least 0 ms'.
    assert.equal(readSettings({ COUNTERSIGN_STORE_LOCK_WAIT: '750ms' }).storeLockWaitMs, 750);
    assert.throws(
      () => readSettings({ COUNTERSIGN_STORE_LOCK_WAIT: 'abc' }),
      (e: Error) => e instanceof SettingsError && e.message === 'COUNTERSIGN_STORE_LOCK_WAIT: must be a duration such as 5s, 10s or 500ms (a whole number followed by ms, s, m, h or d), got "abc"',
    );
    assert.throws(() => readSettings({ COUNTERSIGN_DIALOG_STATE_TTL: '500ms' }), /COUNTERSIGN_DIALOG_STATE_TTL: must be a duration of at least 1s such as 30m, 45m or 2h/);
    assert.throws(() => readSettings({ COUNTERSIGN_EXECUTION_LEASE: 'abc' }), /COUNTERSIGN_EXECUTION_LEASE: must be a duration of at least 1s such as 60s, 2m or 1500ms/);
    assert.throws(() => readSettings({ COUNTERSIGN_TEAMS_SEND_TIMEOUT: 'abc' }), /COUNTERSIGN_TEAMS_SEND_TIMEOUT: must be a duration from 1s to 25s such as 15s or 5000ms/);
    assert.equal(readSettings({}).auditExportIdleMs, 120_000);
    assert.equal(readSettings({ COUNTERSIGN_AUDIT_EXPORT_IDLE: '10m' }).auditExportIdleMs, 600_000);
    assert.throws(() => readSettings({ COUNTERSIGN_AUDIT_EXPORT_IDLE: '500ms' }), /COUNTERSIGN_AUDIT_EXPORT_IDLE: must be a duration of at least 1s such as 2m, 30s or 10m/);
    assert.equal(readSettings({}).auditExportsAtOnce, 2);
    assert.equal(readSettings({ COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE: '5' }).auditExportsAtOnce, 5);
    assert.throws(() => readSettings({ COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE: '0' }), /COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE: must be a whole number from 1 to 100, in digits, got "0"/);
  });
});
