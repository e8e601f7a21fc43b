/**
 * A scheduled request across restarts and instances, at the network boundary: approved in one run of
 * Countersign, run by the next one started after its time; and with two instances on one database,
 * both sweeping at the time, sent to Azure once.
 */
import assert from 'node:assert/strict';
import type { RunningCountersign } from '../../src/composition-root';
import { TestClock } from '../support/app-fakes';
import { cardText } from '../support/connector';
import { inProcessRuns, type InProcessRuns } from '../support/in-process';
import { eventually, people, TeamsDriver } from '../support/teams';

const HOUR = 3_600_000;

describe('a scheduled request across restarts and instances (bot in process, ARM sandbox, controlled clock)', function () {
  this.timeout(30000);
  let runs: InProcessRuns;
  let clock: TestClock;
  // Sweeps are driven by the test (and by each start's catch-up), not by the hourly timer.
  const start = (): Promise<RunningCountersign> => runs.start({ clock, pollMs: 5, sweepIntervalMs: HOUR });

  /** Asks for the delete at a time two hours ahead and has Bob approve it; returns the request and card ids. */
  async function scheduledIn(bot: RunningCountersign): Promise<{ requestId: string; cardId: string }> {
    const teams = new TeamsDriver(bot.url, runs.connector);
    const at = new Date(clock.now().getTime() + 2 * HOUR).toISOString();
    const from = await teams.say(people.alice, `delete resource group staging-old at ${at}`);
    const cardId = teams.since(from).find((s) => s.kind === 'reply' && /PENDING/.test(JSON.stringify(s.activity)))!.id;
    await teams.click(people.bob, cardId, 'approve');
    const requestId = (await runs.store.requests.list({ states: ['scheduled'] }))[0]?.id;
    assert.ok(requestId, 'approved and scheduled');
    return { requestId, cardId };
  }

  const deletes = () => runs.sandbox.requests.filter((r) => r.method === 'DELETE' && /\/resourcegroups\/staging-old(\?|$)/i.test(r.path)).length;

  beforeEach(async () => {
    runs = await inProcessRuns('countersign-scheduled-');
    clock = new TestClock(new Date());
  });
  afterEach(async () => {
    await runs.close();
  });

  it('is run by the next start after its time when Countersign was down at the time', async () => {
    const first = await start();
    const { requestId, cardId } = await scheduledIn(first);
    await runs.stop(first);
    clock.advance(3 * HOUR);
    const second = await start();
    await eventually('run after the restart', async () => (await runs.store.requests.get(requestId))?.state === 'succeeded', 15000);
    await second.executor.idle();
    await second.notifier.idle();
    assert.equal(deletes(), 1);
    assert.match(cardText(runs.connector.card(cardId)), /SUCCEEDED/);
  });

  it('is sent to Azure once when two instances sweep at its time', async () => {
    const a = await start();
    const b = await start();
    const { requestId } = await scheduledIn(a);
    clock.advance(2 * HOUR);
    await Promise.all([a.app.sweepScheduled(), b.app.sweepScheduled(), a.app.sweepScheduled()]);
    await eventually('run once', async () => (await runs.store.requests.get(requestId))?.state === 'succeeded', 15000);
    await a.executor.idle();
    await b.executor.idle();
    assert.equal(deletes(), 1);
  });
});
