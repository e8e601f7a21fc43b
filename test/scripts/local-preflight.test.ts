/** What the local trial checks before it starts: free ports (its Node: test/runtime/node-version.test.ts). */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { listeningPort, portsProblem } from '../../scripts/local-preflight';
import { localBanner } from '../../scripts/local-banner';

describe('the local trial, before it starts', () => {
  it('names each port in use with the setting that moves it, instead of letting the Playground move to a random one', async () => {
    const held = net.createServer();
    await new Promise<void>((resolve) => held.listen(0, resolve));
    const port = (held.address() as AddressInfo).port;
    try {
      assert.equal(
        await portsProblem(0, '127.0.0.1', port),
        `the Agents Playground's port ${port} (PLAYGROUND_PORT) is already in use (another local trial?): stop it, or start this one on others, e.g. PORT=3988 PLAYGROUND_PORT=56160 npm run local`,
      );
      assert.match((await portsProblem(port, '127.0.0.1', port)) ?? '', new RegExp(`^the bot's port ${port} on 127\\.0\\.0\\.1 \\(PORT\\) and the Agents Playground's port ${port} \\(PLAYGROUND_PORT\\) are already in use`));
    } finally {
      await new Promise<void>((resolve) => held.close(() => resolve()));
    }
    assert.equal(await portsProblem(0, '127.0.0.1', port), undefined, 'free again');
  });

  it("reads the port the Playground says it listens on", () => {
    assert.equal(listeningPort('Agents Playground\nListening on 40815\n'), 40815);
    assert.equal(listeningPort('starting'), undefined);
  });

  it('says in its banner that the Playground listens on every interface', () => {
    const text = localBanner({ configPath: 'c', defaultConfigPath: 'c', sandbox: true, subscriptionId: 's', botUrl: 'http://127.0.0.1:3978', playgroundPort: 56150, playgroundConfigPath: 'p', defaultPlaygroundConfigPath: 'p', dataDir: 'd' });
    assert.match(text, /the Playground listens on every network interface: anyone\nwho can reach port 56150 can act there as any of its people/);
  });
});
