/**
 * `countersign azure check`: which Azure identity Countersign would use, and whether it can read the
 * subscription it manages (see azure-check.ts). Exit 0: it can. 1: the config is wrong. 2: no token,
 * or the read was refused, with the reason in words.
 */
import type { Command } from 'commander';
import type { CountersignConfig } from '../config/load';
import { SettingsError, type CliSettings } from '../settings';
import { configSourceNote } from './config';

export function registerAzureCommands(program: Command, settings: CliSettings): void {
  const azure = program.command('azure').description('Check the Azure identity Countersign uses');
  azure
    .command('check')
    .description('Tell which identity is in use and whether it can read the subscription; exit 2 when it cannot')
    .argument('[file]', 'config file (default: $COUNTERSIGN_CONFIG or config/countersign.example.yaml)')
    .action(async (file?: string) => {
      const path = file ?? settings.configPath;
      // Loaded only here: the YAML parser and the schema validator are not needed by the other commands.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { ConfigError, loadConfig } = require('../config/load') as typeof import('../config/load');
      let config: CountersignConfig;
      try {
        config = loadConfig(path);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`${err.message}\n${configSourceNote(file, path, settings).replace('countersign config check', 'countersign azure check')}`);
        process.exitCode = 1;
        return;
      }
      // Loaded only here: the Azure SDK is not needed by the other commands.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { checkAzure } = require('./azure-check') as typeof import('./azure-check');
      try {
        process.exitCode = await checkAzure({ config, settings, write: (line) => process.stdout.write(`${line}\n`) });
      } catch (err) {
        // A setting the bot would refuse to start with (a half-set ARM_SANDBOX_URL/ARM_SANDBOX_CA_FILE pair): one line, exit 1.
        if (!(err instanceof SettingsError)) throw err;
        process.stderr.write(`${err.message}\n`);
        process.exitCode = 1;
      }
    });
}
