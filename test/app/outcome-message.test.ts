/**
 * The message telling the requester how the execution ended ("Request … succeeded."): recorded as
 * owed with the outcome, so that a run killed between the two writes does not lose it; sent by the
 * next start (or another instance's sweep) once, and never twice in the normal path.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Countersign } from '../../src/app/countersign';
import { parseConfig } from '../../src/config/load';
import type { AppDeps } from '../../src/app/context';
import { OUTCOME_MESSAGE } from '../../src/app/outcome-message';
import type { Told } from '../../src/app/ports';
import type { ApprovalRequest } from '../../src/domain/request';
import { RecordingNotifier } from '../support/app-fakes';
import { appOnFakes, SUBSCRIPTION, type AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, dave, EXAMPLE_CONFIG, opsChannel, sourceIn } from '../support/people';
import { RecordingMessenger, reachConfigText } from '../support/reach';
import { eventually } from '../support/teams';
import { asked, click, freshFakesEachTest, settle } from './steps';

const DELETE = 'delete resource group staging-old';

/** A notifier whose messages to requesters answer as scripted (then 'sent'), each still recorded. */
class ScriptedNotifier extends RecordingNotifier {
  constructor(readonly answers: Told[] = []) {
    super();
  }

  override async tellRequester(request: ApprovalRequest, text: string): Promise<Told> {
    await super.tellRequester(request, text);
    return this.answers.shift() ?? 'sent';
  }
}

