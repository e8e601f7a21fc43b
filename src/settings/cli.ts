/** What the `countersign` command reads from the environment; the parts only some commands need are read when they do. */
import { type AzureCredentialEnv, readAzureCredentialEnv, readAzureTimeout } from './azure';
import { configPath, DEFAULT_DATA_DIR, pathVariable } from './files';
import { checkVariableNames } from './names';
import { type ArmSandboxEnv, readArmSandbox } from './sandbox';
import { readStoreSettings, type StoreSettings } from './store';
import { variable } from './values';

/** What the `countersign` command reads from the environment (the rest comes from its arguments). */
export interface CliSettings {
  /** COUNTERSIGN_CONFIG, else the example config, as an absolute path. */
  configPath: string;
  /** Whether the config path came from COUNTERSIGN_CONFIG (error messages say where it came from). */
  configFromEnv: boolean;
  /** COUNTERSIGN_DATA_DIR, else `data`; relative to the command's working directory. */
  dataDir: string;
  /** Whether the data directory came from COUNTERSIGN_DATA_DIR (error messages say where it came from). */
  dataDirFromEnv: boolean;
  /** USER, else USERNAME: who runs a command, when the operating system cannot tell. */
  user?: string;
  /**
   * A running ARM sandbox (read when a command needs it: a half-set ARM_SANDBOX_URL/ARM_SANDBOX_CA_FILE
   * pair stops `azure check`, not `audit verify` or `--help`). Throws SettingsError.
   */
  readArmSandbox(): ArmSandboxEnv;
  /** COUNTERSIGN_AZURE_TIMEOUT, as the bot reads it (read when `azure check` needs it). Throws SettingsError. */
  readAzureTimeout(): number;
  azureCredentialEnv: AzureCredentialEnv;
  /** The store the bot uses (read when a command needs it: a bad store setting does not stop `config check`). */
  readStore(): StoreSettings;
}

export function readCliSettings(env: NodeJS.ProcessEnv = process.env): CliSettings {
  checkVariableNames(env);
  const dataDir = pathVariable(env, 'COUNTERSIGN_DATA_DIR');
  const user = variable(env, 'USER') ?? variable(env, 'USERNAME');
  return {
    configPath: configPath(env),
    configFromEnv: pathVariable(env, 'COUNTERSIGN_CONFIG') !== undefined,
    dataDir: dataDir ?? DEFAULT_DATA_DIR,
    dataDirFromEnv: dataDir !== undefined,
    ...(user ? { user } : {}),
    readArmSandbox: () => readArmSandbox(env),
    readAzureTimeout: () => readAzureTimeout(env),
    azureCredentialEnv: readAzureCredentialEnv(env),
    readStore: () => readStoreSettings(env),
  };
}
