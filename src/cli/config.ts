import type { Command } from 'commander';
import type { CliSettings } from '../settings';
import { breakGlassWords, whenItMayRun } from '../domain/policy-words';

/** `countersign config check [file]`: the same validation as startup, without starting. */
export function registerConfigCommands(program: Command, settings: CliSettings): void {
  const config = program.command('config').description('Work with the YAML config (commands, policy, roles)');
  config
    .command('check')
    .description('Validate a config file exactly as startup does; exits 1 naming file, line, key and problem')
    .argument('[file]', 'config file (default: $COUNTERSIGN_CONFIG or config/countersign.example.yaml)')
    .action((file?: string) => {
      const path = file ?? settings.configPath;
      // Loaded only here: the YAML parser and the schema validator are not needed by the other commands.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { ConfigError, loadConfig } = require('../config/load') as typeof import('../config/load');
      try {
        const c = loadConfig(path);
        const sensitive = c.catalog.commands.filter((x) => x.sensitive).length;
        process.stdout.write(
          `OK ${c.file}\n  sha256 ${c.hash}\n  ${c.catalog.commands.length} command(s), ${sensitive} sensitive; roles: ${Object.keys(c.roles).join(', ')}; tenants: ${c.tenants.length}\n  azure: ${c.azure.sandbox ? 'SANDBOX (no subscription configured)' : `subscription ${c.azure.subscriptionId}, credential ${c.azure.credential.type}`}\n`,
        );
        // Each sensitive command's timing and emergency rules in words (policy-words.ts).
        for (const command of c.catalog.commands) {
          if (command.policy) process.stdout.write(`  ${command.name}: ${whenItMayRun(command.policy)}; ${breakGlassWords(command.policy)}\n`);
        }
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`${err.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}
