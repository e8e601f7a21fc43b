/** Running an approved request: exactly once, only what was approved, by someone who still may, to a known end. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadConfig, parseConfig } from '../../src/config/load';
import { Countersign, ENDED_CARDS_WINDOW_MS, OPEN_CARDS_WINDOW_MS } from '../../src/app/countersign';
import { RefusalReason } from '../../src/domain/refusal';
import { shownVersion, type ApprovalRequest } from '../../src/domain/request';
import { recordReach } from '../../src/domain/lifecycle';
import { appOnFakes, SUBSCRIPTION, type AppOnFakes } from '../support/app-on-fakes';
import type { ExecutionScript } from '../support/memory-azure';
import { alice, bob, dave, EXAMPLE_CONFIG, opsChannel, sourceIn } from '../support/people';
import { reachConfigText } from '../support/reach';
import { asked, click, freshFakesEachTest, refusedWith, settle } from './steps';
import { EXECUTION_WRITE_RETRY_MS } from '../../src/app/execution-runner';
import { CommitOutcomeUnknownError } from '../../src/app/ports';
import { cutNextReadIn } from '../support/broken-commit';
import { eventually } from '../support/teams';
import type { AuditEventDraft } from '../../src/domain/audit';

const DELETE = 'delete resource group staging-old';
const TAG = 'tag rg-web owner platform-team';
const RG_WEB = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-web`;

describe('app: executing an approved request', () => {
  let f: AppOnFakes;
  // Before the settling below: an operation Azure still holds would keep it waiting.
  afterEach(() => f.azure.release());
  freshFakesEachTest({ set: (made) => (f = made), get: () => f }, {}, { noCrash: true });

  /**
   * A request approved and claimed by this run, whose operation Azure holds (with notAccepted: never
   * took); another run, for which its lease has lapsed.
   */
  async function leftToAnotherRun(text: string, script: Omit<ExecutionScript, 'hold'> = {}) {
    const r = await asked(f, alice, text);
    f.azure.nextExecution({ hold: true, ...script });
    await click(f, bob, r, 'approve');
    await f.azure.whenHeld();
    const other = f.anotherRun();
    assert.deepEqual(await other.resumeAbandoned(), [], 'not while the lease holds');
    f.clock.advance(60_000);
    return { r, other };
  }

  /**
   * Lets the held operation end and both runs settle. The first run, whose lease another took over
   * while Azure held its operation, records what Azure then told it beside the row, and logs it.
   */
  async function toTheEnd(other: Awaited<ReturnType<typeof leftToAnotherRun>>['other']): Promise<void> {
    await other.executor.idle();
    f.azure.release();
    await settle(f, other);
    const told = f.log.lines.filter((l) => l.msg === "execution outcome not recorded as the request's: another run holds it, or it ended");
    assert.deepEqual(told.map((l) => [l.level, l.owner]), [['error', 'run-a']]);
    assert.equal((await f.audit({ types: ['execution.lease_lost'] })).length, 1);
    f.log.lines.splice(0, f.log.lines.length, ...f.log.lines.filter((l) => !told.includes(l)));
  }

  it('runs the operation once after the last approval, and records how it ended', async () => {
    const r = await asked(f, alice, DELETE);
    await click(f, bob, r, 'approve');
    await settle(f);
    assert.equal(f.azure.started.length, 1);
    assert.deepEqual(f.azure.started[0].op, r.operation);
    assert.equal(f.azure.started[0].correlationId, 'corr-1', 'the ARM call carries the correlation id recorded at the claim');
    const done = await f.request(r.id);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.execution?.ref.pollUrl, 'https://management.azure.test/operations/op-1');
    assert.equal(done.execution?.lease, undefined);
    assert.deepEqual(
      (await f.audit({ requestId: r.id })).map((x) => x.type),
      ['request.created', 'approval.granted', 'request.approved', 'execution.started', 'execution.progressed', 'execution.succeeded'],
    );
    assert.deepEqual(f.notifier.told(r.id), [`Request ${r.id} (delete resource group) succeeded.`]);
  });

  it('refreshes the cards on every change people see, and not for bookkeeping (ARM reference, lease)', async () => {
    const r = await asked(f, alice, DELETE);
    f.azure.nextExecution({ progress: [{ state: 'Running', done: 1, total: 2 }] });
    await click(f, bob, r, 'approve');
    await settle(f);
    // v4 (ARM's reference recorded) is stored but refreshes no card.
    // The seventh: the outcome message recorded as sent, bookkeeping no card shows.
    assert.equal((await f.store.auditAccess.requestVersions(r.id)).length, 7);
    assert.deepEqual(f.notifier.cardRefreshes(r.id), ['approved@2', 'executing@3', 'executing@5', 'succeeded@6']);
  });

  it('does not refresh the cards when the lease is renewed', async () => {
    f = appOnFakes({ executor: { leaseMs: 300 } });
    const r = await asked(f, alice, DELETE);
    f.azure.nextExecution({ hold: true });
    await click(f, bob, r, 'approve');
    await f.azure.whenHeld();
    const before = await f.request(r.id);
    const refreshes = f.notifier.cardRefreshes(r.id).length;
    // Renewed every third of the lease, on a real timer.
    await new Promise((resolve) => setTimeout(resolve, 350));
    const after = await f.request(r.id);
    assert.ok(after.version > before.version, 'the lease was renewed');
    assert.notEqual(after.execution?.lease?.expiresAt, undefined);
    assert.equal(f.notifier.cardRefreshes(r.id).length, refreshes);
    f.azure.release();
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
  });

  it('starts one execution however many approvals and restarts race for it', async () => {
    const r = await asked(f, alice, DELETE);
    const clicks = await Promise.all([click(f, bob, r, 'approve'), click(f, dave, r, 'approve')]);
    assert.deepEqual(clicks.map((c) => c.ok).sort(), [false, true]);
    const other = f.anotherRun();
    await Promise.all([f.app.catchUp(), other.catchUp()]);
    await settle(f, other);
    assert.equal(f.azure.executions.length, 1);
    assert.equal((await f.audit({ types: ['execution.started'] })).length, 1);
    assert.equal((await f.request(r.id)).state, 'succeeded');
  });

  it('does not execute when the target changed after approval: the request needs approving again', async () => {
    f.azure.setTarget(RG_WEB, { exists: true, etag: 'e1', facts: { 'tags.owner': 'web-team' } });
    const r = await asked(f, alice, TAG);
    f.azure.setTarget(RG_WEB, { exists: true, etag: 'e2', facts: { 'tags.owner': 'someone-else' } });
    await click(f, bob, r, 'approve');
    await settle(f);
    assert.equal(f.azure.executions.length, 0);
    const drifted = await f.request(r.id);
    assert.equal(drifted.state, 'needs_reapproval');
    assert.deepEqual(drifted.approvals, []);
    assert.notEqual(drifted.operationHash, r.operationHash);
    assert.deepEqual(drifted.drift?.changes, ['tags.owner: "web-team" → "someone-else"']);
    const [found] = await f.audit({ types: ['drift.detected'] });
    assert.equal(found.outcome.reason, RefusalReason.DriftDetected);
    assert.match(f.notifier.told(r.id)[0], /was not executed: what it would do changed since it was approved \(tags\.owner/);
    assert.deepEqual(f.notifier.cardRefreshes(r.id), ['approved@2', 'needs_reapproval@3']);
    // The old card is stale; the refreshed one (with the new hash) approves what is true now.
    assert.equal(refusedWith(await click(f, bob, r, 'approve')), RefusalReason.StaleCard);
    assert.equal((await click(f, bob, drifted, 'approve')).ok, true);
    await settle(f);
    assert.equal(f.azure.executions.length, 1);
    assert.equal((await f.request(r.id)).state, 'succeeded');
  });

  it('does not execute when the target cannot be read again before executing', async () => {
    const r = await asked(f, alice, TAG);
    f.azure.failNextSnapshot('ServiceUnavailable: try later');
    await click(f, bob, r, 'approve');
    await settle(f);
    assert.equal(f.azure.executions.length, 0);
    const failed = await f.request(r.id);
    assert.equal(failed.state, 'failed');
    assert.match(failed.outcomeDetail ?? '', /DriftCheckFailed: Not executed: the target could not be read again: ServiceUnavailable/);
  });

  /** A request approved while Azure throttles the first `reads` of its drift check (three tries more, 1 ms apart). */
  async function approvedWhileThrottled(reads: number): Promise<ApprovalRequest> {
    f = appOnFakes({ executor: { driftRetryDelaysMs: [1, 1, 1] } });
    const r = await asked(f, alice, TAG);
    f.azure.throttleSnapshots(reads);
    await click(f, bob, r, 'approve');
    await settle(f);
    return r;
  }

  it('reads the target again when Azure throttles the drift check, and executes once it can: the approval is kept', async () => {
    const r = await approvedWhileThrottled(2);
    assert.equal(f.azure.executions.length, 1);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.equal(f.log.lines.filter((l) => l.msg === 'drift check could not read Azure; trying again').length, 2);
  });

  it('fails without executing when Azure throttles every try of the drift check', async () => {
    const r = await approvedWhileThrottled(4);
    assert.equal(f.azure.executions.length, 0);
    assert.match((await f.request(r.id)).outcomeDetail ?? '', /DriftCheckFailed: Not executed: the target could not be read again: TooManyRequests/);
  });

  it('leaves an approved request approved when stopped while waiting to check its drift again', async () => {
    f = appOnFakes({ executor: { driftRetryDelaysMs: [60_000] } });
    const r = await asked(f, alice, TAG);
    f.azure.throttleSnapshots(1);
    await click(f, bob, r, 'approve');
    while (!f.log.lines.some((l) => l.msg === 'drift check could not read Azure; trying again')) await new Promise((resolve) => setTimeout(resolve, 5));
    await f.app.executor.stop();
    assert.equal((await f.request(r.id)).state, 'approved', 'the next start runs it');
    assert.equal(f.azure.executions.length, 0);
  });

  it('does not start the operation when a stop began while Azure was still answering the drift check: it stays approved for the next start', async () => {
    const r = await asked(f, alice, TAG);
    const snapshot = f.azure.snapshot.bind(f.azure);
    let answer!: () => void;
    const held = new Promise<void>((resolve) => (answer = resolve));
    let asking!: () => void;
    const asked2 = new Promise<void>((resolve) => (asking = resolve));
    f.azure.snapshot = async (op) => {
      asking();
      await held;
      return snapshot(op);
    };
    await click(f, bob, r, 'approve');
    await asked2;
    const stopped = f.app.executor.stop();
    answer();
    await stopped;
    assert.equal((await f.request(r.id)).state, 'approved', 'the next start runs it');
    assert.equal(f.azure.executions.length, 0, 'nothing was sent to Azure after the stop began');
    assert.equal((await f.audit({ types: ['execution.started'] })).length, 0);
  });

  it('sends nothing to Azure when a stop began while the claim was being written: the lease is let go for the next start', async () => {
    const r = await asked(f, alice, TAG);
    const update = f.store.requests.update.bind(f.store.requests);
    let stopped: Promise<void> | undefined;
    f.store.requests.update = async (request, expected, events) => {
      const records = await update(request, expected, events);
      if (!stopped && events?.some((e) => e.type === 'execution.started')) stopped = f.app.executor.stop();
      return records;
    };
    await click(f, bob, r, 'approve');
    while (!stopped) await new Promise((resolve) => setTimeout(resolve, 5));
    await stopped;
    assert.equal(f.azure.executions.length, 0, 'nothing was sent to Azure after the stop began');
    const left = await f.request(r.id);
    assert.equal(left.state, 'executing');
    assert.ok(Date.parse(left.execution?.lease?.expiresAt ?? '') <= f.clock.now().getTime(), 'the lease let go: the next start resumes it at once');
    assert.deepEqual(await f.anotherRun().resumeAbandoned(), [r.id], 'taken over at once, not after the lease');
    // One instance (the default): the next start is what resumes it, and it was let go, not expired.
    assert.ok(f.log.lines.some((l) => l.msg === 'execution let go at the stop: the next start resumes it'));
    assert.deepEqual(
      f.log.lines.filter((l) => l.msg?.startsWith('execution taken over')).map((l) => [l.msg, l.previousOwner, l.releasedAt]),
      [['execution taken over from an earlier run, which let its lease go', 'run-a', f.clock.now().toISOString()]],
    );
    const [resumed] = await f.audit({ types: ['execution.resumed'] });
    assert.match(resumed.outcome.detail ?? '', /^run-a let its lease go at .*; run-b resumed it, reconciling from the target's state/);
  });

  it('says, with several instances, that another instance takes over what a stop let go, and that the lease was let go, not expired', async () => {
    const r = await asked(f, alice, TAG);
    const shared = new Countersign(f.deps, { owner: 'run-a', instances: 3 });
    const update = f.store.requests.update.bind(f.store.requests);
    let stopped: Promise<void> | undefined;
    f.store.requests.update = async (request, expected, events) => {
      const records = await update(request, expected, events);
      if (!stopped && events?.some((e) => e.type === 'execution.started')) stopped = shared.executor.stop();
      return records;
    };
    await click({ app: shared }, bob, r, 'approve');
    while (!stopped) await new Promise((resolve) => setTimeout(resolve, 5));
    await stopped;
    assert.ok(f.log.lines.some((l) => l.msg === 'execution let go at the stop: another instance takes it over, or the next start resumes it'), JSON.stringify(f.log.lines.map((l) => l.msg)));
    assert.deepEqual(await f.anotherRun({ instances: 3 }).resumeAbandoned(), [r.id]);
    assert.deepEqual(f.log.lines.filter((l) => l.msg?.startsWith('execution taken over')).map((l) => l.msg), ['execution taken over from another instance, which let its lease go']);
  });

  it('lets go at once of an execution it took over when a stop began while the takeover was written', async () => {
    const { r, other } = await leftToAnotherRun(DELETE);
    const update = f.store.requests.update.bind(f.store.requests);
    let stopped: Promise<void> | undefined;
    f.store.requests.update = async (request, expected, events) => {
      const records = await update(request, expected, events);
      if (!stopped && events?.some((e) => e.type === 'execution.resumed')) stopped = other.executor.stop();
      return records;
    };
    assert.deepEqual(await other.resumeAbandoned(), [r.id]);
    await stopped;
    const left = await f.request(r.id);
    assert.equal(left.execution?.lease?.owner, 'run-b');
    assert.ok(Date.parse(left.execution?.lease?.expiresAt ?? '') <= f.clock.now().getTime(), 'the lease let go: the next start resumes it at once');
    await toTheEnd(other);
  });

  describe('when the store cannot take a write for a moment while Azure runs the operation', () => {
    const delays = [...EXECUTION_WRITE_RETRY_MS];
    before(() => EXECUTION_WRITE_RETRY_MS.splice(0, EXECUTION_WRITE_RETRY_MS.length, 5, 5, 5));
    after(() => EXECUTION_WRITE_RETRY_MS.splice(0, EXECUTION_WRITE_RETRY_MS.length, ...delays));
    const busy = () => new Error('the store is locked by another process (database is locked): waited 5000 ms for its write lock, nothing was written');

    /** The request writes whose audit records match `which` fail `times` times (`landing`: the write lands, then its outcome is unknown). */
    function failingWrites(which: (e: AuditEventDraft) => boolean, times: number, landing = false): void {
      const update = f.store.requests.update.bind(f.store.requests);
      let left = times;
      f.store.requests.update = async (request, expected, events) => {
        if (events?.some(which) && left-- > 0) {
          if (!landing) throw busy();
          await update(request, expected, events);
          throw new CommitOutcomeUnknownError(new Error('Connection terminated unexpectedly'));
        }
        return update(request, expected, events);
      };
    }
    const accepted = (e: AuditEventDraft) => e.type === 'execution.progressed' && e.outcome.detail === 'accepted by Azure Resource Manager';

    it('records what Azure accepted once the store takes it, and ends as Azure did, not unknown', async () => {
      failingWrites(accepted, 2);
      failingWrites((e) => e.type === 'execution.succeeded', 1);
      const r = await asked(f, alice, DELETE);
      await click(f, bob, r, 'approve');
      await settle(f);
      assert.equal((await f.request(r.id)).state, 'succeeded');
      assert.equal(f.log.lines.filter((l) => l.msg === 'recording what Azure accepted failed; trying again').length, 2);
      assert.equal(f.log.lines.filter((l) => l.msg === 'recording how the execution ended failed; trying again').length, 1);
      assert.equal(f.azure.executions.length, 1, 'sent to Azure once');
    });

    it('logs renewals of the lease that keep failing once, and once when one works again, renewing all the while', async () => {
      f = appOnFakes({ executor: { leaseMs: 300 } });
      const r = await asked(f, alice, DELETE);
      f.azure.nextExecution({ hold: true });
      await click(f, bob, r, 'approve');
      await f.azure.whenHeld();
      const update = f.store.requests.update.bind(f.store.requests);
      let full = true;
      let tried = 0;
      let worked = 0;
      f.store.requests.update = async (request, expected, events) => {
        if (full) {
          tried++;
          throw new Error('database or disk is full');
        }
        worked++;
        return update(request, expected, events);
      };
      // Renewed every 100 ms, on a real timer: waited for by the renewals seen, not by time, which a
      // loaded machine stretches (its timers fire late, and fewer of them in a given time).
      await eventually('three renewals tried', () => tried >= 3);
      const failed = () => f.log.lines.filter((l) => (l.msg ?? '').startsWith('lease renewal failed'));
      assert.equal(failed().length, 1);
      full = false;
      const again = () => f.log.lines.filter((l) => l.msg === 'lease renewal works again');
      await eventually('a renewal worked again', () => again().length > 0);
      // One more renewal that works, which says nothing.
      const renewals = worked;
      await eventually('another renewal', () => worked > renewals);
      assert.equal(again().length, 1);
      assert.equal(again()[0].failed, tried);
      f.azure.release();
      await settle(f);
      assert.equal((await f.request(r.id)).state, 'succeeded');
      assert.equal(failed().length, 1);
    });

    it('does not record it twice when a write whose outcome was unknown had landed', async () => {
      failingWrites(accepted, 1, true);
      const r = await asked(f, alice, DELETE);
      await click(f, bob, r, 'approve');
      await settle(f);
      assert.equal((await f.request(r.id)).state, 'succeeded');
      const acceptances = (await f.audit({ requestId: r.id, types: ['execution.progressed'] })).filter((x) => x.outcome.detail === 'accepted by Azure Resource Manager');
      assert.equal(acceptances.length, 1);
    });

    it('records no lost lease when the ending\'s commit landed, its answer was lost and the read back failed too', async () => {
      failingWrites((e) => e.type === 'execution.succeeded', 1, true);
      cutNextReadIn(f.store.requests, 'succeeded');
      const r = await asked(f, alice, DELETE);
      await click(f, bob, r, 'approve');
      await settle(f);
      assert.equal((await f.request(r.id)).state, 'succeeded');
      assert.deepEqual(await f.audit({ requestId: r.id, types: ['execution.lease_lost'] }), [], 'this run ended it: no lease was lost');
      assert.deepEqual(f.log.lines.filter((l) => l.level === 'error'), []);
      f.log.lines.length = 0;
    });

    it('goes on when a progress step cannot be recorded: the card misses that step, the outcome is Azure\'s', async () => {
      failingWrites((e) => e.type === 'execution.progressed' && !accepted(e), 5);
      f.azure.nextExecution({ progress: [{ state: 'Running', done: 1, total: 2 }] });
      const r = await asked(f, alice, DELETE);
      await click(f, bob, r, 'approve');
      await settle(f);
      assert.equal((await f.request(r.id)).state, 'succeeded');
      assert.ok(f.log.lines.some((l) => l.msg === 'recording the progress of an execution failed; the operation goes on'));
    });

    it('ends unknown only when the store still cannot take what Azure accepted after every retry, saying Azure accepted it and the store refused', async () => {
      failingWrites(accepted, 10);
      const r = await asked(f, alice, DELETE);
      await click(f, bob, r, 'approve');
      await settle(f);
      const ended = await f.request(r.id);
      assert.equal(ended.state, 'unknown');
      // Not the store's words alone ("ExecutionError: … database is locked …"), which read as Azure's answer.
      assert.match(ended.outcomeDetail ?? '', /^AcceptedNotRecorded: Azure accepted the operation, but Countersign could not record that in its database \(the store is locked by another process .*\) and stopped following it: look for correlation id \S+ in the target's activity log$/);
      assert.match(f.notifier.told(r.id).at(-1) ?? '', /ended in an unknown state: AcceptedNotRecorded: Azure accepted the operation, but Countersign could not record that/);
    });
  });

  it("checks the approvers' roles again when executing: an approval from someone who lost the role does not count", async () => {
    const r = await asked(f, alice, DELETE);
    // This run stops right after the approval is committed (as a crash would), before executing.
    await f.app.executor.stop();
    await click(f, bob, r, 'approve');
    assert.equal((await f.request(r.id)).state, 'approved');
    // The next start runs a configuration in which Bob is no longer an approver.
    const text = readFileSync(EXAMPLE_CONFIG, 'utf8').replace('    - 22222222-2222-4222-8222-222222222222 # Bob Approver\n', '');
    const restarted = new Countersign({ ...f.deps, config: parseConfig(text, EXAMPLE_CONFIG) }, { owner: 'run-b' });
    await restarted.catchUp();
    await restarted.executor.idle();
    assert.equal(f.azure.executions.length, 0);
    const failed = await f.request(r.id);
    assert.equal(failed.state, 'failed');
    const [revoked] = await f.audit({ types: ['approval.revoked'] });
    assert.equal(revoked.outcome.reason, RefusalReason.ApproverLostRole);
    assert.match(f.notifier.told(r.id)[0], /was not executed: Bob Approver no longer hold\(s\) the approver role/);
  });

  /**
   * Alice's delete approved by Bob while no execution runs, then a restart whose config has the delete
   * command's line `line` (the example config's) written as `replacement`: the request as approved.
   */
  async function approvedThenRestartedWith(line: string, replacement: string): Promise<ApprovalRequest> {
    const r = await asked(f, alice, DELETE);
    await f.app.executor.stop();
    await click(f, bob, r, 'approve');
    assert.equal((await f.request(r.id)).state, 'approved');
    const example = readFileSync(EXAMPLE_CONFIG, 'utf8');
    const command = example.indexOf('  - name: delete resource group\n');
    const at = example.indexOf(line, command);
    assert.ok(command >= 0 && at > command, `the example config changed: find the delete command's ${line.trim()}`);
    const text = example.slice(0, at) + replacement + example.slice(at + line.length);
    const restarted = new Countersign({ ...f.deps, config: parseConfig(text, EXAMPLE_CONFIG) }, { owner: 'run-b' });
    await restarted.catchUp();
    await restarted.executor.idle();
    return r;
  }

  it('checks the approvals against the command\'s policy as configured now: one tightened since the approval fails the run, nothing sent', async () => {
    // The next start runs a configuration in which the command needs two approvals (a change freeze).
    const r = await approvedThenRestartedWith('      approvals: 1\n', '      approvals: 2\n');
    assert.equal(f.azure.executions.length, 0);
    assert.equal((await f.request(r.id)).state, 'failed');
    const [revoked] = await f.audit({ types: ['approval.revoked'] });
    assert.equal(revoked.outcome.reason, RefusalReason.PolicyTightened);
    assert.match(f.notifier.told(r.id)[0], /was not executed: the policy of "delete resource group" changed after it was approved and now needs 2 from /);
  });

  it('holds a request approved before its command got maintenance windows to them: outside every window now, it fails, nothing sent', async () => {
    // The next start runs a configuration that lets the command run only at weekends (a change freeze on weekdays); now is a Monday.
    const r = await approvedThenRestartedWith('      ttl: 1h\n', '      windows: [{ days: [sat, sun], from: "02:00", to: "05:00", zone: UTC }]\n      ttl: 1h\n');
    assert.equal(f.azure.executions.length, 0);
    assert.equal((await f.request(r.id)).state, 'failed');
    const [revoked] = await f.audit({ types: ['approval.revoked'] });
    assert.equal(revoked.outcome.reason, RefusalReason.PolicyTightened);
    assert.match(f.notifier.told(r.id)[0], /was not executed: "delete resource group" may now run only in its maintenance windows \(sat\/sun 02:00-05:00 UTC\), and none is open/);
  });

  it('holds a request to the command\'s reason rule as configured now: a reason required since (none was given) fails the run, naming the rule, nothing sent', async () => {
    // The next start runs a configuration in which the delete needs a reason of 20 characters; Alice gave none.
    const r = await approvedThenRestartedWith('      ttl: 1h\n', '      reason: { required: true, minLength: 20 }\n      ttl: 1h\n');
    assert.equal(f.azure.executions.length, 0);
    const failed = await f.request(r.id);
    assert.equal(failed.state, 'failed');
    const [revoked] = await f.audit({ types: ['approval.revoked'] });
    assert.deepEqual([revoked.outcome.reason, revoked.outcome.detail], [RefusalReason.ReasonRuleTightened, failed.outcomeDetail]);
    assert.match(
      f.notifier.told(r.id)[0],
      /was not executed: the reason rule of "delete resource group" \(policy\.reason\) changed after it was asked for, and its reason no longer meets it: This command needs a reason \(at least 20 characters\)\. Nothing was sent to Azure: ask again, with a reason the rule now takes/,
    );
  });

  it('holds a request to where its command may be asked for as configured now: asked in a channel no longer allowed, the run fails, naming the rule, nothing sent', async () => {
    const r = await approvedThenRestartedWith('        types: [channel, groupChat, personal]\n', '        types: [personal]\n');
    assert.equal(f.azure.executions.length, 0);
    assert.equal((await f.request(r.id)).state, 'failed');
    const [revoked] = await f.audit({ types: ['approval.revoked'] });
    assert.equal(revoked.outcome.reason, RefusalReason.ConversationRuleTightened);
    assert.match(f.notifier.told(r.id)[0], /was not executed: the conversations rule of "delete resource group" changed after it was asked for: it may now be asked for only in a personal chat \(policy\.conversations\.types\), and it was asked for in a channel\. Nothing was sent to Azure: ask again, from a conversation the rule now allows\./);
  });

  it('runs nothing more of a command taken out of the config (or made read-only): an approved request and a break-glass use both fail, named as such, nothing sent', async () => {
    const withBreakGlass = reachConfigText(['breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h }']);
    f = appOnFakes({ configText: withBreakGlass });
    const r = await asked(f, alice, DELETE);
    await f.app.executor.stop();
    await click(f, bob, r, 'approve');
    const meant = f.app.interpret('break-glass delete resource group production-api-service reason: outage INC-42, the group holds the leaking key');
    assert.ok(meant.kind === 'break-glass' && meant.request.kind === 'ready');
    const used = await f.app.breakGlass({ command: meant.request.command, values: meant.request.values, reason: meant.request.reason, actor: alice, source: sourceIn(opsChannel, 'bg-1') });
    assert.ok(used.ok, JSON.stringify(used));
    assert.deepEqual([(await f.request(r.id)).state, (await f.request(used.request.id)).state], ['approved', 'approved']);
    // The targets changed meanwhile: no re-approval is asked for a command that is gone.
    f.azure.setTarget('staging-old', { exists: true, etag: 'changed', facts: { 'tags.owner': 'someone-else' } });
    f.azure.setTarget('production-api-service', { exists: true, etag: 'changed', facts: { 'tags.owner': 'someone-else' } });
    const snapshotsBefore = f.azure.snapshotCalls.length;
    // The next start runs a config without the command (an operator stopping it).
    const start = withBreakGlass.indexOf('  - name: delete resource group\n');
    const end = withBreakGlass.indexOf('\n  - name: ', start + 10) + 1;
    assert.ok(start >= 0 && end > start, 'the example config changed: find the delete command');
    const restarted = new Countersign({ ...f.deps, config: parseConfig(withBreakGlass.slice(0, start) + withBreakGlass.slice(end), EXAMPLE_CONFIG) }, { owner: 'run-b' });
    await restarted.catchUp();
    await restarted.executor.idle();
    assert.equal(f.azure.executions.length, 0, 'nothing sent to Azure');
    assert.equal(f.azure.snapshotCalls.length, snapshotsBefore, 'Azure not even read for a drift');
    for (const id of [r.id, used.request.id]) {
      const failed = await f.request(id);
      assert.equal(failed.state, 'failed');
      assert.equal(failed.outcomeDetail, 'Not executed: the command "delete resource group" is no longer in the config. Nothing was sent to Azure.');
    }
    const revoked = await f.audit({ types: ['approval.revoked'] });
    assert.deepEqual(revoked.map((x) => x.outcome.reason), [RefusalReason.CommandRemoved, RefusalReason.CommandRemoved]);
  });

  it('fails, audited as not in its audit trail, a row edited into another shape (an approval without its approver): nothing is read or sent, the requester is told', async () => {
    const r = await asked(f, alice, DELETE);
    // What someone with write access to the database could write: an approval in the wrong layout.
    const row = await f.request(r.id);
    const forged = { ...row, state: 'approved', version: row.version + 1, approvals: [{ approverId: bob.aadObjectId, approverName: 'bob', at: f.clock.now().toISOString(), operationHash: row.operationHash }] };
    f.store.state.requests.set(r.id, { version: forged.version, text: JSON.stringify(forged) });
    const reads = f.azure.snapshotCalls.length;
    await f.app.catchUp();
    await settle(f);
    assert.deepEqual([f.azure.executions.length, f.azure.snapshotCalls.length - reads], [0, 0], 'nothing was sent to Azure, nor read for a drift');
    const failed = await f.request(r.id);
    assert.equal(failed.state, 'failed');
    assert.match(failed.outcomeDetail ?? '', /^Not executed: its stored row does not read as a request \(approvals\[0\]\.approver is missing\), so its stored row does not match its audit trail/);
    const [revoked] = await f.audit({ requestId: r.id, types: ['approval.revoked'] });
    assert.equal(revoked?.outcome.reason, RefusalReason.NotInAudit);
    assert.match(f.notifier.told(r.id)[0] ?? '', /^Request CS-\d+ was not executed\. Not executed: its stored row does not read as a request/);
    assert.deepEqual(f.log.lines.filter((l) => l.level === 'error').map((l) => [l.msg, l.problem]), [
      ["not executed: the request's stored row does not match its audit trail", 'its stored row does not read as a request (approvals[0].approver is missing)'],
    ]);
    f.log.lines.length = 0;
  });

  it('executes on the next start a request approved before a restart, when the approver still holds the role', async () => {
    const r = await asked(f, alice, DELETE);
    await f.app.executor.stop();
    await click(f, bob, r, 'approve');
    const restarted = new Countersign({ ...f.deps, config: loadConfig(EXAMPLE_CONFIG) }, { owner: 'run-b' });
    await restarted.catchUp();
    await restarted.executor.idle();
    assert.equal(f.azure.executions.length, 1);
    assert.equal((await f.request(r.id)).state, 'succeeded');
  });

  it('tries a start cut by a lost store connection again on the same instance, at once after its wait, not 2 minutes later: sent once', async () => {
    f = appOnFakes({ executor: { startRetryDelaysMs: [5, 5, 5] } });
    const r = await asked(f, alice, DELETE);
    // The start's first read of the approved request meets a connection the network reset (as PostgreSQL's pool does).
    cutNextReadIn(f.store.requests, 'approved');
    await click(f, bob, r, 'approve');
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded', 'started again by its own instance, with no sweep');
    assert.equal(f.azure.started.length, 1, 'sent to Azure once');
    assert.deepEqual(
      f.log.lines.filter((l) => l.level !== 'info').map((l) => `${l.level} ${l.msg}`),
      ['warn starting an approved request failed; trying again'],
    );
    f.log.lines.length = 0;
  });

  it('starts again, from the periodic sweep, an approved request whose claim could not be written; never one still being run', async () => {
    // Its instance's own tries of the start spent (none here), the sweep is what is left.
    f = appOnFakes({ executor: { strandedAfterMs: 60_000, startRetryDelaysMs: [] } });
    const r = await asked(f, alice, DELETE);
    lockFirstClaim(f);
    await click(f, bob, r, 'approve');
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'approved', 'the run ended with the claim unwritten');
    assert.equal(f.azure.started.length, 0);
    assert.deepEqual(await f.app.runStranded(), [], 'too soon: a drift check may still be under way');
    f.clock.advance(60_000);
    assert.deepEqual(await f.app.runStranded(), [r.id]);
    assert.deepEqual(await f.app.runStranded(), [], 'not twice while it runs');
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.equal(f.azure.started.length, 1, 'sent to Azure once');
    assert.deepEqual(await f.app.runStranded(), []);
    // The failed first run was logged as such; nothing else.
    assert.deepEqual(f.log.lines.filter((l) => l.level === 'error').map((l) => l.msg), ['execution crashed']);
    f.log.lines.length = 0;
  });

  it('starts a stranded request again in its time when a message it owed was settled meanwhile: that bookkeeping does not restart the wait', async () => {
    f = appOnFakes({ executor: { strandedAfterMs: 60_000, startRetryDelaysMs: [] } });
    const r = await asked(f, alice, DELETE);
    lockFirstClaim(f);
    await click(f, bob, r, 'approve');
    await settle(f);
    // A message an earlier change owed its requester (an escalation's, say) that a dead run left owed.
    const approved = await f.request(r.id);
    assert.equal(approved.state, 'approved');
    const owed = { since: approved.updatedAt, takenAt: approved.updatedAt, attempts: 1, text: `Request ${r.id} was escalated.` };
    await f.store.requests.update({ ...approved, version: approved.version + 1, outcomeMessage: owed }, approved.version, []);
    f.clock.advance(50_000);
    f.deps.onlyInstanceSince = f.clock.now();
    try {
      assert.deepEqual(await f.app.sendOwedMessages(), [r.id], 'the owed message is sent and settled 50 s after the approval');
    } finally {
      f.deps.onlyInstanceSince = undefined;
    }
    const settled = await f.request(r.id);
    assert.equal(settled.outcomeMessage, undefined);
    assert.equal(settled.version, approved.version + 3, 'taken and settled: two more versions, each checked against the one before');
    assert.equal(settled.updatedAt, approved.updatedAt, 'bookkeeping no card shows does not move the time of its last change');
    f.clock.advance(10_000);
    assert.deepEqual(await f.app.runStranded(), [r.id], 'approved a minute ago: started again, not two minutes after the settling');
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.equal(f.azure.started.length, 1, 'sent to Azure once');
    f.log.lines.length = 0;
  });

  it('starts a break-glass use nobody runs again in its time when the outcome of its notice, which its card shows, landed meanwhile', async () => {
    f = appOnFakes({ configText: reachConfigText(['breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h }']), executor: { strandedAfterMs: 60_000, startRetryDelaysMs: [] } });
    lockFirstClaim(f);
    const meant = f.app.interpret('break-glass delete resource group production-api-service reason: outage INC-42, the group holds the leaking key');
    assert.ok(meant.kind === 'break-glass' && meant.request.kind === 'ready');
    const used = await f.app.breakGlass({ command: meant.request.command, values: meant.request.values, reason: meant.request.reason, actor: alice, source: sourceIn(opsChannel, 'bg-1') });
    assert.ok(used.ok, JSON.stringify(used));
    await settle(f);
    const approved = await f.request(used.request.id);
    assert.equal(approved.state, 'approved', 'its claim failed: nobody runs it');
    // 50 s later, its notice's round records Bob as not reached: the card of a use waiting for its review shows that.
    f.clock.advance(50_000);
    const t = recordReach(approved, f.clock.now(), { occasion: 'break-glass', reached: [], unreachable: [{ id: bob.aadObjectId, name: bob.name, why: 'Teams answered 500' }] });
    assert.ok(t.ok);
    await f.store.requests.update(t.request, approved.version, t.events);
    const noted = await f.request(approved.id);
    assert.equal(shownVersion(noted), noted.version, 'a change its card shows');
    assert.equal(noted.updatedAt, f.clock.now().toISOString());
    f.clock.advance(10_000);
    assert.deepEqual(await f.app.runStranded(), [approved.id], 'used a minute ago: started again, not a minute after the round\'s outcome');
    await settle(f);
    assert.equal((await f.request(approved.id)).state, 'succeeded');
    assert.equal(f.azure.started.length, 1, 'sent to Azure once');
    f.log.lines.length = 0;
  });

  it('starts a stranded request again in its time after the wall clock stepped back an hour, counting how long this instance saw it approved', async () => {
    let elapsed = 0;
    f = appOnFakes({ executor: { strandedAfterMs: 60_000, startRetryDelaysMs: [] } });
    // The system clock's two faces: the wall time the test steps, and the monotonic one no step moves.
    const wall = f.clock;
    f.deps.clock = { now: () => wall.now(), elapsed: () => elapsed };
    const r = await asked(f, alice, DELETE);
    lockFirstClaim(f);
    await click(f, bob, r, 'approve');
    await settle(f);
    f.clock.advance(-3_600_000);
    assert.deepEqual(await f.app.runStranded(), [], 'too soon');
    f.clock.advance(60_000);
    elapsed += 60_000;
    assert.deepEqual(await f.app.runStranded(), [r.id], 'approved a minute ago by the monotonic clock, though an hour ahead by the stepped one');
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.equal(f.azure.started.length, 1, 'sent to Azure once');
    f.log.lines.length = 0;
  });

  it('at start, brings to their state the cards of requests that ended within the last day, or changed within the last hour', async () => {
    const done = await asked(f, alice, DELETE);
    await click(f, bob, done, 'approve');
    await settle(f);
    const open = await asked(f, alice, TAG);
    assert.equal((await f.request(done.id)).state, 'succeeded');
    const before = { done: f.notifier.cardRefreshes(done.id).length, open: f.notifier.cardRefreshes(open.id).length };
    // A new run starts (the last one stopped or died while the requests' last card updates waited).
    assert.equal(await f.anotherRun().refreshCards(), 2);
    assert.deepEqual(f.notifier.cardRefreshes(done.id).slice(before.done), [`succeeded@${(await f.request(done.id)).version}`]);
    assert.deepEqual(f.notifier.cardRefreshes(open.id).slice(before.open), [`pending@${(await f.request(open.id)).version}`]);
    f.clock.advance(OPEN_CARDS_WINDOW_MS + 1000);
    assert.equal(await f.anotherRun().refreshCards(), 1, 'an open request unchanged for an hour: its next change brings its cards up to date');
    f.clock.advance(ENDED_CARDS_WINDOW_MS);
    assert.equal(await f.anotherRun().refreshCards(), 0, 'ended more than a day ago: left alone');
  });

  it('at start, starts no other card update once Countersign is stopping: those under way finish, the next start brings the rest', async () => {
    const first = await asked(f, alice, TAG);
    for (let i = 0; i < 40; i++) await f.deps.store.requests.insert({ ...first, id: `${first.id}-${i}` }, []);
    // Card updates that take their time (a conversation's share of Teams' rate limit), until let go.
    const started: string[] = [];
    let letGo: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    f.deps.notifier.cardChanged = async (r) => {
      started.push(r.id);
      await held;
    };
    const stop = new AbortController();
    const refreshing = f.anotherRun().refreshCards(stop.signal);
    while (started.length < 20) await new Promise<void>((resolve) => setImmediate(resolve));
    stop.abort();
    letGo();
    assert.equal(await refreshing, 20, 'the 20 under way when the stop came, of 41');
    assert.equal(started.length, 20, 'no update started after the stop');
    // Without a stop every one of the 41 is brought up to date.
    started.length = 0;
    assert.equal(await f.anotherRun().refreshCards(), 41);
    assert.equal(started.length, 41);
  });

  it('records a failure with ARM\'s error and tells the requester', async () => {
    const r = await asked(f, alice, DELETE);
    f.azure.nextExecution({ outcome: 'failed', error: { code: 'ScopeLocked', message: 'the resource group is locked' } });
    await click(f, bob, r, 'approve');
    await settle(f);
    const failed = await f.request(r.id);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.outcomeDetail, 'ScopeLocked: the resource group is locked');
    const [record] = await f.audit({ types: ['execution.failed'] });
    assert.deepEqual(record.outcome, { result: 'error', reason: 'ScopeLocked', detail: 'ScopeLocked: the resource group is locked' });
    assert.deepEqual(f.notifier.told(r.id), [`Request ${r.id} (delete resource group) failed: ScopeLocked: the resource group is locked.`]);
  });

  it('records an unknown ending as unknown, never as success', async () => {
    const r = await asked(f, alice, DELETE);
    f.azure.nextExecution({ outcome: 'unknown', error: { code: 'PollTimeout', message: 'no answer from ARM' } });
    await click(f, bob, r, 'approve');
    await settle(f);
    assert.equal((await f.request(r.id)).state, 'unknown');
    const [record] = await f.audit({ types: ['execution.unknown'] });
    assert.deepEqual(record.outcome, { result: 'unknown', reason: 'PollTimeout', detail: 'PollTimeout: no answer from ARM' });
    assert.match(f.notifier.told(r.id)[0], /ended in an unknown state: PollTimeout: no answer from ARM\. Check the target in Azure/);
  });

  it('records a gateway that throws before ARM accepted the operation as failed', async () => {
    const r = await asked(f, alice, DELETE);
    f.azure.nextExecution({ throws: new Error('socket hang up') });
    await click(f, bob, r, 'approve');
    await settle(f);
    const failed = await f.request(r.id);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.outcomeDetail, 'ExecutionError: socket hang up');
  });

  it('takes over an execution whose lease expired and follows the same ARM operation, never starting it again', async () => {
    const { r, other } = await leftToAnotherRun(DELETE);
    assert.deepEqual(await other.resumeAbandoned(), [r.id]);
    await toTheEnd(other);
    assert.deepEqual(
      f.azure.executions.map((e) => e.mode),
      ['execute', 'resume'],
    );
    assert.equal(f.azure.executions[1].ref?.pollUrl, 'https://management.azure.test/operations/op-1');
    const done = await f.request(r.id);
    assert.equal(done.state, 'succeeded');
    const [resumed] = await f.audit({ types: ['execution.resumed'] });
    assert.match(resumed.outcome.detail ?? '', /The lease of run-a expired at .*; run-b resumed it, following the ARM operation it had started/);
    assert.deepEqual(f.log.lines.filter((l) => l.msg?.startsWith('execution taken')).map((l) => [l.level, l.msg, l.previousOwner, l.owner]), [['warn', 'execution taken over from an earlier run, whose lease expired', 'run-a', 'run-b']]);
    assert.equal((await f.audit({ types: ['execution.succeeded'] })).length, 1, 'the request has one outcome, the run that took over\'s');
    // What Azure told the run that lost its lease is recorded beside it, naming both runs' view.
    const [lost] = await f.audit({ types: ['execution.lease_lost'] });
    assert.equal(lost.outcome.detail, 'run-a could not record how the operation ended for it (succeeded): it no longer held the execution, and the request is succeeded.');
    assert.deepEqual(lost.data, { owner: 'run-a', sent: true, state: 'succeeded', outcome: 'succeeded' });
    assert.deepEqual([lost.outcome.result, lost.outcome.reason, lost.execution?.correlationId, lost.execution?.status], ['error', RefusalReason.LeaseLost, 'corr-1', 'succeeded']);
  });

  /** A request approved and claimed by this run, which then stops right before sending its operation (a paused process). */
  async function pausedBeforeSend(text: string) {
    const r = await asked(f, alice, text);
    f.azure.nextExecution({ pauseBeforeSend: true });
    await click(f, bob, r, 'approve');
    while (!f.azure.pausedBeforeSend) await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await f.request(r.id)).state, 'executing', 'claimed');
    return r;
  }

  it('sends nothing from a run stopped between its claim and the send once its lease passed and another run took over; records both runs\' view', async () => {
    const r = await pausedBeforeSend(DELETE);
    // Stopped for longer than its lease (a VM frozen, SIGSTOP): another run takes the execution over and ends it.
    f.clock.advance(60_000);
    const other = f.anotherRun();
    assert.deepEqual(await other.resumeAbandoned(), [r.id]);
    await other.executor.idle();
    assert.equal((await f.request(r.id)).state, 'succeeded');
    // The first run wakes up and goes on to the send.
    f.azure.resumeSend();
    await settle(f);
    assert.equal(f.azure.sent.length, 1, 'sent once, by the run that took over');
    assert.deepEqual(f.azure.withheld, ['the lease of run-a had 0 ms of its 60000 ms left, less than the third kept in hand for a send, so another run may hold the execution by now (was this process paused?)']);
    const [lost] = await f.audit({ requestId: r.id, types: ['execution.lease_lost'] });
    assert.equal(lost?.outcome.detail, `run-a did not send the operation: ${f.azure.withheld[0]}; nothing of the operation had been sent by it. The request is succeeded.`);
    assert.deepEqual([lost.outcome.result, lost.outcome.reason, lost.execution?.correlationId, lost.execution?.status], ['refused', RefusalReason.LeaseLost, 'corr-1', 'not-sent']);
    assert.deepEqual(lost.data, { owner: 'run-a', sent: false, state: 'succeeded' });
    assert.deepEqual(f.log.lines.filter((l) => l.level === 'error').map((l) => [l.msg, l.owner, l.state]), [['execution not sent: its lease had passed, and another run holds it or it ended', 'run-a', 'succeeded']]);
    f.log.lines.length = 0;
    assert.equal((await f.request(r.id)).state, 'succeeded', 'the request is as the run that took over left it');
  });

  it('records, by the run that holds it, an execution another run still holds when the stopped one wakes: both runs\' view', async () => {
    const r = await pausedBeforeSend(DELETE);
    f.clock.advance(60_000);
    const other = f.anotherRun();
    f.azure.nextExecution({ hold: true });
    assert.deepEqual(await other.resumeAbandoned(), [r.id]);
    await f.azure.whenHeld();
    f.azure.resumeSend();
    await f.app.executor.idle();
    const [lost] = await f.audit({ requestId: r.id, types: ['execution.lease_lost'] });
    assert.match(lost?.outcome.detail ?? '', /^run-a did not send the operation: .*; nothing of the operation had been sent by it\. The request is executing, executed by run-b until \d{4}-\d\d-\d\dT[\d:.]+Z\.$/);
    assert.equal(lost.data?.heldBy, 'run-b');
    f.azure.release();
    await settle(f, other);
    assert.equal(f.azure.sent.length, 1);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    f.log.lines.length = 0;
  });

  it('takes its lease again and sends once when it was stopped past the margin but nobody took the execution over', async () => {
    const r = await pausedBeforeSend(DELETE);
    // 50 s of a 60 s lease gone: less than the third kept in hand for a send, but still this run's.
    f.clock.advance(50_000);
    f.azure.resumeSend();
    await settle(f);
    assert.deepEqual(f.azure.executions.map((e) => e.mode), ['execute', 'execute'], 'the call withheld, then the same call again');
    assert.equal(f.azure.withheld.length, 1);
    assert.equal(f.azure.sent.length, 1);
    assert.equal((await f.request(r.id)).state, 'succeeded');
    assert.equal((await f.audit({ requestId: r.id, types: ['execution.lease_lost'] })).length, 0);
    assert.ok(f.log.lines.some((l) => l.level === 'warn' && l.msg === "execution not sent: its lease may have passed; it was still this run's and is taken again, and the execution goes on"));
  });

  it('sends nothing from a run stopped for days between its claim and the send, nobody having taken it over: its approval no longer holds', async () => {
    const r = await pausedBeforeSend(DELETE);
    // Stopped eight days (a frozen VM); no other instance ran. Its lease is still its own when it wakes.
    f.clock.advance(8 * 86_400_000);
    f.azure.resumeSend();
    await settle(f);
    assert.equal(f.azure.withheld.length, 1);
    assert.deepEqual(f.azure.sent, [], 'nothing was sent to Azure');
    const ended = await f.request(r.id);
    assert.equal(ended.state, 'failed');
    assert.match(ended.outcomeDetail ?? '', /^NotSentOnResume: Not executed: its approval stopped being valid at \S+ \(maxScheduleAhead\), before its operation was first sent on resuming it\. Nothing was sent to Azure; ask again\.$/);
  });

  it('takes an abandoned execution over once when two sweeps overlap (one still waiting for the store when the next begins)', async () => {
    const { r, other } = await leftToAnotherRun(DELETE);
    const [a, b] = await Promise.all([other.resumeAbandoned(), other.resumeAbandoned()]);
    assert.deepEqual([...a, ...b], [r.id]);
    await toTheEnd(other);
    assert.equal((await f.audit({ types: ['execution.resumed'] })).length, 1);
    assert.deepEqual(f.azure.executions.map((e) => e.mode), ['execute', 'resume']);
  });

  it('checks the target again before a resumed execution first sends its operation: changed since the claim, nothing is sent', async () => {
    f.azure.setTarget(RG_WEB, { exists: true, etag: 'e1', facts: { 'tags.owner': 'web-team' } });
    // The run claims it, then dies before Azure took the operation (throttled, an outage).
    const { r, other } = await leftToAnotherRun(TAG, { notAccepted: true });
    // Meanwhile the target changes; another run takes the execution over once the lease lapsed.
    f.azure.setTarget(RG_WEB, { exists: true, etag: 'e2', facts: { 'tags.owner': 'someone-else' } });
    assert.deepEqual(await other.resumeAbandoned(), [r.id]);
    await toTheEnd(other);
    assert.deepEqual(f.azure.sent, [], 'nothing was sent to Azure');
    const ended = await f.request(r.id);
    assert.equal(ended.state, 'failed');
    assert.match(ended.outcomeDetail ?? '', /^NotSentOnResume: Not executed: what it would do changed since it was approved \(tags\.owner: "web-team" → "someone-else"\), found before its operation was first sent on resuming it\. Nothing was sent to Azure; ask again\.$/);
  });

  it('sends nothing on resuming an execution Azure never took whose approver lost the role since the claim', async () => {
    const { r } = await leftToAnotherRun(TAG, { notAccepted: true });
    // Bob is taken out of platform-approvers while no instance ran it; the next start takes it over.
    const example = readFileSync(EXAMPLE_CONFIG, 'utf8');
    const withoutBob = example.replace(/\n {4}- 22222222-2222-4222-8222-222222222222 # Bob Approver/, '');
    assert.notEqual(withoutBob, example, 'the example config changed: find Bob among the approvers');
    const restarted = new Countersign({ ...f.deps, config: parseConfig(withoutBob, EXAMPLE_CONFIG) }, { owner: 'run-b' });
    assert.deepEqual(await restarted.resumeAbandoned(), [r.id]);
    await toTheEnd(restarted);
    assert.deepEqual(f.azure.sent, [], 'nothing was sent to Azure');
    const ended = await f.request(r.id);
    assert.equal(ended.state, 'failed');
    assert.match(ended.outcomeDetail ?? '', /^NotSentOnResume: Not executed: Bob Approver no longer hold\(s\) the approver role; 0 of 1 approval\(s\) still count\. Nothing was sent to Azure; ask again\.$/);
  });

  it('sends nothing on resuming an execution Azure never took whose command may no longer be asked for where it was, since the claim', async () => {
    const { r } = await leftToAnotherRun(TAG, { notAccepted: true });
    // The tag command is limited to another channel while no instance ran it; the next start takes it over.
    const example = readFileSync(EXAMPLE_CONFIG, 'utf8');
    const command = example.indexOf('  - name: tag\n');
    const at = example.indexOf('      requesterRoles: [requesters]\n', command);
    assert.ok(command >= 0 && at > command, 'the example config changed: find the tag command\'s requesterRoles');
    const limited = `${example.slice(0, at)}      conversations: { ids: ["19:other-channel@thread.tacv2"] }\n${example.slice(at)}`;
    const restarted = new Countersign({ ...f.deps, config: parseConfig(limited, EXAMPLE_CONFIG) }, { owner: 'run-b' });
    assert.deepEqual(await restarted.resumeAbandoned(), [r.id]);
    await toTheEnd(restarted);
    assert.deepEqual(f.azure.sent, [], 'nothing was sent to Azure');
    const ended = await f.request(r.id);
    assert.equal(ended.state, 'failed');
    assert.match(ended.outcomeDetail ?? '', /^NotSentOnResume: Not executed: the conversations rule of "tag" changed after it was asked for: it may now be asked for only in 1 listed conversation \(policy\.conversations\.ids\), not the one it was asked for in\. Nothing was sent to Azure; ask again\.$/);
  });

  it('sends nothing on resuming an execution Azure never took once its approval stopped being valid (days after the claim)', async () => {
    const { r, other } = await leftToAnotherRun(TAG, { notAccepted: true });
    // No instance ran for eight days: the approval (valid 7 days, maxScheduleAhead) no longer covers a first send.
    f.clock.advance(8 * 86_400_000);
    assert.deepEqual(await other.resumeAbandoned(), [r.id]);
    await toTheEnd(other);
    assert.deepEqual(f.azure.sent, [], 'nothing was sent to Azure');
    const ended = await f.request(r.id);
    assert.equal(ended.state, 'failed');
    assert.match(ended.outcomeDetail ?? '', /^NotSentOnResume: Not executed: its approval stopped being valid at \S+ \(maxScheduleAhead\), before its operation was first sent on resuming it\. Nothing was sent to Azure; ask again\.$/);
  });

  it('sends the operation of a resumed execution that Azure never took when the target is still as approved', async () => {
    const { r, other } = await leftToAnotherRun(TAG, { notAccepted: true });
    assert.deepEqual(await other.resumeAbandoned(), [r.id]);
    await toTheEnd(other);
    assert.equal(f.azure.sent.length, 1, 'sent once, by the run that resumed it');
    assert.equal((await f.request(r.id)).state, 'succeeded');
  });

  it('asks Azure to stop a running deployment when the requester cancels, and ends it cancelled', async () => {
    const r = await asked(f, alice, 'deploy staging api-service');
    f.azure.nextExecution({ hold: true, outcome: 'failed', error: { code: 'DeploymentCanceled', message: 'canceled by request' } });
    await click(f, bob, r, 'approve');
    await f.azure.whenHeld();
    const running = await f.request(r.id);
    assert.equal((await click(f, alice, running, 'cancel')).ok, true);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(f.azure.cancelCalls.length, 1);
    f.azure.release();
    await settle(f);
    const cancelled = await f.request(r.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.deepEqual(
      (await f.audit({ types: ['execution.cancel_requested', 'execution.cancelled'] })).map((x) => [x.type, x.actor?.name]),
      [
        ['execution.cancel_requested', 'Alice Requester'],
        ['execution.cancelled', 'Alice Requester'],
      ],
    );
  });
});

/** The claim (approved → executing) meets a write lock held past the wait, once. */
function lockFirstClaim(f: AppOnFakes): void {
  const requests = f.store.requests;
  const update = requests.update.bind(requests);
  let refused = 0;
  requests.update = async (next, expected, events) => {
    if (next.state === 'executing' && refused++ === 0) throw new Error('the store is locked by another process (database is locked): waited 5000 ms for its write lock, nothing was written');
    return update(next, expected, events);
  };
}
