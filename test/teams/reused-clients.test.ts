/**
 * The adapter keeps one connector client per service URL (and one token client) instead of
 * botbuilder's new pair for every turn and every proactive update.
 */
import assert from 'node:assert/strict';
import type { Logger } from '../../src/log/context';
import { createAdapter } from '../../src/teams/adapter';

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('connector and token clients are reused', () => {
  it('gives every proactive turn to the same service URL the same clients, and another URL its own', async () => {
    const adapter = createAdapter({ id: '', type: 'MultiTenant', tenantId: '', password: '' }, quiet);
    const seen: { connector: unknown; tokens: unknown }[] = [];
    const turn = (serviceUrl: string) =>
      adapter.continueConversationAsync('', { serviceUrl, channelId: 'msteams', conversation: { id: 'c1', isGroup: true, conversationType: 'channel', name: '' } }, async (context) => {
        seen.push({ connector: context.turnState.get(adapter.ConnectorClientKey), tokens: context.turnState.get(adapter.UserTokenClientKey) });
      });
    await turn('https://smba.example/emea/');
    await turn('https://smba.example/emea/');
    await turn('https://smba.example/amer/');
    assert.ok(seen[0].connector, 'a connector client was given');
    assert.equal(seen[1].connector, seen[0].connector);
    assert.equal(seen[1].tokens, seen[0].tokens);
    assert.notEqual(seen[2].connector, seen[0].connector);
  });
});
