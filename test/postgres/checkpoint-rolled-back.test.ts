/**
 * A checkpoint's transaction that fails after its audit record was appended (the INSERT into
 * audit_checkpoints held by another session's lock past the wait, a statement cancelled, the
 * connection ended before COMMIT) is rolled back, record and all: the log did not go back, and the
 * instance must go on writing, not stop as if its tables had been emptied under it.
 */
import assert from 'node:assert/strict';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { anEvent, timeAt } from '../store/fixtures';
import { schemaPerTest } from '../support/postgres';

describe('PostgreSQL: a checkpoint whose transaction was rolled back', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  const opened: PostgresStore[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('leaves the instance writing, ready, and the next record where the rolled-back one would have been', async () => {
    const store = await openPostgresStore({ connection: { ...database.db().connection, schema: database.schema() }, lockWaitMs: 300 });
    opened.push(store);
    await store.audit.append([anEvent('config.loaded')]);
    const head = (await store.audit.head())!;
    // An operator's session holding audit_checkpoints: the checkpoint's record is appended, then its row waits and gives up.
    const psql = await database.db().superuser();
    try {
      await psql.query(`SET search_path = ${database.schema()}`);
      await psql.query('BEGIN; LOCK TABLE audit_checkpoints IN ACCESS EXCLUSIVE MODE');
      await assert.rejects(store.auditAccess.saveCheckpoint({ seq: head.seq, hash: head.hash, time: timeAt(2), keyId: 'k', signature: 's' }, [anEvent('audit.checkpoint')]), /lock/);
      await psql.query('ROLLBACK');
    } finally {
      await psql.end();
    }
    assert.equal((await store.audit.head())?.seq, head.seq, 'nothing of the checkpoint was committed');
    const [next] = await store.audit.append([anEvent('click.refused')]);
    assert.equal(next.seq, head.seq + 1);
    assert.equal(await store.ping(), true, store.writeReadiness().problem);
    const [checkpointed] = await store.auditAccess.saveCheckpoint({ seq: next.seq, hash: next.hash, time: timeAt(3), keyId: 'k', signature: 's' }, [anEvent('audit.checkpoint')]);
    assert.equal(checkpointed.seq, next.seq + 1);
  });
});
