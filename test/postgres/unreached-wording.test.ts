/**
 * An approver's card that could not be sent because Countersign's own database failed while it looked
 * up their personal chat: the card's "Could not reach" line says so in words, never with the database
 * driver's message (as "terminating connection due to administrator command" once was, from a
 * pg_terminate_backend during the lookup, or a lock held in psql).
 */
import assert from 'node:assert/strict';
import type { Logger } from '../../src/log/context';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { createAdapter } from '../../src/teams/adapter';
import { TeamsNotifier } from '../../src/teams/notifier';
import { TeamsApproverMessenger } from '../../src/teams/personal-conversations';
import { schemaPerTest } from '../support/postgres';
import { bob, buildRequest } from '../support/requests';

describe('PostgreSQL: an approver not reached because the database failed', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  let store: PostgresStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it('tells the card why in words when the personal chat cannot be read (a table held in psql past the lock wait)', async () => {
    store = await openPostgresStore({ connection: { ...database.db().connection, schema: database.schema(), lockWaitMs: 300 } });
    const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const adapter = createAdapter({ id: '', type: 'MultiTenant', tenantId: '', password: '' }, quiet, undefined, 1000);
    const s = store;
    const notifier = new TeamsNotifier(adapter, '', { getReference: (id) => s.conversations.getReference(id), getCardMessages: (id) => s.cards.getCardMessages(id), claimCardVersion: (id, m, v, l) => s.cards.claimCardVersion(id, m, v, l), releaseCardVersion: (id, m, v, h) => s.cards.releaseCardVersion(id, m, v, h) }, quiet, 0);
    const messenger = new TeamsApproverMessenger(adapter, '', notifier, { getPersonalReference: (t, id) => s.conversations.getPersonalReference(t, id), getReference: (id) => s.conversations.getReference(id), saveReference: (id, r) => s.conversations.saveReference(id, r), savePersonalReference: (t, id, r) => s.conversations.savePersonalReference(t, id, r), storageFault: (err) => s.storageFault(err) }, quiet);
    const psql = await database.db().superuser();
    try {
      await psql.query(`SET search_path = ${database.schema()}`);
      await psql.query('BEGIN');
      await psql.query('LOCK TABLE personal_conversations IN ACCESS EXCLUSIVE MODE');
      const delivery = await messenger.cardToPerson(buildRequest(), { tenantId: bob.tenantId, aadObjectId: bob.aadObjectId });
      assert.equal(delivery.ok, false);
      const why = (delivery as { why: string }).why;
      assert.equal(why, 'Countersign could not read its own database to find their chat (another process was holding it); nothing was sent');
      assert.doesNotMatch(why, /lock|postgres:|process \d+|canceling/i);
    } finally {
      await psql.query('ROLLBACK');
      await psql.end();
    }
  });
});
