/**
 * Three instances on one PostgreSQL database; the one that ran an execution dies after storing its
 * outcome, before Teams took "Request … succeeded.". The two left sweep for owed messages at the
 * same moment: the message is sent once, and only after the dead instance's hold on it passed.
 */
import assert from 'node:assert/strict';
import { Countersign } from '../../src/app/countersign';
import type { AppDeps } from '../../src/app/context';
import { OUTCOME_MESSAGE } from '../../src/app/outcome-message';
import type { Told } from '../../src/app/ports';
import { loadConfig } from '../../src/config/load';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { asked, click } from '../app/steps';
import { RecordingLog, RecordingNotifier, sequentialRequestIds, TestClock } from '../support/app-fakes';
import { SUBSCRIPTION } from '../support/app-on-fakes';
import { MemoryAzure } from '../support/memory-azure';
import { alice, bob, EXAMPLE_CONFIG } from '../support/people';
import { schemaPerTest } from '../support/postgres';
import { eventually } from '../support/teams';

describe('PostgreSQL: the outcome message of an instance that died before sending it', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  const opened: PostgresStore[] = [];
  let unhang: (() => void) | undefined;
  afterEach(async () => {
    unhang?.();
    for (const s of opened.splice(0)) await s.close();
  });

  async function instance(owner: string, clock: TestClock, azure: MemoryAzure, notifier: RecordingNotifier): Promise<Countersign> {
    const store = await openPostgresStore({ connection: { ...database.db().connection, schema: database.schema() } });
    opened.push(store);
    const deps: AppDeps = { store, azure, notifier, config: loadConfig(EXAMPLE_CONFIG), clock, ids: sequentialRequestIds(`CS-${owner.toUpperCase()}`), log: new RecordingLog(), subscriptionId: SUBSCRIPTION };
    return new Countersign(deps, { owner });
  }

  it('is sent once by one of the instances left, after the dead one\'s hold passed', async () => {
    const clock = new TestClock();
    const azure = new MemoryAzure(true);
    const dying = new RecordingNotifier();
    dying.tellRequester = (request, text) => {
      dying.calls.push({ kind: 'tellRequester', request, text });
      return new Promise<Told>((resolve) => (unhang = () => resolve('failed')));
    };
    const [b, c] = [new RecordingNotifier(), new RecordingNotifier()];
    const a = await instance('a', clock, azure, dying);
    const others = [await instance('b', clock, azure, b), await instance('c', clock, azure, c)];
    const r = await asked({ app: a }, alice, 'delete resource group staging-old');
    await click({ app: a }, bob, r, 'approve');
    await eventually('A at the outcome message', () => dying.told(r.id).length === 1);
    assert.deepEqual((await Promise.all(others.map((o) => o.sendOwedMessages()))).flat(), [], 'A may still be sending it');
    clock.advance(OUTCOME_MESSAGE.holdMs);
    const sent = await Promise.all([...others, ...others].map((o) => o.sendOwedMessages()));
    assert.deepEqual(sent.flat(), [r.id]);
    assert.deepEqual([...b.told(r.id), ...c.told(r.id)], [`Request ${r.id} (delete resource group) succeeded.`]);
    assert.deepEqual((await Promise.all(others.map((o) => o.sendOwedMessages(true)))).flat(), [], 'settled');
  });
});
