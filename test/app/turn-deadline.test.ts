/**
 * A person's turn holds its store work to its deadline (src/app/turn-deadline.ts); what the turn
 * starts in the background (the execution an approval starts, the messages to approvers) is not
 * held to it: an execution runs for minutes after the click was answered.
 */
import assert from 'node:assert/strict';
import { turnDeadline, withTurnDeadline } from '../../src/app/ports';
import type { ApprovalRequest } from '../../src/domain/request';
import { MemoryStore } from '../support/memory-store';
import { appOnStore } from '../support/app-on-fakes';
import { alice, bob } from '../support/people';
import { asked, click, settle } from './steps';

/** A store that notes, for each request it saves, the state saved and the turn's deadline then. */
class DeadlineNotingStore extends MemoryStore {
  readonly saved: { state: string; deadline: number | undefined }[] = [];
  constructor() {
    super();
    const update = this.requests.update.bind(this.requests);
    this.requests.update = (r: ApprovalRequest, ...rest: Parameters<typeof update> extends [unknown, ...infer T] ? T : never) => {
      this.saved.push({ state: r.state, deadline: turnDeadline() });
      return update(r, ...rest);
    };
  }
}

describe('a turn\'s deadline', () => {
  it('holds the click\'s own write to it, and not the execution the approval starts', async () => {
    const store = new DeadlineNotingStore();
    const f = appOnStore(store);
    const r = await asked(f, alice, 'delete resource group staging-old');
    const started = performance.now();
    // The turn is still open while the execution runs (its answer is slow to go out, say).
    const result = await withTurnDeadline(async () => {
      const answer = await click(f, bob, r, 'approve');
      await settle(f);
      return answer;
    }, started, 60_000);
    assert.equal(result.ok, true);
    const approved = store.saved.find((s) => s.state === 'approved');
    assert.equal(approved?.deadline, started + 60_000, 'the approval was written under the click\'s deadline');
    const executing = store.saved.filter((s) => s.state === 'executing' || s.state === 'succeeded');
    assert.ok(executing.length > 0, JSON.stringify(store.saved));
    assert.deepEqual(executing.map((s) => s.deadline), executing.map(() => undefined), 'the execution is not held to the click\'s deadline');
  });

  it('ends with the turn: nothing after the answer is held to it', async () => {
    let inside: number | undefined;
    await withTurnDeadline(async () => {
      inside = turnDeadline();
    }, 0, 10_000);
    assert.equal(inside, 10_000);
    assert.equal(turnDeadline(), undefined);
  });
});
