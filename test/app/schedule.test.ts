/** Approve now, run later: the time asked for, maintenance windows, cancel before the start, restarts, several instances. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RefusalReason } from '../../src/domain/refusal';
import { appOnFakes, START, SUBSCRIPTION, type AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, carol, dave, EXAMPLE_CONFIG } from '../support/people';
import { ask, asked, click, freshFakesEachTest, refusedWith, settle } from './steps';
import type { ApprovalRequest } from '../../src/domain/request';
import { opsChannel, sourceIn } from '../support/people';
import { RecordingMessenger } from '../support/reach';

const DELETE = 'delete resource group staging-old';
const HOUR = 3_600_000;
const RG_WEB = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-web`;

/** Moves the test clock to the instant. */
function at(f: AppOnFakes, instant: string | number): void {
  f.clock.advance(new Date(instant).getTime() - f.clock.now().getTime());
}

/** No instance runs for eight days (past maxScheduleAhead), then one starts and takes up what was left. */
async function restartEightDaysLater(f: AppOnFakes): Promise<void> {
  at(f, START.getTime() + 8 * 24 * HOUR);
  const restarted = f.anotherRun();
  await restarted.catchUp();
  await restarted.executor.idle();
  await restarted.executor.runStranded();
  await restarted.executor.idle();
}

/** The example config with maintenance windows on `delete resource group`. */
function withWindows(windows: string, extra = ''): string {
  const text = readFileSync(EXAMPLE_CONFIG, 'utf8');
  const anchor = '      approverRoles: [platform-approvers]\n      requesterRoles: [requesters]\n      ttl: 1h\n';
  assert.ok(text.includes(anchor));
  return text.replace(anchor, `${anchor}      windows: ${windows}\n${extra}`);
}

