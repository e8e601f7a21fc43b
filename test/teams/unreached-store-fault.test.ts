/**
 * A person not reached because Countersign's own database failed while their personal chat was
 * looked up: the delivery says so (storeFault), so the round keeps them and sends the card again
 * once the database works (round-resume.ts); any other failure is Teams' or the person's.
 */
import assert from 'node:assert/strict';
import type { CloudAdapter } from 'botbuilder';
import type { Logger } from '../../src/log/context';
import type { TeamsNotifier } from '../../src/teams/notifier';
import { TeamsApproverMessenger } from '../../src/teams/personal-conversations';
import type { ConversationReferenceStore } from '../../src/teams/ports';
import { buildRequest } from '../support/requests';

describe('Teams messenger: a person not reached because the database failed', () => {
  const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const held = new Error('canceling statement due to lock timeout');
  const failing = (err: Error): ConversationReferenceStore => ({
    saveReference: async () => undefined,
    getReference: async () => undefined,
    savePersonalReference: async () => undefined,
    getPersonalReference: async () => {
      throw err;
    },
    storageFault: (e) => (e === held ? 'busy' : undefined),
  });
  const person = { tenantId: 'tenant', aadObjectId: '22222222-2222-4222-8222-222222222222' };

  it('says the store failed, in words, and that nothing was sent (the round sends it again)', async () => {
    const messenger = new TeamsApproverMessenger({} as CloudAdapter, '', {} as TeamsNotifier, failing(held), quiet);
    assert.deepEqual(await messenger.cardToPerson(buildRequest(), person), {
      ok: false,
      why: 'Countersign could not read its own database to find their chat (another process was holding it); nothing was sent',
      storeFault: true,
    });
  });

  it('does not say so of a failure that is not the store\'s own', async () => {
    const messenger = new TeamsApproverMessenger({} as CloudAdapter, '', {} as TeamsNotifier, failing(new Error('something else')), quiet);
    const delivery = await messenger.cardToPerson(buildRequest(), person);
    assert.equal(delivery.ok, false);
    assert.equal('storeFault' in delivery, false);
  });
});
