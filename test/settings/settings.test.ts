/**
 * src/settings/ is the one place that reads the environment. An empty variable means "not set" for
 * every variable and every process (the bot, the `countersign` command, the standalone ARM sandbox):
 * before, `COUNTERSIGN_CONFIG=` was the default config for the bot but an empty path for the CLI, and
 * `PORT=` was port 0.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { readCliSettings, readSandboxSettings, readSettings, readStoreSettings } from '../../src/settings';
import { checkVariableNames, SETTINGS_VARIABLES } from '../../src/settings/names';

/**
 * Every variable src/settings/ reads, found in its source as it reads them (`variable(env, 'NAME')`,
 * `readPort(env, 'NAME', …)`, `env.NAME`): a variable added there is held to "empty means not set"
 * below without being listed here.
 */
const folder = path.resolve(__dirname, '../../src/settings');
const source = readdirSync(folder).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(path.join(folder, f), 'utf8')).join('\n');
const VARIABLES = [...new Set([...source.matchAll(/\(env, '([^']+)'/g), ...source.matchAll(/\benv\.([A-Za-z_]\w*)/g), ...source.matchAll(/\benv\[['"]([^'"]+)['"]\]/g)].map((m) => m[1]))].sort();

/** Everything the three processes read from `env`, the command's lazily read parts included. */
function readAll(env: NodeJS.ProcessEnv) {
  const { readStore, readArmSandbox, readAzureTimeout, ...cli } = readCliSettings(env);
  return { bot: readSettings(env), cli, cliStore: readStore(), cliSandbox: readArmSandbox(), cliAzureTimeout: readAzureTimeout(), sandbox: readSandboxSettings(env), store: readStoreSettings(env) };
}

/**
 * Environments that between them take every path on which src/settings/ reads a variable: the PG* and
 * COUNTERSIGN_DATABASE_* variables are read only for COUNTERSIGN_STORE=postgres, and PGHOST and the
 * URL each with the other set.
 */
const BASES: NodeJS.ProcessEnv[] = [
  {},
  { COUNTERSIGN_STORE: 'postgres', PGHOST: 'db.example' },
  { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: 'postgres://countersign@db.example/countersign' },
];

/** The variables `readAll` reads from `env`, seen through a proxy. */
function readsOf(env: NodeJS.ProcessEnv): string[] {
  const seen = new Set<string>();
  readAll(new Proxy(env, { get: (target, name) => (typeof name === 'string' && seen.add(name), Reflect.get(target, name)) }));
  return [...seen];
}

describe('settings: the environment, read in one place', () => {
  it('finds every variable src/settings/ reads, and reads each on a path the test takes', () => {
    const read = [...new Set(BASES.flatMap(readsOf))].sort();
    // A read the scan misses (a name built or looped over) would go unchecked; a name the bases never
    // reach would be checked for nothing. Either way: spell it as the file does, or add a base.
    assert.deepEqual(VARIABLES, read);
    assert.ok(VARIABLES.includes('COUNTERSIGN_REQUESTS_PER_HOUR') && VARIABLES.includes('PGAPPNAME') && VARIABLES.includes('MicrosoftAppId'), VARIABLES.join(' '));
  });

  it('refuses a variable meant for Countersign that it does not read, naming it and the setting meant, rather than ignoring it', () => {
    // The list names check against is every variable read, as the sources read them.
    assert.deepEqual([...SETTINGS_VARIABLES].sort(), VARIABLES);
    // COUNTERSIGN_CONFG was ignored: the bot started on the example config, in sandbox mode.
    assert.throws(() => readSettings({ COUNTERSIGN_CONFG: '/etc/countersign/prod.yaml' }), {
      name: 'SettingsError',
      message: 'COUNTERSIGN_CONFG: is not a setting Countersign reads, so it would be ignored (did you mean COUNTERSIGN_CONFIG?): rename it, or unset it (docs/operations.md lists every setting)',
    });
    assert.throws(() => readCliSettings({ COUNTERSIGN_CONFG: 'prod.yaml' }), /^SettingsError: COUNTERSIGN_CONFG: .*did you mean COUNTERSIGN_CONFIG\?/);
    assert.throws(() => readSettings({ COUNTERSIGN_INSTANCE: '3' }), /did you mean COUNTERSIGN_INSTANCES\?/);
    assert.throws(() => readSettings({ countersign_store: 'postgres' }), /^SettingsError: countersign_store: is not a setting Countersign reads, so it would be ignored: the variable is COUNTERSIGN_STORE, spelt exactly so/);
    // Far from every setting: no guess, refused all the same.
    assert.throws(() => readSettings({ COUNTERSIGN_LOCKWAIT_SECONDS: '5' }), { message: 'COUNTERSIGN_LOCKWAIT_SECONDS: is not a setting Countersign reads, so it would be ignored: rename it, or unset it (docs/operations.md lists every setting)' });
    // A setting in other letters (Bot Framework's samples and other SDKs spell them so).
    for (const name of ['MicrosoftAppID', 'MICROSOFT_APP_ID', 'microsoftapppassword']) {
      assert.throws(() => readSettings({ [name]: 'x' }), new RegExp(`^SettingsError: ${name}: .*the variable is Microsoft`));
    }
    // Windows finds a variable whatever its case; the tools' own variables and unrelated ones are left alone.
    assert.doesNotThrow(() => checkVariableNames({ MicrosoftAppID: 'x' }, 'win32'));
    assert.doesNotThrow(() => readSettings({ COUNTERSIGN_NODE24_DIR: '/cache', COUNTERSIGN_TEST_PG_URL: 'postgres://x', HOME: '/home/x', NODE_ENV: 'production' }));
    // Generic names other software on the machine reads, spelt its own way, are not taken for ours.
    assert.doesNotThrow(() => readSettings({ LOGLEVEL: 'debug', port: '8080', user: 'x', DATABASEURL: 'x', PG_USER: 'x', AZURECLIENTID: 'x' }));
  });

  it('documents every variable it reads, in operations.md or (the database\'s) postgresql.md', () => {
    const docs = ['operations.md', 'postgresql.md'].map((f) => readFileSync(path.resolve(__dirname, '../../docs', f), 'utf8')).join('\n');
    assert.deepEqual(VARIABLES.filter((name) => !docs.includes(`\`${name}\``)), []);
  });

  it('takes every empty variable as not set, for the bot, the command line and the sandbox', () => {
    for (const base of BASES) {
      const expected = readAll(base);
      const others = VARIABLES.filter((name) => !(name in base));
      for (const name of others) assert.deepEqual(readAll({ ...base, [name]: '' }), expected, `${name}= is read as set (with ${JSON.stringify(base)})`);
      assert.deepEqual(readAll({ ...Object.fromEntries(others.map((name) => [name, ''])), ...base }), expected);
    }
  });

  it('gives the bot and the command line the same default config when COUNTERSIGN_CONFIG is empty', () => {
    const example = path.resolve('config/countersign.example.yaml');
    assert.equal(readSettings({ COUNTERSIGN_CONFIG: '' }).configPath, example);
    assert.equal(readCliSettings({ COUNTERSIGN_CONFIG: '' }).configPath, example);
    assert.equal(readCliSettings({ COUNTERSIGN_CONFIG: 'other.yaml' }).configPath, path.resolve('other.yaml'));
  });

  it('listens on the default port when PORT is empty, not on a random one', () => {
    assert.equal(readSettings({ PORT: '' }).port, 3978);
    assert.equal(readSettings({ PORT: '0' }).port, 0);
  });

  it('takes a port only in digits: a blank PORT is not a random port, nor 0x50 port 80', () => {
    assert.equal(readSettings({ PORT: ' 8080 ' }).port, 8080);
    for (const text of [' ', '0x50', '8e3', '80.0', '-1', '65536']) {
      assert.throws(() => readSettings({ PORT: text }), { message: `PORT: must be a port number from 0 to 65535, in digits, got "${text}"` });
      assert.throws(() => readSandboxSettings({ ARM_SANDBOX_PORT: text }), /^SettingsError: ARM_SANDBOX_PORT: must be a port number/);
    }
    // The standalone sandbox's pace, likewise: a blank is not 0 (every deployment over at once).
    assert.equal(readSandboxSettings({ ARM_SANDBOX_STEP_MS: ' 250 ' }).stepMs, 250);
    for (const text of [' ', '1e3', '0x10', '2.5', '-1', '400ms']) {
      assert.throws(() => readSandboxSettings({ ARM_SANDBOX_STEP_MS: text }), { message: `ARM_SANDBOX_STEP_MS: must be a whole number of milliseconds, in digits, such as 400, got "${text}"` });
    }
    const pg = { COUNTERSIGN_STORE: 'postgres', PGHOST: 'db.example' };
    assert.equal((readStoreSettings({ ...pg, PGPORT: '6432' }) as { postgres: { port?: number } }).postgres.port, 6432);
    for (const text of [' ', '0x1538', '5.4e3', '0']) {
      assert.throws(() => readStoreSettings({ ...pg, PGPORT: text }), { message: `PGPORT: must be a port number from 1 to 65535, in digits, got "${text}"` });
    }
  });

  it('refuses a config or data path with white space at an end (a new, empty data folder "countersign " was started on)', () => {
    for (const name of ['COUNTERSIGN_DATA_DIR', 'COUNTERSIGN_CONFIG']) {
      for (const read of [readSettings, readCliSettings]) {
        assert.throws(() => read({ [name]: '/var/lib/countersign ' }), { name: 'SettingsError', message: `${name}: has white space at its start or end ("/var/lib/countersign "), which would be part of the path: remove it` });
        assert.throws(() => read({ [name]: ' ' }), { message: `${name}: is only white space (" "): leave it empty or unset it for the default, or give the path` });
      }
    }
    assert.equal(readSettings({ COUNTERSIGN_DATA_DIR: '/var/lib/my countersign' }).dataDir, '/var/lib/my countersign');
  });

  it('keeps the data directory default and says when it came from COUNTERSIGN_DATA_DIR', () => {
    assert.deepEqual([readCliSettings({ COUNTERSIGN_DATA_DIR: '' }).dataDir, readCliSettings({ COUNTERSIGN_DATA_DIR: '' }).dataDirFromEnv], ['data', false]);
    assert.deepEqual([readCliSettings({ COUNTERSIGN_DATA_DIR: 'var/cs' }).dataDir, readCliSettings({ COUNTERSIGN_DATA_DIR: 'var/cs' }).dataDirFromEnv], ['var/cs', true]);
  });

  it('reads how many instances share Teams\' rate limits, 1 unless COUNTERSIGN_INSTANCES says otherwise', () => {
    assert.equal(readSettings({}).instances, 1);
    assert.equal(readSettings({ COUNTERSIGN_INSTANCES: '' }).instances, 1);
    assert.equal(readSettings({ COUNTERSIGN_INSTANCES: '3' }).instances, 3);
    // Past any deployment's size, or not written in digits (1e9, 0x50 read as numbers before).
    for (const bad of ['0', 'two', '1.5', '-2', '101', '1e9', '0x50']) {
      assert.throws(() => readSettings({ COUNTERSIGN_INSTANCES: bad }), /COUNTERSIGN_INSTANCES: must be a whole number from 1 to 100, in digits/);
    }
  });

  it('takes COUNTERSIGN_PUBLIC_URL only as an http(s) URL with a host, and names anything else', () => {
    assert.equal(readSettings({ PORT: '4000' }).publicUrl, 'http://127.0.0.1:4000');
    assert.equal(readSettings({ COUNTERSIGN_PUBLIC_URL: 'https://countersign.example.com/' }).publicUrl, 'https://countersign.example.com');
    assert.equal(readSettings({ COUNTERSIGN_PUBLIC_URL: 'https://example.com/bots/countersign' }).publicUrl, 'https://example.com/bots/countersign');
    // A space around it (a .env line) is not kept in the links built on it.
    assert.equal(readSettings({ COUNTERSIGN_PUBLIC_URL: ' https://countersign.example.com/ ' }).publicUrl, 'https://countersign.example.com');
    for (const bad of ['notaurl', 'countersign.example.com', 'ftp://example.com', 'https://example.com/?x=1', 'https://example.com/#top', 'https://user:pw@example.com']) {
      assert.throws(() => readSettings({ COUNTERSIGN_PUBLIC_URL: bad }), new RegExp(`COUNTERSIGN_PUBLIC_URL: must .*got "${bad.replace(/[.?*+^$()|[\]\\]/g, '\\$&')}"`));
    }
  });

  it('says a duration setting takes a whole number when given a fraction, rather than that it is out of range', () => {
    assert.throws(() => readSettings({ COUNTERSIGN_EXECUTION_LEASE: '1.5s' }), /COUNTERSIGN_EXECUTION_LEASE: .*\(a whole number followed by ms, s, m, h or d\), got "1\.5s"/);
    assert.throws(() => readSettings({ COUNTERSIGN_TEAMS_SEND_TIMEOUT: '2.5s' }), /COUNTERSIGN_TEAMS_SEND_TIMEOUT: .*\(a whole number followed by ms or s\), got "2\.5s"/);
    assert.throws(() => readSettings({ COUNTERSIGN_AZURE_TIMEOUT: '2.5s' }), /COUNTERSIGN_AZURE_TIMEOUT: must be a duration of at least 1s such as 30s, 60s or 2m .*got "2\.5s"/);
    // A bound above: one ARM call that long is lost; a timer past Node's 24.8 days fires every millisecond.
    assert.throws(() => readSettings({ COUNTERSIGN_AZURE_TIMEOUT: '1200h' }), /COUNTERSIGN_AZURE_TIMEOUT: must be at most 10m: one call to ARM that long is lost, not slow .*got "1200h"/);
    assert.equal(readSettings({ COUNTERSIGN_AZURE_TIMEOUT: '10m' }).azureTimeoutMs, 600_000);
    assert.throws(() => readSettings({ COUNTERSIGN_DIALOG_STATE_TTL: '25h' }), /COUNTERSIGN_DIALOG_STATE_TTL: must be at most 24h/);
    // The lease is renewed every third of it: 200000m set a renewal timer past Node's maximum, which
    // fired every millisecond, and the execution never ended.
    assert.throws(() => readSettings({ COUNTERSIGN_EXECUTION_LEASE: '200000m' }), /^SettingsError: COUNTERSIGN_EXECUTION_LEASE: must be at most 1h: after a crash the execution waits that long to be taken over .*got "200000m"$/);
    assert.throws(() => readSettings({ COUNTERSIGN_EXECUTION_LEASE: '61m' }), /COUNTERSIGN_EXECUTION_LEASE: must be at most 1h/);
    // Days, as the YAML config writes durations: a value past the bound is told so, not that it is too short.
    assert.throws(() => readSettings({ COUNTERSIGN_EXECUTION_LEASE: '2d' }), /^SettingsError: COUNTERSIGN_EXECUTION_LEASE: must be at most 1h: .*got "2d"$/);
    assert.equal(readSettings({ COUNTERSIGN_STORE_LOCK_WAIT: '1d' }).storeLockWaitMs, 86_400_000);
    assert.equal(readSettings({ COUNTERSIGN_DIALOG_STATE_TTL: '1d' }).dialogStateTtlMs, 86_400_000);
    assert.equal(readSettings({ COUNTERSIGN_EXECUTION_LEASE: '1h' }).executionLeaseMs, 3_600_000);
    assert.equal(readSettings({ COUNTERSIGN_EXECUTION_LEASE: '1500ms' }).executionLeaseMs, 1500);
    assert.equal(readSettings({}).executionLeaseMs, 60_000);
    assert.equal(readSettings({}).azureTimeoutMs, 30_000);
    assert.throws(() => readSettings({ ARM_SANDBOX_SUBSCRIPTION_ID: 'garbage' }), /ARM_SANDBOX_SUBSCRIPTION_ID: must be a subscription id \(a GUID, as the standalone sandbox prints it\), got "garbage"/);
    assert.equal(readSettings({ COUNTERSIGN_AZURE_TIMEOUT: '45s' }).azureTimeoutMs, 45_000);
  });

  it('names APPLICATIONINSIGHTS_CONNECTION_STRING when it is not a connection string, and keeps one that is', () => {
    assert.equal(readSettings({}).applicationInsightsConnectionString, '');
    const good = 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/';
    assert.equal(readSettings({ APPLICATIONINSIGHTS_CONNECTION_STRING: ` ${good} ` }).applicationInsightsConnectionString, good);
    for (const bad of ['garbage', 'IngestionEndpoint=https://x.example/', 'InstrumentationKey']) {
      assert.throws(() => readSettings({ APPLICATIONINSIGHTS_CONNECTION_STRING: bad }), /APPLICATIONINSIGHTS_CONNECTION_STRING: must be an Application Insights connection string .*; leave it unset for no telemetry/);
    }
  });

  it('bounds each Bot Connector call to 15s unless COUNTERSIGN_TEAMS_SEND_TIMEOUT says otherwise, from 1s to 25s', () => {
    assert.equal(readSettings({}).teamsSendTimeoutMs, 15_000);
    assert.equal(readSettings({ COUNTERSIGN_TEAMS_SEND_TIMEOUT: '5s' }).teamsSendTimeoutMs, 5000);
    assert.equal(readSettings({ COUNTERSIGN_TEAMS_SEND_TIMEOUT: '2500ms' }).teamsSendTimeoutMs, 2500);
    assert.equal(readSettings({ COUNTERSIGN_TEAMS_SEND_TIMEOUT: '25s' }).teamsSendTimeoutMs, 25_000);
    for (const bad of ['500ms', '26s', '1m', '15', 'soon']) {
      assert.throws(() => readSettings({ COUNTERSIGN_TEAMS_SEND_TIMEOUT: bad }), new RegExp(`COUNTERSIGN_TEAMS_SEND_TIMEOUT: must be a duration from 1s to 25s such as 15s or 5000ms \\(a whole number followed by ms or s\\), got "${bad}"`));
    }
  });

  it('uses a running ARM sandbox only with both its URL and its certificate, and names the one missing', () => {
    const url = 'https://127.0.0.1:4999';
    const caFile = __filename; // any file that exists
    const readCli = (env: NodeJS.ProcessEnv) => ({ armSandbox: readCliSettings(env).readArmSandbox() });
    for (const read of [readSettings, readCli]) {
      assert.deepEqual(read({ ARM_SANDBOX_URL: url, ARM_SANDBOX_CA_FILE: caFile }).armSandbox, { url, caFile });
      assert.throws(() => read({ ARM_SANDBOX_URL: url }), /^SettingsError: ARM_SANDBOX_CA_FILE: must name the certificate PEM of the sandbox at ARM_SANDBOX_URL=https:\/\/127\.0\.0\.1:4999/);
      assert.throws(() => read({ ARM_SANDBOX_CA_FILE: caFile }), /^SettingsError: ARM_SANDBOX_URL: must be set with ARM_SANDBOX_CA_FILE=/);
      assert.throws(() => read({ ARM_SANDBOX_URL: url, ARM_SANDBOX_CA_FILE: '/nonexistent.pem' }), /^SettingsError: ARM_SANDBOX_CA_FILE: names \/nonexistent\.pem, which does not exist/);
    }
  });

  it('takes one of pino\'s levels from LOG_LEVEL, info unless set, and names anything else', () => {
    assert.equal(readSettings({}).logLevel, 'info');
    assert.equal(readSettings({ LOG_LEVEL: 'debug' }).logLevel, 'debug');
    assert.equal(readSettings({ LOG_LEVEL: 'silent' }).logLevel, 'silent');
    assert.throws(() => readSettings({ LOG_LEVEL: 'verbose' }), { message: 'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"' });
    assert.throws(() => readSettings({ LOG_LEVEL: 'INFO' }), /LOG_LEVEL: must be one of/);
  });

  it('hands the Azure credential only the variables that are set', () => {
    assert.deepEqual(readSettings({ AZURE_CLIENT_SECRET: 's', AZURE_CLIENT_ID: '', AZURE_TENANT_ID: 't' }).azureCredentialEnv, { AZURE_CLIENT_SECRET: 's', AZURE_TENANT_ID: 't' });
  });

  describe('the lint rule', function () {
    this.timeout(60_000);
    const eslint = new ESLint({ cwd: path.resolve(__dirname, '../..') });
    const ruleIds = async (code: string, filePath: string) => (await eslint.lintText(code, { filePath }))[0].messages.map((m) => m.ruleId);

    it('refuses process.env outside src/settings/', async () => {
      assert.deepEqual(await ruleIds('export const dir = process.env.COUNTERSIGN_DATA_DIR;\n', 'src/cli/example.ts'), ['no-restricted-properties']);
      assert.deepEqual(await ruleIds("import { env } from 'node:process';\nexport const dir = env.COUNTERSIGN_DATA_DIR;\n", 'src/azure/example.ts'), ['no-restricted-imports']);
    });

    it('allows it in src/settings/ and in tests', async () => {
      assert.deepEqual(await ruleIds('export const dir = process.env.COUNTERSIGN_DATA_DIR;\n', 'src/settings/store.ts'), []);
      assert.deepEqual(await ruleIds('export const dir = process.env.COUNTERSIGN_DATA_DIR;\n', 'test/example.ts'), []);
    });
  });
});
