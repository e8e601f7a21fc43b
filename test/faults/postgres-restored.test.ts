/**
 * A PostgreSQL database restored from an earlier dump (pg_restore --clean) while instances run: one
 * idle since the dump point saw nothing it could miss, and the checkpoint file the instances share
 * (outside the database) is what tells it the log went back.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Checkpointer, checkpointFileOf } from '../../src/audit/access/checkpoints';
import { newestCheckpointInFile, watchCheckpointFile } from '../../src/audit/access/checkpoint-watch';
import { loadOrCreateSigningKey } from '../../src/audit/access/signing';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { anEvent, tempDir } from '../store/fixtures';
import { schemaPerTest } from '../support/postgres';

describe('faults: a PostgreSQL database restored from an earlier dump under running instances', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  const opened: PostgresStore[] = [];
  const cleanup: (() => void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) c();
    for (const s of opened.splice(0)) await s.close();
  });
  const open = async (onStopped?: (err: Error) => void) => {
    const s = await openPostgresStore({ connection: { ...database.db().connection, schema: database.schema() }, ...(onStopped ? { onStopped } : {}) });
    opened.push(s);
    return s;
  };
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  /** The tables as a dump taken at record `seq` holds them (triggers off, as pg_restore --clean's own rows go in). */
  const restoreTo = async (seq: number) => {
    const c = await database.db().superuser();
    try {
      await c.query(`SET search_path = ${database.schema()}`);
      await c.query('SET session_replication_role = replica');
      await c.query('DELETE FROM audit_checkpoints');
      await c.query('DELETE FROM audit_log WHERE seq > $1', [seq]);
    } finally {
      await c.end();
    }
  };
  /** Instance A appends past the dump point and signs a checkpoint (the file shared by both); B stays idle. */
  const twoInstances = async () => {
    const dir = tempDir();
    cleanup.push(dir.remove);
    const signer = loadOrCreateSigningKey(dir.dir);
    const file = checkpointFileOf(dir.dir);
    const stopped: Error[] = [];
    const a = await open();
    await a.audit.append([anEvent('request.created')]);
    const b = await open((err) => stopped.push(err));
    assert.equal(await b.ping(), true);
    for (let i = 0; i < 3; i++) await a.audit.append([anEvent('request.created')]);
    const checkpoint = await new Checkpointer({ store: a, signer, clock: { now: () => new Date() }, file, log: silent }).write('timer');
    assert.equal(checkpoint?.seq, 4);
    const failures: unknown[] = [];
    const watchB = () => {
      const w = watchCheckpointFile(file, signer, (c) => b.holdsCheckpoint(c), (err) => failures.push(err), 50);
      cleanup.push(() => w.stop());
    };
    return { a, b, stopped, watchB, file, signer, failures };
  };
  const until = async (done: () => boolean) => {
    for (let i = 0; i < 500 && !done(); i++) await sleep(20);
  };
  const count = async (s: PostgresStore) => (await s.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0].n;

  it('stops an instance idle since the dump point within the watch\'s interval, naming the rewind, before it appends on the restored log', async () => {
    const { b, stopped, watchB, failures } = await twoInstances();
    await restoreTo(1);
    // Its own probe sees nothing wrong: it never saw past record 1.
    assert.equal(await b.ping(), true);
    watchB();
    await until(() => stopped.length > 0);
    assert.deepEqual(failures, []);
    assert.equal(stopped.length, 1, 'the bot is told, once, and stops');
    assert.match(
      stopped[0].message,
      /the audit log of .* went back: the checkpoint file signed record 4, and the log now ends at record 1 \(the database was restored from an earlier backup or dump, or its tables emptied, while Countersign ran: the records after 1 are not in it\); nothing more is written/,
    );
    assert.equal(await b.ping(), false);
    assert.match(b.writeReadiness().problem ?? '', /checkpoint file signed record 4/);
    await assert.rejects(b.audit.append([anEvent('request.created')]), /went back/);
    assert.equal(b.storageFault(await b.audit.append([anEvent('request.created')]).catch((e: unknown) => e)), 'damaged');
    assert.equal(await count(b), 1, 'nothing appended on the restored log');
  });

  it('stops an instance that appended past the checkpoint\'s seq on the restored log: the record there is not the one signed', async () => {
    const { b, stopped, watchB } = await twoInstances();
    await restoreTo(1);
    // B appends before it looks: its records take seqs 2-5, the signed record 4's among them.
    for (let i = 0; i < 4; i++) await b.audit.append([anEvent('request.created')]);
    watchB();
    await until(() => stopped.length > 0);
    assert.match(stopped[0]?.message ?? '', /was rewritten under Countersign: record 4, which the checkpoint file signed with hash .*, now has hash/);
    await assert.rejects(b.audit.append([anEvent('request.created')]), /rewritten/);
  });

  it('leaves an instance writing while the log holds the checkpoint, and takes a signed checkpoint only', async () => {
    const { b, stopped, watchB, file, signer, failures } = await twoInstances();
    // A line not signed with the instances' key (forged, or a half-written one) vouches for nothing.
    const newest = newestCheckpointInFile(file, signer);
    assert.equal(newest?.seq, 4);
    fs.appendFileSync(file, `${JSON.stringify({ ...newest, seq: 99 })}\n{"seq": 100, "ha`);
    assert.equal(newestCheckpointInFile(file, signer)?.seq, 4);
    watchB();
    await sleep(300);
    assert.deepEqual(failures, []);
    assert.deepEqual(stopped, []);
    assert.equal((await b.audit.append([anEvent('request.created')]))[0].seq, 6);
    assert.equal(await b.ping(), true);
  });
});