describe('app: the outcome message owed to the requester', () => {
  let f: AppOnFakes;
  /** Lets a run "killed" inside tellRequester go, so that the test can end. */
  let unhang: (() => void) | undefined;
  // Before the settling below, which a run still hanging would keep waiting.
  afterEach(() => {
    unhang?.();
    unhang = undefined;
  });
  freshFakesEachTest({ set: (made) => (f = made), get: () => f }, {}, { noCrash: true });

  /** Another process on the same store, with its own notifier (`onlyInstance`: a SQLite start, the dead run's process gone). */
  function nextStart(notifier: RecordingNotifier, onlyInstance: boolean): Countersign {
    const deps: AppDeps = { ...f.deps, notifier, ...(onlyInstance ? { onlyInstanceSince: f.clock.now() } : {}) };
    return new Countersign(deps, { owner: 'run-b' });
  }

  /** A request run to its end by a run that is killed right after storing the outcome, before Teams took the message. */
  async function endedByARunKilledBeforeTheMessage(): Promise<ApprovalRequest> {
    const r = await asked(f, alice, DELETE);
    const killed = new RecordingNotifier();
    killed.tellRequester = (request, text) => {
      killed.calls.push({ kind: 'tellRequester', request, text });
      // The process dies here: nothing reaches Teams, nothing after runs.
      return new Promise<Told>((resolve) => (unhang = () => resolve('failed')));
    };
    f.deps.notifier = killed;
    await click(f, bob, r, 'approve');
    await eventually('the outcome stored', async () => (await f.request(r.id)).state === 'succeeded');
    await eventually('the run at its message', () => killed.told(r.id).length === 1);
    return f.request(r.id);
  }

  it('records the message owed with the outcome, and settles it once Teams took it: nothing is sent again at the next start', async () => {
    const r = await asked(f, alice, DELETE);
    await click(f, bob, r, 'approve');
    await settle(f);
    assert.deepEqual(f.notifier.told(r.id), [`Request ${r.id} (delete resource group) succeeded.`]);
    const done = await f.request(r.id);
    assert.equal(done.outcomeMessage, undefined, 'settled');
    const versions = await f.store.auditAccess.requestVersions(r.id);
    const outcome = versions.find((v) => v.state === 'succeeded');
    assert.ok(outcome?.outcomeMessage, 'the outcome was written with its message owed');
    assert.equal(done.version, outcome.version + 1, 'settled in a version of its own');
    assert.equal(done.cardVersion, outcome.version, 'which the card need not show: its card is current at the outcome\'s version');
    const later = new RecordingNotifier();
    assert.deepEqual(await nextStart(later, true).sendOwedMessages(true), []);
    assert.deepEqual(later.told(r.id), [], 'not sent twice');
  });

  it('a run killed between the outcome and its message: the next start sends it, once', async () => {
    const stored = await endedByARunKilledBeforeTheMessage();
    assert.equal(stored.outcomeMessage?.attempts, 1, 'owed, taken by the killed run');
    f.clock.advance(5_000); // the restart
    const after = new RecordingNotifier();
    const restarted = nextStart(after, true);
    assert.deepEqual(await restarted.sendOwedMessages(true), [stored.id]);
    assert.deepEqual(after.told(stored.id), [`Request ${stored.id} (delete resource group) succeeded.`]);
    assert.equal((await f.request(stored.id)).outcomeMessage, undefined);
    assert.deepEqual(await restarted.sendOwedMessages(), [], 'the next sweep');
    assert.deepEqual(await nextStart(after, true).sendOwedMessages(true), [], 'another start');
    assert.equal(after.told(stored.id).length, 1, 'sent once');
    assert.deepEqual(after.cardRefreshes(stored.id), [], 'bookkeeping no card shows');
    const settled = await f.request(stored.id);
    assert.equal(settled.version, stored.version + 2, 'taken, then settled');
    assert.equal(settled.cardVersion, stored.version, 'the card still shows the outcome\'s version: the start does not update it again');
  });

  it('a start\'s sending of owed messages takes no other message once Countersign is stopping: the next start sends the rest', async () => {
    // Four requests run to their end by a run killed before each one's message reached Teams.
    const killed = new RecordingNotifier();
    const hanging: (() => void)[] = [];
    unhang = () => hanging.forEach((go) => go());
    killed.tellRequester = (request, text) => {
      killed.calls.push({ kind: 'tellRequester', request, text });
      return new Promise<Told>((resolve) => hanging.push(() => resolve('failed')));
    };
    f.deps.notifier = killed;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await asked(f, alice, DELETE);
      ids.push(r.id);
      await click(f, bob, r, 'approve');
      await eventually('the run at its message', () => killed.told(r.id).length === 1);
    }
    f.clock.advance(5_000); // the restart
    // Teams takes its time with the first message (the conversation's rate limit), until let go.
    const slow = new RecordingNotifier();
    let letGo: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    slow.tellRequester = async (request, text) => {
      slow.calls.push({ kind: 'tellRequester', request, text });
      await held;
      return 'sent';
    };
    const stop = new AbortController();
    const sending = nextStart(slow, true).sendOwedMessages(true, stop.signal);
    await eventually('the first message under way', () => slow.calls.length === 1);
    stop.abort();
    letGo();
    const sent = await sending;
    assert.equal(sent.length, 1, 'the one under way when the stop came is sent and settled');
    assert.equal(slow.calls.length, 1, 'no other message taken after the stop');
    const left = ids.filter((id) => id !== sent[0]);
    for (const id of left) assert.equal((await f.request(id)).outcomeMessage?.attempts, 1, `${id} stays owed, not taken`);
    // Without a stop, the next start sends every one left.
    f.clock.advance(5_000);
    const after = new RecordingNotifier();
    assert.deepEqual((await nextStart(after, true).sendOwedMessages(true)).sort(), [...left].sort());
  });

  it('with other instances on the store: a message another run took is left to it for holdMs; then one of two sweeps sends it', async () => {
    const stored = await endedByARunKilledBeforeTheMessage();
    const other = new RecordingNotifier();
    const third = new RecordingNotifier();
    assert.deepEqual(await nextStart(other, false).sendOwedMessages(), [], 'the run that took it may still be sending it');
    f.clock.advance(OUTCOME_MESSAGE.holdMs);
    const [a, b] = await Promise.all([nextStart(other, false).sendOwedMessages(), nextStart(third, false).sendOwedMessages()]);
    assert.deepEqual([...a, ...b], [stored.id]);
    assert.equal(other.told(stored.id).length + third.told(stored.id).length, 1, 'told once');
  });

  it('a message Teams refuses for good (the conversation gone) is given up at once, not tried again', async () => {
    const refusing = new ScriptedNotifier(['refused']);
    f.deps.notifier = refusing;
    const r = await asked(f, alice, DELETE);
    await click(f, bob, r, 'approve');
    await settle(f);
    assert.equal(refusing.told(r.id).length, 1);
    assert.equal((await f.request(r.id)).outcomeMessage, undefined);
    f.clock.advance(OUTCOME_MESSAGE.holdMs);
    assert.deepEqual(await nextStart(refusing, false).sendOwedMessages(), []);
    assert.equal(refusing.told(r.id).length, 1, 'not retried');
    assert.ok(f.log.lines.some((l) => l.msg?.startsWith('outcome message given up: Teams refused it for good')));
  });

  it('a message that failed for now is tried again by a later sweep, and given up after maxAttempts', async () => {
    const failing = new ScriptedNotifier(Array<Told>(OUTCOME_MESSAGE.maxAttempts).fill('failed'));
    f.deps.notifier = failing;
    const r = await asked(f, alice, DELETE);
    await click(f, bob, r, 'approve');
    await settle(f);
    assert.equal((await f.request(r.id)).outcomeMessage?.attempts, 1);
    const sweeper = nextStart(failing, false);
    assert.deepEqual(await sweeper.sendOwedMessages(), [], 'held by the run that tried');
    for (let attempt = 2; attempt <= OUTCOME_MESSAGE.maxAttempts; attempt++) {
      f.clock.advance(OUTCOME_MESSAGE.holdMs);
      assert.deepEqual(await sweeper.sendOwedMessages(), []);
    }
    assert.equal(failing.told(r.id).length, OUTCOME_MESSAGE.maxAttempts);
    f.clock.advance(OUTCOME_MESSAGE.holdMs);
    assert.deepEqual(await sweeper.sendOwedMessages(), []);
    assert.equal(failing.told(r.id).length, OUTCOME_MESSAGE.maxAttempts, 'given up');
    assert.equal((await f.request(r.id)).outcomeMessage, undefined);
    assert.ok(f.log.lines.some((l) => l.msg === `outcome message given up, not sent: tried ${OUTCOME_MESSAGE.maxAttempts} times`));
  });

  it('a message owed for more than 24 h is given up with a log line, not sent', async () => {
    const stored = await endedByARunKilledBeforeTheMessage();
    f.clock.advance(OUTCOME_MESSAGE.withinMs + 60_000);
    const after = new RecordingNotifier();
    assert.deepEqual(await nextStart(after, true).sendOwedMessages(true), []);
    assert.deepEqual(after.told(stored.id), []);
    assert.equal((await f.request(stored.id)).outcomeMessage, undefined);
    assert.ok(f.log.lines.some((l) => l.level === 'warn' && l.requestId === stored.id && /^outcome message given up, not sent: owed since .*, more than 24 h$/.test(l.msg ?? '')));
  });

  /** A notifier whose process dies inside tellRequester: nothing reaches Teams, nothing after runs. */
  function dying(): RecordingNotifier {
    const killed = new RecordingNotifier();
    killed.tellRequester = (request, text) => {
      killed.calls.push({ kind: 'tellRequester', request, text });
      return new Promise<Told>((resolve) => {
        const before = unhang;
        unhang = () => {
          before?.();
          resolve('failed');
        };
      });
    };
    return killed;
  }

  /** The run was killed at the message `killed` was sent: the next start sends the same text, once, and no start after it again. */
  async function sentOnceByTheNextStart(killed: RecordingNotifier, id: string, expected: RegExp): Promise<void> {
    await eventually('the run at its message', () => killed.told(id).length === 1);
    const [lost] = killed.told(id);
    assert.match(lost, expected);
    const stored = await f.request(id);
    assert.equal(stored.outcomeMessage?.text, lost, 'owed, with its text, from the write that ended it');
    f.clock.advance(5_000); // the restart
    const after = new RecordingNotifier();
    const restarted = nextStart(after, true);
    assert.deepEqual(await restarted.sendOwedMessages(true), [id]);
    assert.deepEqual(after.told(id), [lost]);
    assert.equal((await f.request(id)).outcomeMessage, undefined, 'settled');
    assert.deepEqual(await restarted.sendOwedMessages(), [], 'the next sweep');
    assert.deepEqual(await nextStart(after, true).sendOwedMessages(true), [], 'another start');
    assert.equal(after.told(id).length, 1, 'sent once');
  }

  describe('the messages that end a request without an execution, owed the same way', () => {
    it('a rejection: "rejected by …" is sent by the next start', async () => {
      const r = await asked(f, alice, DELETE);
      const killed = dying();
      f.deps.notifier = killed;
      assert.ok((await click(f, bob, r, 'reject', { comment: 'not before the audit closes' })).ok);
      await sentOnceByTheNextStart(killed, r.id, new RegExp(`^Request ${r.id} was rejected by Bob Approver: not before the audit closes\\. Nothing was run\\.$`));
    });

    it('an expiry: "expired: nobody approved it …" is sent by the next start', async () => {
      const r = await asked(f, alice, DELETE);
      const killed = dying();
      f.deps.notifier = killed;
      f.clock.advance(2 * 3600_000);
      assert.deepEqual(await f.app.sweepExpired(), [r.id]);
      await sentOnceByTheNextStart(killed, r.id, new RegExp(`^Request ${r.id} expired: nobody approved it before `));
    });

    it('a scheduled request someone else cancelled: "cancelled by …" is sent by the next start', async () => {
      const r = await asked(f, alice, `${DELETE} at 2026-03-02T12:00Z`);
      await click(f, bob, r, 'approve');
      await settle(f);
      const killed = dying();
      f.deps.notifier = killed;
      assert.ok((await click(f, dave, await f.request(r.id), 'cancel')).ok);
      await sentOnceByTheNextStart(killed, r.id, new RegExp(`^Request ${r.id} was cancelled by Dave Lead before it ran \\(it was to run at 2026-03-02 12:00 UTC\\)\\. Nothing was run\\.$`));
    });

    it('a refusal at the claim (the approver lost the role): "not executed: … ask again" is sent by the next start', async () => {
      const r = await asked(f, alice, DELETE);
      await f.app.executor.stop();
      await click(f, bob, r, 'approve');
      // The start that claims it runs a configuration in which Bob is no longer an approver, and dies at the message.
      const text = readFileSync(EXAMPLE_CONFIG, 'utf8').replace('    - 22222222-2222-4222-8222-222222222222 # Bob Approver\n', '');
      const killed = dying();
      const claiming = new Countersign({ ...f.deps, notifier: killed, config: parseConfig(text, EXAMPLE_CONFIG) }, { owner: 'run-claim' });
      void claiming.catchUp();
      await eventually('failed at the claim', async () => (await f.request(r.id)).state === 'failed');
      await sentOnceByTheNextStart(killed, r.id, new RegExp(`^Request ${r.id} was not executed: Bob Approver no longer hold\\(s\\) the approver role`));
      assert.equal(f.azure.executions.length, 0);
    });

    it('a change that ends nothing owes nothing: an approval, and the requester cancelling her own request', async () => {
      const r = await asked(f, alice, `${DELETE} at 2026-03-02T12:00Z`);
      await click(f, bob, r, 'approve');
      assert.equal((await f.request(r.id)).outcomeMessage, undefined);
      assert.ok((await click(f, alice, await f.request(r.id), 'cancel')).ok);
      await settle(f);
      const cancelled = await f.request(r.id);
      assert.equal(cancelled.state, 'cancelled');
      assert.equal(cancelled.outcomeMessage, undefined);
      assert.deepEqual(f.notifier.told(r.id), []);
    });
  });

  describe('the messages of a change that does not end the request, owed the same way', () => {
    const TAG = 'tag rg-web owner platform-team';
    const RG_WEB = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-web`;
    const BREAK_GLASS = 'breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h }';
    const DRIFTED = 'was not executed: what it would do changed since it was approved (tags.owner: "web-team" → "someone-else"). It needs approving again on its card.';

    /** Approved, then Azure shows the target changed: the start moves it to needs_reapproval, and its run is killed at the message. */
    async function driftedByARunKilledAtItsMessage(): Promise<{ r: ApprovalRequest; killed: RecordingNotifier }> {
      f.azure.setTarget(RG_WEB, { exists: true, etag: 'e1', facts: { 'tags.owner': 'web-team' } });
      const r = await asked(f, alice, TAG);
      f.azure.setTarget(RG_WEB, { exists: true, etag: 'e2', facts: { 'tags.owner': 'someone-else' } });
      const killed = dying();
      f.deps.notifier = killed;
      await click(f, bob, r, 'approve');
      await eventually('the run at its message', () => killed.told(r.id).length === 1);
      assert.equal((await f.request(r.id)).state, 'needs_reapproval');
      return { r, killed };
    }

    /** `break-glass …` used by Alice in the operations channel. */
    async function breakGlassUsed(): Promise<ApprovalRequest> {
      const meant = f.app.interpret(`break-glass ${DELETE} reason: outage INC-42`);
      const inner = meant.kind === 'break-glass' ? meant.request : meant;
      if (inner.kind !== 'ready') throw new Error(`not a complete request (${inner.kind})`);
      const made = await f.app.breakGlass({ command: inner.command, values: inner.values, reason: 'outage INC-42', actor: alice, source: sourceIn(opsChannel, 'bg-1') });
      assert.ok(made.ok);
      await f.app.cardPosted(made.request.id, { conversationId: opsChannel.id, activityId: `card-${made.request.id}` });
      await eventually('run', async () => (await f.request(made.request.id)).state === 'succeeded');
      return made.request;
    }

    it('a drift: "needs approving again" is sent by the next start', async () => {
      const { r, killed } = await driftedByARunKilledAtItsMessage();
      await sentOnceByTheNextStart(killed, r.id, new RegExp(`^${`Request ${r.id} (tag) ${DRIFTED}`.replace(/[.()]/g, '\\$&')}$`));
    });

    it('a missed maintenance window: "did not run: it missed its maintenance window" is sent by the next start', async () => {
      const anchor = '      approverRoles: [platform-approvers]\n      requesterRoles: [requesters]\n      ttl: 1h\n';
      const text = readFileSync(EXAMPLE_CONFIG, 'utf8');
      assert.ok(text.includes(anchor));
      f = appOnFakes({ configText: text.replace(anchor, `${anchor}      windows: [{ days: [sat, sun], from: "02:00", to: "05:00", zone: Europe/London }]\n`) });
      const r = await asked(f, alice, DELETE);
      await click(f, bob, r, 'approve');
      assert.equal((await f.request(r.id)).runAt, '2026-03-07T02:00:00.000Z');
      f.clock.advance(Date.parse('2026-03-07T05:30:00Z') - f.clock.now().getTime());
      const killed = dying();
      f.deps.notifier = killed;
      await f.app.sweepScheduled();
      await sentOnceByTheNextStart(killed, r.id, new RegExp(`^Request ${r.id} did not run: it missed its maintenance window: it was due at 2026-03-07 02:00 UTC, .* runs in the next opening, at 2026-03-08 02:00 UTC\\.$`));
    });

    it('an escalation: "was escalated: … may decide it now too" is sent by the next start', async () => {
      f = appOnFakes({ configText: reachConfigText(), messenger: new RecordingMessenger() });
      const r = await asked(f, alice, DELETE);
      const killed = dying();
      f.deps.notifier = killed;
      f.clock.advance(40 * 60_000);
      assert.deepEqual((await f.app.sweepReach()).escalated, [r.id]);
      await sentOnceByTheNextStart(killed, r.id, new RegExp(`^Request ${r.id} had no decision within the time its policy allows, so it was escalated: incident-leads may decide it now too\\.$`));
    });

    it('a break-glass use flagged: "was flagged by …" is sent by the next start', async () => {
      f = appOnFakes({ configText: reachConfigText([BREAK_GLASS]), messenger: new RecordingMessenger() });
      const r = await breakGlassUsed();
      await settle(f);
      const killed = dying();
      f.deps.notifier = killed;
      const flagged = await click(f, bob, await f.request(r.id), 'flag', { comment: 'no outage INC-42 was open then' });
      assert.ok(flagged.ok, JSON.stringify(flagged));
      await sentOnceByTheNextStart(killed, r.id, new RegExp(`^Break-glass request ${r.id} \\(delete resource group\\) was flagged by Bob Approver: no outage INC-42 was open then\\. Its use is recorded as questioned in the audit trail\\.$`));
    });

    it('one owed and not yet sent is kept in front of a later one, not dropped: needs approving again, then rejected', async () => {
      const { r, killed } = await driftedByARunKilledAtItsMessage();
      assert.ok((await click(f, bob, await f.request(r.id), 'reject', { comment: 'not now' })).ok);
      await eventually('the click at its message', () => killed.told(r.id).length === 2);
      const both = `Request ${r.id} (tag) ${DRIFTED}\n\nRequest ${r.id} was rejected by Bob Approver: not now. Nothing was run.`;
      assert.equal(killed.told(r.id)[1], both, 'one message, in the order of the changes');
      f.clock.advance(5_000); // the restart
      const after = new RecordingNotifier();
      assert.deepEqual(await nextStart(after, true).sendOwedMessages(true), [r.id]);
      assert.deepEqual(after.told(r.id), [both]);
      assert.deepEqual(await nextStart(after, true).sendOwedMessages(true), [], 'another start');
    });

    it('an execution\'s outcome still owed when its break-glass use is flagged: both are told, in one message', async () => {
      f = appOnFakes({ configText: reachConfigText([BREAK_GLASS]), messenger: new RecordingMessenger() });
      const killed = dying();
      f.deps.notifier = killed;
      const r = await breakGlassUsed();
      await eventually('the run at its message', () => killed.told(r.id).length === 1);
      assert.ok((await click(f, bob, await f.request(r.id), 'flag')).ok);
      const both = `Request ${r.id} (delete resource group) succeeded.\n\nBreak-glass request ${r.id} (delete resource group) was flagged by Bob Approver (no comment given). Its use is recorded as questioned in the audit trail.`;
      assert.equal((await f.request(r.id)).outcomeMessage?.text, both);
      f.clock.advance(5_000); // the restart
      const after = new RecordingNotifier();
      assert.deepEqual(await nextStart(after, true).sendOwedMessages(true), [r.id]);
      assert.deepEqual(after.told(r.id), [both]);
    });

    it('a run still sending the earlier message settles only what it sent: what a later change added stays owed', async () => {
      f = appOnFakes({ configText: reachConfigText([BREAK_GLASS]), messenger: new RecordingMessenger() });
      const answers: ((told: Told) => void)[] = [];
      const held = new RecordingNotifier();
      held.tellRequester = (request, text) => {
        held.calls.push({ kind: 'tellRequester', request, text });
        return new Promise<Told>((resolve) => answers.push(resolve));
      };
      f.deps.notifier = held;
      const r = await breakGlassUsed();
      await eventually('the outcome being sent', () => answers.length === 1);
      assert.ok((await click(f, bob, await f.request(r.id), 'flag')).ok);
      await eventually('the flag being sent', () => answers.length === 2);
      answers[0]('sent'); // Teams took "succeeded": that run settles what it sent, not the flag added since
      await settle(f); // the execution's run is done: its settling written, or refused
      assert.match((await f.request(r.id)).outcomeMessage?.text ?? '', /was flagged by Bob Approver/, 'left owed by the run that sent only "succeeded"');
      answers[1]('failed'); // the later run could not send it now
      await eventually('the later run done', () => f.log.lines.some((l) => l.msg?.startsWith('outcome message not sent; it stays owed')));
      const owed = await f.request(r.id);
      assert.match(owed.outcomeMessage?.text ?? '', /was flagged by Bob Approver/, 'still owed');
      f.clock.advance(OUTCOME_MESSAGE.holdMs);
      const after = new RecordingNotifier();
      assert.deepEqual(await nextStart(after, false).sendOwedMessages(), [r.id]);
      assert.match(after.told(r.id)[0], /succeeded\.\n\nBreak-glass request .* was flagged by Bob Approver/);
    });
  });
});
