/**
 * Process settings from the environment: the one place that reads environment variables and maps them
 * to options (everything about commands, roles and policy lives in the YAML config file instead).
 * Each process has its reader: the bot (`readSettings`, bot.ts), the `countersign` command
 * (`readCliSettings`, cli.ts) and the standalone ARM sandbox (`readSandboxSettings`, sandbox.ts);
 * everything else receives options. The variables are read per area: the Bot Framework identity and
 * Teams (teams.ts), Azure (azure.ts), the ARM sandbox (sandbox.ts), the store (store.ts), where the
 * config and data are (files.ts), each with the readers of values.ts.
 *
 * An empty variable means "not set", for every variable: `COUNTERSIGN_CONFIG=` is the default config.
 * Each variable is read by its name written out, through `variable()` (or as a property of `env`):
 * test/settings/settings.test.ts finds them all by that spelling and reads each one empty as unset.
 */
export { publicUrlWarning, readPublicUrl, readSettings, secretValues, type Settings } from './bot';
export { readCliSettings, type CliSettings } from './cli';
export { type AzureCredentialEnv } from './azure';
export { databaseFile, DEFAULT_CONFIG_PATH } from './files';
export { readSandboxSettings, type ArmSandboxEnv } from './sandbox';
export { readStoreSettings, type PostgresSettings, type StoreSettings } from './store';
export { SettingsError } from './values';
