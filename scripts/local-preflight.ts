/**
 * What `npm run local` checks before it starts, besides the Node it runs on (src/node-version.ts,
 * the bot's own check): that the ports asked for are free (the Agents Playground would move to a
 * random one without a word, and the bot would stop with EADDRINUSE).
 */
import net from 'node:net';

/** Whether something already listens on `port` (on any interface, as the Playground would). */
function portTaken(port: number, host?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(true));
    probe.listen({ port, ...(host ? { host } : {}), exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

/** Why the trial cannot start on these ports, naming the setting that moves each, or undefined. */
export async function portsProblem(botPort: number, botHost: string, playgroundPort: number): Promise<string | undefined> {
  const taken: string[] = [];
  if (botPort !== 0 && (await portTaken(botPort, botHost))) taken.push(`the bot's port ${botPort} on ${botHost} (PORT)`);
  if (await portTaken(playgroundPort)) taken.push(`the Agents Playground's port ${playgroundPort} (PLAYGROUND_PORT)`);
  if (taken.length === 0) return undefined;
  return `${taken.join(' and ')} ${taken.length === 1 ? 'is' : 'are'} already in use (another local trial?): stop it, or start this one on others, e.g. PORT=3988 PLAYGROUND_PORT=56160 npm run local`;
}

/** The port the Playground says it listens on ("Listening on N"), from its output so far. */
export function listeningPort(output: string): number | undefined {
  const m = /Listening on (\d+)/.exec(output);
  return m ? Number(m[1]) : undefined;
}