describe('app: approve now, run later', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f }, {}, { noCrash: true });

  it('reads "at <time>" only in the command: in the reason it is part of the reason', async () => {
    const inReason = await asked(f, alice, `${DELETE} reason: rollback planned at 22:00`, 'Europe/Berlin');
    assert.equal(inReason.requestedRunAt, undefined);
    assert.equal(inReason.reason, 'rollback planned at 22:00');
    const both = await asked(f, dave, `${DELETE} at 22:00 reason: rollback planned at 23:00`, 'Europe/Berlin');
    assert.equal(both.requestedRunAt, '2026-03-02T21:00:00.000Z');
    assert.equal(both.reason, 'rollback planned at 23:00');
  });

  it('reads "at <time>" in the sender\'s zone and waits, approved, until then; then runs once', async () => {
    const r = await asked(f, alice, `${DELETE} at 22:00`, 'Europe/Berlin');
    assert.equal(r.requestedRunAt, '2026-03-02T21:00:00.000Z');
    assert.match(f.app.runAtText(r, 'Europe/Berlin') ?? '', /no earlier than 2026-03-02 22:00 Europe\/Berlin \(2026-03-02T21:00:00.000Z\)/);
    await click(f, bob, r, 'approve');
    await settle(f);
    const waiting = await f.request(r.id);
    assert.equal(waiting.state, 'scheduled');
    assert.equal(waiting.runAt, '2026-03-02T21:00:00.000Z');
    assert.equal(f.azure.executions.length, 0, 'nothing ran before the time');
    assert.deepEqual(await f.app.sweepScheduled(), [], 'not due yet');
    at(f, '2026-03-02T21:00:00.000Z');
    assert.deepEqual(await f.app.sweepScheduled(), [r.id]);
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.equal(f.azure.executions.length, 1);
    assert.deepEqual(
      (await f.audit({ requestId: r.id })).map((x) => x.type),
      ['request.created', 'approval.granted', 'request.approved', 'request.scheduled', 'execution.started', 'execution.progressed', 'execution.succeeded'],
    );
  });

  it('refuses, and audits, a time beyond how long an approval stays valid', async () => {
    const made = await ask(f, alice, `${DELETE} at 2026-03-20T02:00Z`);
    assert.ok(!made.ok && 'refusal' in made);
    assert.equal(made.refusal.reason, RefusalReason.RunTimeRefused);
    assert.match(made.refusal.message, /too far ahead/);
    const refused = (await f.audit()).filter((x) => x.type === 'request.refused');
    assert.equal(refused.at(-1)?.outcome.reason, RefusalReason.RunTimeRefused);
  });

  it('lets the requester, or an approver, cancel before it starts; nothing reaches Azure', async () => {
    const r = await asked(f, alice, `${DELETE} at 2026-03-02T12:00Z`);
    await click(f, bob, r, 'approve');
    await settle(f);
    const byApprover = await click(f, bob, await f.request(r.id), 'cancel');
    assert.ok(byApprover.ok, JSON.stringify(byApprover));
    assert.equal((await f.request(r.id)).state, 'cancelled');
    at(f, '2026-03-02T12:00:00Z');
    assert.deepEqual(await f.app.sweepScheduled(), []);
    assert.equal(f.azure.executions.length, 0);
  });

  it('tells the requester when someone else cancels their scheduled request, and not when they cancel it themselves', async () => {
    const r = await asked(f, alice, `${DELETE} at 2026-03-02T12:00Z`);
    await click(f, bob, r, 'approve');
    assert.ok((await click(f, dave, await f.request(r.id), 'cancel')).ok);
    assert.deepEqual(f.notifier.told(r.id), [`Request ${r.id} was cancelled by Dave Lead before it ran (it was to run at 2026-03-02 12:00 UTC). Nothing was run.`]);
    const own = await asked(f, alice, `delete resource group staging-two at 2026-03-02T12:00Z`);
    await click(f, bob, own, 'approve');
    assert.ok((await click(f, alice, await f.request(own.id), 'cancel')).ok);
    assert.deepEqual(f.notifier.told(own.id), [], 'she cancelled it herself: her own click answered her');
  });

  it('runs nothing at its time for a cancelled request set back to scheduled in the database whose cancellation the index by request leaves out', async () => {
    const r = await asked(f, alice, `${DELETE} at 2026-03-02T12:00Z`);
    await click(f, bob, r, 'approve');
    await settle(f);
    const scheduled = await f.request(r.id);
    assert.ok((await click(f, bob, scheduled, 'cancel')).ok);
    const cancelled = (await f.audit({ requestId: r.id })).find((x) => x.type === 'request.cancelled')!;
    // Someone with the database: the row as it was while scheduled, the cancellation left out of the index by request.
    const now = f.store.state.requests.get(r.id)!.version;
    f.store.state.requests.set(r.id, { version: now + 1, text: JSON.stringify({ ...scheduled, version: now + 1 }) });
    f.store.state.leftOutOfRequestIndex.add(cancelled.seq);
    const calls = () => f.azure.executions.length + f.azure.snapshotCalls.length;
    const before = calls();
    at(f, '2026-03-02T12:00:00Z');
    await f.app.sweepScheduled();
    await settle(f);
    assert.equal(calls(), before, 'nothing reached Azure');
    const refused = await f.request(r.id);
    assert.equal(refused.state, 'failed');
    assert.equal(
      refused.outcomeDetail,
      `Not executed: its audit records show it was cancelled after it was approved (record ${cancelled.seq}), and its records read through the database's index by request lack 1 that the audit log holds (record ${cancelled.seq} request.cancelled): the index was made again to leave them out, so its stored row does not match its audit trail (it may have been edited in the database). Nothing was sent to Azure; the team that runs Countersign should run "countersign audit verify" and look into it.`,
    );
    assert.deepEqual(f.log.lines.filter((l) => l.level === 'error').map((l) => [l.index, l.leftOut]), [['audit_log_request', [cancelled.seq]], [undefined, undefined]]);
    f.log.lines.length = 0;
  });

  it('refuses a cancel from someone who neither asked nor approves', async () => {
    const r = await asked(f, alice, `${DELETE} at 2026-03-02T12:00Z`);
    await click(f, bob, r, 'approve');
    assert.equal(refusedWith(await click(f, carol, await f.request(r.id), 'cancel')), RefusalReason.NotAllowedToCancel);
  });

  it('survives a restart, and two instances sweeping at the time run it once', async () => {
    const r = await asked(f, alice, `${DELETE} at 2026-03-02T12:00Z`);
    await click(f, bob, r, 'approve');
    await settle(f);
    const other = f.anotherRun();
    at(f, '2026-03-02T12:00:00Z');
    await Promise.all([f.app.catchUp(), other.sweepScheduled(), f.app.sweepScheduled()]);
    await settle(f, other);
    assert.equal(f.azure.executions.length, 1);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.equal((await f.audit({ requestId: r.id })).filter((x) => x.type === 'execution.started').length, 1);
  });

  it('expires a scheduled request whose approval stopped being valid before it could start', async () => {
    const r = await asked(f, alice, `${DELETE} at 2026-03-02T12:00Z`);
    await click(f, bob, r, 'approve');
    at(f, START.getTime() + 8 * 24 * HOUR);
    await f.app.sweepScheduled();
    const after = await f.request(r.id);
    assert.equal(after.state, 'expired');
    assert.match(after.outcomeDetail ?? '', /scheduled for 2026-03-02 12:00 UTC but had not started/);
    assert.equal(f.azure.executions.length, 0);
  });

  it('tells the requester of a time asked for on a command with windows that a later approval waits for a window, not that it runs at once', async () => {
    f = appOnFakes({ configText: withWindows('[{ days: [sat, sun], from: "02:00", to: "05:00", zone: Europe/London }]') });
    const r = await asked(f, alice, `${DELETE} at 22:00`, 'Europe/Berlin');
    assert.equal(
      f.app.runAtText(r, 'Europe/Berlin'),
      `Request ${r.id} will run, once approved, no earlier than 2026-03-02 22:00 Europe/Berlin (2026-03-02T21:00:00.000Z), in the first maintenance window of its command from then. If it is approved later, it runs as soon as a maintenance window of its command is open.`,
    );
  });

  it('runs a request approved outside its maintenance window at the next opening', async () => {
    f = appOnFakes({ configText: withWindows('[{ days: [sat, sun], from: "02:00", to: "05:00", zone: Europe/London }]') });
    const r = await asked(f, alice, DELETE);
    await click(f, bob, r, 'approve');
    const waiting = await f.request(r.id);
    assert.equal(waiting.state, 'scheduled');
    assert.equal(waiting.runAt, '2026-03-07T02:00:00.000Z');
    assert.match((await f.audit({ requestId: r.id })).find((x) => x.type === 'request.scheduled')?.outcome.detail ?? '', /maintenance window/);
    at(f, '2026-03-07T02:00:00Z');
    await f.app.sweepScheduled();
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
  });

  it('never runs outside its window: one that closed while no instance ran waits for the next opening, recorded, and the requester is told', async () => {
    f = appOnFakes({ configText: withWindows('[{ days: [sat, sun], from: "02:00", to: "05:00", zone: Europe/London }]') });
    const r = await asked(f, alice, DELETE);
    await click(f, bob, r, 'approve');
    assert.equal((await f.request(r.id)).runAt, '2026-03-07T02:00:00.000Z');
    // Countersign was down from before 02:00 until after 05:00: the first sweep after the start.
    at(f, '2026-03-07T05:30:00Z');
    const other = f.anotherRun();
    await Promise.all([f.app.catchUp(), other.sweepScheduled(), f.app.sweepScheduled()]);
    await settle(f, other);
    assert.equal(f.azure.executions.length, 0, 'nothing was sent outside the window');
    const moved = await f.request(r.id);
    assert.equal(moved.state, 'scheduled');
    assert.equal(moved.runAt, '2026-03-08T02:00:00.000Z', 'the next opening: Sunday 02:00 in London');
    const records = (await f.audit({ requestId: r.id })).filter((x) => x.type === 'request.scheduled');
    assert.equal(records.length, 2, 'recorded once across instances');
    assert.match(records[1].outcome.detail ?? '', /^missed its maintenance window: it was due at 2026-03-07T02:00:00\.000Z, and the window closed before Countersign could start it \(no instance was running, or its start could not be recorded\); runs in the next opening, at 2026-03-08T02:00:00\.000Z$/);
    assert.deepEqual(records[1].data, { runAt: '2026-03-08T02:00:00.000Z', validUntil: moved.expiresAt, missed: '2026-03-07T02:00:00.000Z' });
    assert.match(f.notifier.told(r.id).at(-1) ?? '', /^Request .* did not run: it missed its maintenance window: it was due at 2026-03-07 02:00 UTC, .* runs in the next opening, at 2026-03-08 02:00 UTC\.$/, 'asked in a channel: in UTC, as people read it');

    // Sunday 01:59 is not the window yet; 02:00 is.
    at(f, '2026-03-08T01:59:00Z');
    await f.app.sweepScheduled();
    assert.equal(f.azure.executions.length, 0);
    at(f, '2026-03-08T02:00:00Z');
    await f.app.sweepScheduled();
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.equal(f.azure.executions.length, 1);
  });

  it('sends nothing on resuming, once its window closed, an execution claimed inside it that Azure never took', async () => {
    f = appOnFakes({ configText: withWindows('[{ days: [mon], from: "08:00", to: "10:00", zone: UTC }]') });
    const r = await asked(f, alice, DELETE);
    // Claimed inside the window; the run dies before Azure took the operation.
    f.azure.nextExecution({ hold: true, notAccepted: true });
    await click(f, bob, r, 'approve');
    await f.azure.whenHeld();
    at(f, '2026-03-02T11:00:00Z');
    const other = f.anotherRun();
    assert.deepEqual(await other.resumeAbandoned(), [r.id]);
    await other.executor.idle();
    f.azure.release();
    await settle(f, other);
    assert.deepEqual(f.azure.sent, [], 'nothing sent outside the window');
    const ended = await f.request(r.id);
    assert.equal(ended.state, 'failed');
    assert.match(ended.outcomeDetail ?? '', /^NotSentOnResume: Not executed: its command runs only in its maintenance windows, and none was open when its operation was first to be sent, on resuming it\. Nothing was sent to Azure; ask again\.$/);
    // The first run, whose lease was taken over, records what Azure told it beside the row (its error line is expected).
    f.log.lines.splice(0, f.log.lines.length, ...f.log.lines.filter((l) => l.msg !== "execution outcome not recorded as the request's: another run holds it, or it ended"));
  });

  it('does not start late an approval given inside its window when the window closed before the start: it waits for the next opening', async () => {
    f = appOnFakes({ configText: withWindows('[{ days: [mon], from: "08:00", to: "10:00", zone: UTC }]') });
    const r = await asked(f, alice, DELETE);
    // This run stops right after the approval (as a crash would), inside the window.
    await f.app.executor.stop();
    await click(f, bob, r, 'approve');
    assert.equal((await f.request(r.id)).state, 'approved');
    at(f, '2026-03-02T11:00:00Z');
    const restarted = f.anotherRun();
    await restarted.catchUp();
    await restarted.executor.idle();
    assert.equal(f.azure.executions.length, 0, 'nothing sent outside the window');
    const moved = await f.request(r.id);
    assert.equal(moved.state, 'scheduled');
    assert.equal(moved.runAt, '2026-03-09T08:00:00.000Z');
    const scheduled = (await f.audit({ requestId: r.id })).filter((x) => x.type === 'request.scheduled');
    assert.match(scheduled.at(-1)?.outcome.detail ?? '', /^missed its maintenance window: it was due at .*; runs in the next opening, at 2026-03-09T08:00:00\.000Z$/);
    assert.match(f.notifier.told(r.id).at(-1) ?? '', /did not run: it missed its maintenance window: .*; runs in the next opening, at 2026-03-09 08:00 UTC\.$/);
    at(f, '2026-03-09T08:00:00Z');
    await restarted.sweepScheduled();
    await settle(f, restarted);
    assert.equal((await f.request(r.id)).state, 'succeeded');
  });

  it('expires unstarted an approval for now that nothing started while it held (maxScheduleAhead): nothing is sent, the requester is told', async () => {
    const r = await asked(f, alice, DELETE);
    // This run stops right after the approval (as a crash would); no instance runs for eight days.
    await f.app.executor.stop();
    await click(f, bob, r, 'approve');
    const approved = await f.request(r.id);
    assert.equal(approved.state, 'approved');
    await restartEightDaysLater(f);
    assert.equal(f.azure.executions.length, 0, 'nothing is sent on an approval given eight days ago');
    const after = await f.request(r.id);
    assert.equal(after.state, 'expired');
    assert.match(after.outcomeDetail ?? '', /^Not executed: it was approved at .* but had not started when its approval stopped being valid at .* \(maxScheduleAhead after the last approval; Countersign was not running, or could not start it, in that time\)\. Ask again\.$/);
    const expired = (await f.audit({ requestId: r.id })).filter((x) => x.type === 'request.expired');
    assert.equal(expired.length, 1);
    assert.equal(expired[0].data?.validUntil, new Date(Date.parse(approved.approvals[0].at) + 7 * 24 * HOUR).toISOString());
    assert.match(f.notifier.told(r.id).at(-1) ?? '', /^Request .* was not executed: it was approved at .* but had not started when its approval stopped being valid/);
  });

  it('still runs an approval for now started within maxScheduleAhead of it, after a long stop', async () => {
    const r = await asked(f, alice, DELETE);
    await f.app.executor.stop();
    await click(f, bob, r, 'approve');
    at(f, START.getTime() + 6 * 24 * HOUR);
    const restarted = f.anotherRun();
    await restarted.catchUp();
    await settle(f, restarted);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.equal(f.azure.executions.length, 1);
  });

  it('runs at once when approved inside its window', async () => {
    f = appOnFakes({ configText: withWindows('[{ days: [mon], from: "08:00", to: "10:00", zone: UTC }]') });
    const r = await asked(f, alice, DELETE);
    await click(f, bob, r, 'approve');
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
  });

  it('checks drift right before the scheduled run, as for any execution', async () => {
    f.azure.setTarget(RG_WEB, { exists: true, etag: 'e1', facts: { 'tags.owner': 'web-team' } });
    const r = await asked(f, alice, 'tag rg-web owner platform-team at 2026-03-02T12:00Z');
    await click(f, bob, r, 'approve');
    assert.equal((await f.request(r.id)).state, 'scheduled');
    f.azure.setTarget(RG_WEB, { exists: true, etag: 'e2', facts: { 'tags.owner': 'someone-else' } });
    at(f, '2026-03-02T12:00:00Z');
    await f.app.sweepScheduled();
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'needs_reapproval');
    assert.equal(f.azure.executions.length, 0);
  });

  describe('what the requester is told, asked in their personal chat, names times in their zone; the stored texts keep UTC', () => {
    const ZONE = 'America/Sao_Paulo';
    let sent: RecordingMessenger;
    const personal = { id: 'a:alice-chat', conversationType: 'personal' as const };
    /** "2026-03-02 09:00 America/Sao_Paulo (2026-03-02T12:00:00.000Z)": as the requester reads an instant. */
    const inZone = (iso: string) => `${new Date(Date.parse(iso) - 3 * HOUR).toISOString().slice(0, 16).replace('T', ' ')} ${ZONE} (${new Date(iso).toISOString()})`;
    const inUtc = (iso: string) => `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

    async function askedInPersonalChat(text: string, configText?: string): Promise<ApprovalRequest> {
      sent = new RecordingMessenger();
      sent.zones.set(alice.aadObjectId, ZONE);
      f = appOnFakes({ messenger: sent, ...(configText ? { configText } : {}) });
      const meant = f.app.interpret(text);
      assert.ok(meant.kind === 'ready');
      const made = await f.app.createRequest({ command: meant.command, values: meant.values, ...(meant.runAt ? { runAt: meant.runAt } : {}), actor: alice, source: sourceIn(personal, 'ask-personal') });
      assert.ok(made.ok, JSON.stringify(made));
      await f.app.cardPosted(made.request.id, { conversationId: opsChannel.id, activityId: `card-${made.request.id}` });
      await f.app.tellingIdle();
      return made.request;
    }

    it('a scheduled request that expired unstarted', async () => {
      const r = await askedInPersonalChat(`${DELETE} at 2026-03-02T12:00Z`);
      await click(f, bob, r, 'approve');
      const scheduled = await f.request(r.id);
      assert.equal(scheduled.state, 'scheduled');
      at(f, Date.parse(scheduled.expiresAt) + 1000);
      await f.app.sweepScheduled();
      const expired = await f.request(r.id);
      const stored = `Not executed: it was scheduled for ${inUtc(scheduled.runAt!)} but had not started when its approval stopped being valid at ${inUtc(scheduled.expiresAt)}. Ask again.`;
      assert.equal(expired.outcomeDetail, stored, 'the stored detail is the same for every reader');
      assert.equal((await f.audit({ requestId: r.id })).at(-1)?.outcome.detail, stored);
      assert.equal(f.notifier.told(r.id).at(-1), `Request ${r.id} expired: Not executed: it was scheduled for ${inZone(scheduled.runAt!)} but had not started when its approval stopped being valid at ${inZone(scheduled.expiresAt)}. Ask again.`);
    });

    it('an approval for now that lapsed before anything started it', async () => {
      const r = await askedInPersonalChat(DELETE);
      await f.app.executor.stop();
      await click(f, bob, r, 'approve');
      const approved = await f.request(r.id);
      await restartEightDaysLater(f);
      const after = await f.request(r.id);
      assert.equal(after.state, 'expired');
      const validUntil = new Date(Date.parse(approved.approvals[0].at) + 7 * 24 * HOUR).toISOString();
      assert.match(after.outcomeDetail ?? '', new RegExp(`^Not executed: it was approved at ${inUtc(approved.approvals[0].at)} but had not started when its approval stopped being valid at ${inUtc(validUntil)} \\(`));
      assert.match(f.notifier.told(r.id).at(-1) ?? '', new RegExp(`^Request ${r.id} was not executed: it was approved at ${inZone(approved.approvals[0].at).replace(/[().]/g, '\\$&')} but had not started when its approval stopped being valid at ${inZone(validUntil).replace(/[().]/g, '\\$&')} \\(maxScheduleAhead`));
    });

    it('a run that missed its maintenance window', async () => {
      const r = await askedInPersonalChat(DELETE, withWindows('[{ days: [sat, sun], from: "02:00", to: "05:00", zone: Europe/London }]'));
      await click(f, bob, r, 'approve');
      at(f, '2026-03-07T05:30:00Z');
      await f.app.catchUp();
      await f.app.sweepScheduled();
      await settle(f);
      const record = (await f.audit({ requestId: r.id })).filter((x) => x.type === 'request.scheduled').at(-1);
      assert.match(record?.outcome.detail ?? '', /^missed its maintenance window: it was due at 2026-03-07T02:00:00\.000Z, .*; runs in the next opening, at 2026-03-08T02:00:00\.000Z$/, 'the record keeps the ISO instants');
      assert.equal(f.notifier.told(r.id).at(-1), `Request ${r.id} did not run: it missed its maintenance window: it was due at ${inZone('2026-03-07T02:00:00.000Z')}, and the window closed before Countersign could start it (no instance was running, or its start could not be recorded); runs in the next opening, at ${inZone('2026-03-08T02:00:00.000Z')}.`);
    });

    it('a scheduled request someone else cancelled', async () => {
      const r = await askedInPersonalChat(`${DELETE} at 2026-03-02T12:00Z`);
      await click(f, bob, r, 'approve');
      assert.ok((await click(f, dave, await f.request(r.id), 'cancel')).ok);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(f.notifier.told(r.id), [`Request ${r.id} was cancelled by Dave Lead before it ran (it was to run at ${inZone('2026-03-02T12:00:00.000Z')}). Nothing was run.`]);
    });
  });
});
