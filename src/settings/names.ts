/**
 * Variables meant for Countersign that it does not read: a name under its prefix it has no setting
 * of (`COUNTERSIGN_CONFG`, `COUNTERSIGN_LOCK_WAIT`), or a setting's name in other letters
 * (`MicrosoftAppID`, `MICROSOFT_APP_ID`). Such a variable was ignored without a word: the bot started
 * on the example config in sandbox mode, or with one instance's share of Teams' rate limits, while
 * the operator believed it set. A start (and the `countersign` command) is refused instead, naming it.
 */
import { SettingsError } from './values';

/** Every variable the bot, the `countersign` command and the ARM sandbox read (settings.test.ts holds this to the sources). */
export const SETTINGS_VARIABLES = [
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'ARM_SANDBOX_CA_FILE',
  'ARM_SANDBOX_HOST',
  'ARM_SANDBOX_PORT',
  'ARM_SANDBOX_STEP_MS',
  'ARM_SANDBOX_SUBSCRIPTION_ID',
  'ARM_SANDBOX_URL',
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_TENANT_ID',
  'BotOpenIdMetadata',
  'COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE',
  'COUNTERSIGN_AUDIT_EXPORT_IDLE',
  'COUNTERSIGN_AZURE_TIMEOUT',
  'COUNTERSIGN_CONFIG',
  'COUNTERSIGN_DATABASE_AUTH',
  'COUNTERSIGN_DATABASE_CLIENT_ID',
  'COUNTERSIGN_DATABASE_MIGRATE',
  'COUNTERSIGN_DATABASE_POOL_SIZE',
  'COUNTERSIGN_DATABASE_SCHEMA',
  'COUNTERSIGN_DATABASE_TOKEN_SCOPE',
  'COUNTERSIGN_DATABASE_URL',
  'COUNTERSIGN_DATA_DIR',
  'COUNTERSIGN_DIALOG_STATE_MAX',
  'COUNTERSIGN_DIALOG_STATE_TTL',
  'COUNTERSIGN_EXECUTION_LEASE',
  'COUNTERSIGN_HOST',
  'COUNTERSIGN_INSECURE_NO_AUTH',
  'COUNTERSIGN_INSTANCES',
  'COUNTERSIGN_PUBLIC_URL',
  'COUNTERSIGN_REQUESTS_PER_HOUR',
  'COUNTERSIGN_STORE',
  'COUNTERSIGN_STORE_LOCK_WAIT',
  'COUNTERSIGN_TEAMS_SEND_TIMEOUT',
  'DATABASE_URL',
  'LOG_LEVEL',
  'MicrosoftAppId',
  'MicrosoftAppPassword',
  'MicrosoftAppTenantId',
  'MicrosoftAppType',
  'PGAPPNAME',
  'PGDATABASE',
  'PGHOST',
  'PGPASSWORD',
  'PGPORT',
  'PGSSLMODE',
  'PGSSLROOTCERT',
  'PGUSER',
  'PORT',
  'USER',
  'USERNAME',
] as const;

/** The development tools' own variables (scripts/node24.sh, the tests, the benchmarks): not the product's settings. */
const TOOL_VARIABLES = ['COUNTERSIGN_NODE24_DIR', 'COUNTERSIGN_NODE24_VERSION', 'COUNTERSIGN_TEST_PG_URL', 'COUNTERSIGN_TEST_MIGRATE_COUNT', 'COUNTERSIGN_BENCH_PG_URL'];

const PREFIX = 'COUNTERSIGN_';

/**
 * The settings a variable in other letters is taken for a slip of: Countersign's own, the bot's
 * identity and the sandbox's. Generic names (PORT, USER, LOG_LEVEL, DATABASE_URL, PG*, AZURE_*) are
 * also read by other software on the same machine, spelt its own way: `LOGLEVEL` or `port` set for
 * another program must not stop a start.
 */
const OURS_IN_OTHER_LETTERS = /^(COUNTERSIGN_|Microsoft|ARM_SANDBOX_)/;

/** A name as it reads to a person: the case and the underscores left out. */
const letters = (name: string) => name.replace(/_/g, '').toUpperCase();

/** The one edit distance this leaf module needs (settings imports nothing of the domain). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length];
}

/** The setting a misspelt name is closest to, when it is close enough to be a slip (a third of its letters at most). */
function nearest(name: string): string | undefined {
  const typed = letters(name);
  let best: { name: string; d: number } | undefined;
  for (const known of SETTINGS_VARIABLES) {
    const d = distance(typed, letters(known));
    if (!best || d < best.d) best = { name: known, d };
  }
  return best && best.d <= Math.max(2, Math.floor(typed.length / 3)) ? best.name : undefined;
}

/**
 * Throws a SettingsError for the first variable of `env` meant for Countersign that it does not read
 * (an empty one too: it is as likely a slip). Names are told apart by case where the system does
 * (not on Windows, where `env` finds a variable whatever its case).
 */
export function checkVariableNames(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): void {
  const known = new Set<string>([...SETTINGS_VARIABLES, ...TOOL_VARIABLES]);
  // Only the names that can be nobody else's: a platform's own LOGLEVEL, port or user is not taken for ours.
  const byLetters = new Map(SETTINGS_VARIABLES.filter((name) => OURS_IN_OTHER_LETTERS.test(name)).map((name) => [letters(name), name]));
  for (const name of Object.keys(env).sort()) {
    if (known.has(name)) continue;
    const same = byLetters.get(letters(name));
    if (same !== undefined) {
      if (platform === 'win32' && same.toUpperCase() === name.toUpperCase()) continue;
      throw new SettingsError(name, `is not a setting Countersign reads, so it would be ignored: the variable is ${same}, spelt exactly so (rename it)`);
    }
    if (name.toUpperCase().startsWith(PREFIX)) {
      const guess = nearest(name);
      throw new SettingsError(
        name,
        `is not a setting Countersign reads, so it would be ignored${guess ? ` (did you mean ${guess}?)` : ''}: rename it, or unset it (docs/operations.md lists every setting)`,
      );
    }
  }
}
