/**
 * The defaults docs/operations.md gives the environment variables are the ones the code takes when a
 * variable is unset: a default changed in src/settings/ (or a script) without the table, or the
 * other way round, fails here. A new row whose default is written as a value must be added below.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readSandboxSettings, readSettings } from '../../src/settings';
import { DEFAULT_TIMING } from '../../src/sandbox/context';
import { playgroundBrowserSetting, playgroundPortSetting } from '../../scripts/local-trial-file';
import { DEFAULT_CHROMIUM } from '../../scripts/test-setup';

const ROOT = path.resolve(__dirname, '..', '..');
const operations = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');

/** The settings table's rows of one variable: its name and its Default cell. */
function defaultsOfSingleVariables(): Map<string, string> {
  const table = operations.slice(operations.indexOf('\n| Variable | Default | Meaning |'));
  const rows = new Map<string, string>();
  for (const line of table.split('\n').slice(3)) {
    if (!line.startsWith('|')) break;
    const [name, shown] = line.slice(2).split(' | ');
    const single = /^`([A-Za-z_0-9]+)`$/.exec(name);
    if (single) rows.set(single[1], shown);
  }
  return rows;
}

/** A default as the code holds it: `60s` as milliseconds, `3978` as a number, `empty` as ''. */
function asValue(shown: string): unknown {
  if (shown === 'empty') return '';
  const code = /^`([^`]*)`$/.exec(shown)?.[1];
  if (code === undefined) return undefined;
  const duration = /^(\d+)(ms|s|m|h|d)$/.exec(code);
  if (duration) return Number(duration[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 'ms']!;
  if (/^\d+$/.test(code)) return Number(code);
  if (code === 'false' || code === 'true') return code === 'true';
  return code;
}

const unset = readSettings({});
/** What the code takes for each variable when it is unset. */
const TAKEN: Record<string, unknown> = {
  PORT: unset.port,
  COUNTERSIGN_HOST: unset.host,
  COUNTERSIGN_CONFIG: path.relative(process.cwd(), unset.configPath),
  COUNTERSIGN_DATA_DIR: `./${path.relative(process.cwd(), unset.dataDir)}`,
  // Built on the address listened on.
  COUNTERSIGN_PUBLIC_URL: unset.publicUrl.replace(`${unset.host}:${unset.port}`, '<host>:<port>'),
  COUNTERSIGN_EXECUTION_LEASE: unset.executionLeaseMs,
  LOG_LEVEL: unset.logLevel,
  APPLICATIONINSIGHTS_CONNECTION_STRING: unset.applicationInsightsConnectionString,
  COUNTERSIGN_INSTANCES: unset.instances,
  COUNTERSIGN_AZURE_TIMEOUT: unset.azureTimeoutMs,
  COUNTERSIGN_TEAMS_SEND_TIMEOUT: unset.teamsSendTimeoutMs,
  COUNTERSIGN_STORE_LOCK_WAIT: unset.storeLockWaitMs,
  COUNTERSIGN_AUDIT_EXPORT_IDLE: unset.auditExportIdleMs,
  COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE: unset.auditExportsAtOnce,
  COUNTERSIGN_DIALOG_STATE_MAX: unset.dialogStateMaxEntries,
  COUNTERSIGN_DIALOG_STATE_TTL: unset.dialogStateTtlMs,
  COUNTERSIGN_REQUESTS_PER_HOUR: unset.requestsPerPersonPerHour,
  MicrosoftAppId: unset.microsoftApp.id,
  COUNTERSIGN_INSECURE_NO_AUTH: unset.insecureNoAuth,
  MicrosoftAppType: unset.microsoftApp.type,
  MicrosoftAppTenantId: unset.microsoftApp.tenantId,
  MicrosoftAppPassword: unset.microsoftApp.password,
  // scripts/local.ts runs the trial when loaded: its default is read from its source.
  M365_AGENTS_PLAYGROUND_CONFIG_PATH: /path\.resolve\(__dirname, '\.\.', 'playground', '\.m365agentsplayground\.yml'\)/.test(readFileSync(path.join(ROOT, 'scripts', 'local.ts'), 'utf8')) ? 'playground/.m365agentsplayground.yml' : 'another file',
  CHROMIUM_PATH: DEFAULT_CHROMIUM,
};

describe('docs/operations.md: the defaults of the environment variables', () => {
  const rows = defaultsOfSingleVariables();

  it('reads the table', () => {
    assert.ok(rows.size > 20 && rows.get('PORT') === '`3978`', [...rows].join('\n'));
  });

  it('gives each variable the default the code takes when it is unset', () => {
    for (const [name, shown] of rows) {
      const documented = asValue(shown);
      if (documented === undefined) continue; // described in words ("botbuilder's default", "derived", "—")
      assert.ok(name in TAKEN, `operations.md gives ${name} the default ${shown}: add what the code takes to this test`);
      assert.deepEqual(TAKEN[name], documented, `operations.md gives ${name} the default ${shown}`);
    }
  });

  it('and those of the rows that name several: the standalone sandbox and the local trial', () => {
    const sandbox = readSandboxSettings({});
    assert.ok(operations.includes(`| \`ARM_SANDBOX_PORT\`, \`ARM_SANDBOX_HOST\`, \`ARM_SANDBOX_STEP_MS\` | \`${sandbox.port}\` (any free port), \`${sandbox.host}\`, \`${DEFAULT_TIMING.deploymentStepMs}\` |`));
    assert.ok(operations.includes(`| \`PLAYGROUND_PORT\`, \`TEAMSAPPTESTER_BROWSER\` | \`${playgroundPortSetting({})}\`, \`${playgroundBrowserSetting({})}\` |`));
  });
});
