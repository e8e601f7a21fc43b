/**
 * What `npm run local` prints once it runs: what it actually runs with (the config file when it is
 * not the example, the sandbox or the subscription), where the bot and the Playground are, and who
 * the person at the Playground's page is: the current user of the Playground config it was given.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export interface LocalBannerInput {
  /** The config the bot loaded, and the one it loads when COUNTERSIGN_CONFIG is not set. */
  configPath: string;
  defaultConfigPath: string;
  /** Whether the config names no subscription (the ARM sandbox), else the subscription. */
  sandbox: boolean;
  subscriptionId: string;
  botUrl: string;
  playgroundPort: number;
  /** The Playground config handed to the Playground (M365_AGENTS_PLAYGROUND_CONFIG_PATH, else the repository's). */
  playgroundConfigPath: string;
  defaultPlaygroundConfigPath: string;
  dataDir: string;
}

export function localBanner(i: LocalBannerInput): string {
  const onDefaults = path.resolve(i.configPath) === path.resolve(i.defaultConfigPath);
  const azure = i.sandbox ? 'SANDBOX' : `Azure subscription ${i.subscriptionId}: operations run in Azure`;
  const runsOn = onDefaults ? 'on its embedded defaults' : `with the config ${i.configPath}`;
  const ownPlayground = path.resolve(i.playgroundConfigPath) === path.resolve(i.defaultPlaygroundConfigPath);
  return [
    '',
    `Countersign is running ${runsOn} (${azure}).`,
    `  bot:        ${i.botUrl}/api/messages`,
    `  playground: http://127.0.0.1:${i.playgroundPort}  (open it in a browser; ${youAre(i.playgroundConfigPath, ownPlayground)})`,
    `  data:       ${i.dataDir}`,
    `The bot answers this machine only, but the Playground listens on every network interface: anyone`,
    `who can reach port ${i.playgroundPort} can act there as any of its people. Keep the trial where others cannot.`,
    'Type "help" in the playground. Ctrl+C stops both.',
    '',
    '',
  ].join('\n');
}

/** Who the Playground's page acts as: the current user its config names. */
function youAre(file: string, ownPlayground: boolean): string {
  let user: { name?: unknown; id?: unknown } | undefined;
  try {
    user = (parse(readFileSync(file, 'utf8')) as { currentUser?: typeof user } | null)?.currentUser;
  } catch (err) {
    return `you are the current user of ${file}, which cannot be read: ${(err as Error).message.split('\n')[0]}`;
  }
  const name = typeof user?.name === 'string' ? user.name : undefined;
  const id = typeof user?.id === 'string' ? user.id : undefined;
  if (!name && !id) return `${file} names no currentUser: the Playground will refuse it`;
  const who = name && id ? `${name} (${id})` : (name ?? id);
  return ownPlayground ? `you are ${name ?? id}` : `you are ${who}, the current user of ${file}`;
}
