import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { CountersignConfig } from '../config/types';
import { formatDuration } from '../domain/duration-text';
import { DEFAULT_CONFIG_PATH, type CliSettings } from '../settings';

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
        // Each command's effective policy in words: what a reviewer of the config signs off on.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { breakGlassUnusableWarning, nobodyMayAskWarning, policyLines, stuckRequesterWarning, unapprovableWarning, unreachedWarning } = require('../domain/policy-text') as typeof import('../domain/policy-text');
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { nameOverlapWarnings } = require('../domain/catalog') as typeof import('../domain/catalog');
        const policies = c.catalog.commands.map((command) => {
          const warnings = [
            ...[nobodyMayAskWarning(command, c.access.roles), unapprovableWarning(command, c.access.roles), stuckRequesterWarning(command, c.access.roles), unreachedWarning(command, c.access.roles), breakGlassUnusableWarning(command, c.access.roles)].filter((w) => w !== undefined),
            ...nameOverlapWarnings(command, c.catalog.commands),
          ];
          return `\n  ${command.name}\n${policyLines(command).map((l) => `    ${l.aspect}: ${l.text}\n`).join('')}${warnings.map((w) => `    WARNING: ${w}\n`).join('')}`;
        });
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { unlistedSubscriptionWarnings } = require('../config/environments') as typeof import('../config/environments');
        const unlisted = unlistedSubscriptionWarnings(c.subscriptionEnvironments, c.azure.subscriptionId, c.catalog.commands).map((w) => `    WARNING: ${w.problem}\n`).join('');
        // One write: a reader that stops early (| head) is not sent a stream of further writes.
        process.stdout.write(
          `OK ${c.file}\n  policy version ${c.hash}\n${templateLines(c)}  ${c.catalog.commands.length} command(s), ${sensitive} sensitive; roles: ${Object.keys(c.roles).join(', ')}; tenants: ${c.tenants.length}\n  azure: ${c.azure.sandbox ? 'SANDBOX (no subscription configured)' : `subscription ${c.azure.subscriptionId}, credential ${c.azure.credential.type}`}\n${unlisted}${policies.join('')}`,
        );
        process.stdout.write(groupRoleLines(c));
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`${err.message}\n${configSourceNote(file, path, settings)}`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}

/**
 * Where a config file that is not there was taken from, when no file was given: COUNTERSIGN_CONFIG,
 * or the default, relative to the working directory (a command run from another folder, as on a
 * server, finds no example config there). Empty when a file was given or the file exists.
 */
export function configSourceNote(file: string | undefined, path: string, settings: Pick<CliSettings, 'configFromEnv'>): string {
  if (file !== undefined || existsSync(path)) return '';
  return settings.configFromEnv
    ? 'No file was given, so the config is the one COUNTERSIGN_CONFIG names: check that variable, or give the file (countersign config check <file>).\n'
    : `No file was given and COUNTERSIGN_CONFIG is not set, so the config is the default, ${DEFAULT_CONFIG_PATH}, under the working directory ${process.cwd()}: give the file (countersign config check <file>), or set COUNTERSIGN_CONFIG.\n`;
}

/**
 * What the policy version covers when the config names templates: the file's SHA-256 and each
 * template's, as `sha256sum` prints them (docs/configuration.md#the-policy-version).
 */
function templateLines(c: CountersignConfig): string {
  if (c.templates.length === 0) return '';
  return `    ${c.fileHash}  ${c.file}\n${c.templates.map((t) => `    ${t.sha256}  ${t.path}\n`).join('')}`;
}

/** Roles that list Entra groups, each group as "group <id>", and where their membership is looked up. */
function groupRoleLines(c: CountersignConfig): string {
  const roles = c.access.roles;
  const withGroups = roles.names.filter((name) => roles.groupsOf([name]).length > 0);
  if (withGroups.length === 0) return '';
  const lines = withGroups.map((name) => `  role ${name}: ${[...roles.membersOf(name), ...roles.groupsOf([name]).map((g) => `group ${g}`)].join(', ')}\n`);
  return `${lines.join('')}  directory: Microsoft Graph ${c.directory.graphEndpoint}, answers kept ${formatDuration(c.directory.cacheLifetimeSeconds)} (the identity needs User.Read.All and GroupMember.Read.All)\n`;
}
