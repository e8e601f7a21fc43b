/**
 * A message whose turn failed gets an answer that says what failed: the store's disk, the database
 * out of reach, held, overloaded or read-only, or something inside Countersign. The store tells
 * which (Store.storageFault); the Teams layer knows no database's error codes.
 */
import assert from 'node:assert/strict';
import type { TurnContext } from 'botbuilder';
import type { StorageFault } from '../../src/app/ports';
import type { Logger } from '../../src/log/context';
import { createAdapter } from '../../src/teams/adapter';
import { TurnFailed } from '../../src/teams/bot-endpoint';

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const app = { id: '', type: 'MultiTenant' as const, tenantId: '', password: '' };

async function answerTo(type: string, error: Error, fault: (err: unknown) => StorageFault | undefined, sandbox = false): Promise<string[]> {
  const seen: unknown[] = [];
  const adapter = createAdapter(
    app,
    quiet,
    (err) => {
      seen.push(err);
      return fault(err);
    },
    undefined,
    sandbox,
  );
  const sent: string[] = [];
  const context = { activity: { type, id: 'a1', conversation: { id: 'c1' } }, sendActivity: async (text: string) => void sent.push(text) } as unknown as TurnContext;
  await adapter.onTurnError(context, error);
  if (sent.length > 0) assert.deepEqual(seen, [error], 'the store was asked about the error the turn failed with');
  return sent;
}

describe('the answer to a message whose turn failed', () => {
  const failure = new Error('boom');

  it('is marked [SANDBOX] in sandbox mode, as every other reply', async () => {
    const [text] = await answerTo('message', failure, () => 'damaged', true);
    assert.match(text, /^\[SANDBOX\] Countersign could not handle this message: its database was changed under it/);
  });

  it('says the database cannot take writes when the store calls it its disk\'s failure', async () => {
    const [text] = await answerTo('message', failure, () => 'disk');
    assert.match(text, /^Countersign could not handle this message: its database cannot take writes right now \(its disk is full or failing\), so nothing was changed\./);
  });

  it('says the file system holding the database is read-only, not full, when the store says so; a read-only PostgreSQL is still a standby', async () => {
    const [text] = await answerTo('message', failure, () => 'read-only-file-system');
    assert.equal(
      text,
      'Countersign could not handle this message: its database cannot take writes right now (the file system holding it is read-only, not full), so nothing was changed. Tell the team that runs Countersign: its log and /readyz say how to make it writable again.',
    );
    const [standby] = await answerTo('message', failure, () => 'read-only');
    assert.match(standby, /^Countersign could not handle this message: its database is read-only right now \(a standby, as after a failover\), so nothing was changed\./);
  });

  it('says the database was changed under it, and that it needs restoring, when the store calls it damaged', async () => {
    const [text] = await answerTo('message', failure, () => 'damaged');
    assert.match(text, /^Countersign could not handle this message: its database was changed under it \(a file or table removed or replaced, or its audit log emptied\), so nothing was changed and Countersign is stopping\. Tell the team that runs Countersign: its log names what changed, and its next start checks the audit log against the signed checkpoints and says whether a backup is needed\.$/);
  });

  it('says the database cannot be reached when the store says so', async () => {
    const [text] = await answerTo('message', failure, () => 'unreachable');
    assert.match(text, /^Countersign could not handle this message: it cannot reach its database right now, so nothing was changed\./);
  });

  it('says whether the change was saved is not known, and to look before trying again, when the commit\'s answer was lost', async () => {
    const [text] = await answerTo('message', failure, () => 'unconfirmed');
    assert.match(text, /^Countersign could not handle this message: the connection to its database broke while the change was being saved, so whether it was saved is not known\. Before you try again, look: "pending" lists your open requests, "status <request-id>" shows one; trying again may do it twice\./);
    assert.doesNotMatch(text, /nothing was changed/);
  });

  it('says another process holds the database when the store says it is busy', async () => {
    const [text] = await answerTo('message', failure, () => 'busy');
    assert.match(text, /^Countersign could not handle this message: another process is holding its database, so nothing was changed\. Try again in a moment/);
  });

  it('says the database is overloaded, to try again in a moment, when the store says so', async () => {
    const [text] = await answerTo('message', failure, () => 'overloaded');
    assert.match(text, /^Countersign could not handle this message: its database is overloaded right now \(out of connections or memory, or a statement ran past its time limit\), so nothing was changed\. Try again in a moment/);
  });

  it('says the database refused Countersign access, and that the team running it must act, when the store says a privilege was refused', async () => {
    const [text] = await answerTo('message', failure, () => 'denied');
    assert.match(text, /^Countersign could not handle this message: its database refused it access to a table it needs \(a privilege of its database role was taken away\), so nothing was changed\. Tell the team that runs Countersign: its log and readiness name the grant to give back\.$/);
  });

  it('says the database is read-only when the store says so', async () => {
    const [text] = await answerTo('message', failure, () => 'read-only');
    assert.match(text, /^Countersign could not handle this message: its database is read-only right now \(a standby, as after a failover\), so nothing was changed\./);
  });

  it('says it was an internal error otherwise, and that nothing was changed', async () => {
    const [text] = await answerTo('message', failure, () => undefined);
    assert.match(text, /^Countersign could not handle this message: it hit an internal error, so nothing was changed\./);
  });

  it('sends nothing for an activity that is not a message, and hands its failure on to the HTTP edge (500, not botbuilder\'s 501)', async () => {
    await assert.rejects(answerTo('invoke', failure, () => 'disk'), (err: unknown) => err instanceof TurnFailed && err.failure === failure);
  });

  it('hands a message\'s failure on to the HTTP edge when the person could not be told', async () => {
    const adapter = createAdapter(app, quiet);
    const context = { activity: { type: 'message', id: 'a1', conversation: { id: 'c1' } }, sendActivity: async () => { throw new Error('connector down'); } } as unknown as TurnContext;
    await assert.rejects(adapter.onTurnError(context, failure), (err: unknown) => err instanceof TurnFailed && err.failure === failure);
  });
});
