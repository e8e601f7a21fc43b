/**
 * A property-based model test: random interleavings of requests, clicks from random people,
 * cancels, rejects, expiry, delegations and their revocations, crashes and restarts, driven through the use cases against the real
 * SQLite store by two instances on one database file (each reopened on its restarts), with a fake
 * ARM that counts what it is asked to do.
 * After every run: nothing executed unless the policy was satisfied by distinct approvers other than
 * the requester (nor on the requester's behalf), each person's authority counted once, an approval on
 * someone's behalf only from a delegation in force from someone holding the role themselves (no chain)
 * and still in force when the execution started, the escalation role counting only once the request
 * was escalated, after its delay, once; with a quorum across two roles (the second config variant),
 * each requirement met by distinct people holding its role, never the requester, one person one requirement; at most one execution per approval; at most the policy's
 * reminders, each sent once; every acknowledged action is in the audit; the chain verifies and its
 * times never go back.
 * The one stated exception to the two-person rule is break-glass: an execution that started without
 * approvals must be a break-glass use by someone holding the break-glass role, and once time has
 * passed every break-glass execution ends reviewed (ratified or flagged, by someone else) or escalated.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { AppDeps } from '../../src/app/context';
import { decide } from '../../src/app/decisions';
import { delegateTo, revokeDelegation } from '../../src/app/delegations';
import { Executor } from '../../src/app/execution';
import { sweepEscalations } from '../../src/app/escalation';
import { sweepExpired } from '../../src/app/expiry';
import type { ApproverMessenger, AzureGateway } from '../../src/app/ports';
import { sweepReminders } from '../../src/app/reminders';
import { sweepBreakGlassReviews } from '../../src/app/break-glass';
import { createRequest } from '../../src/app/requests';
import { verifyChain } from '../../src/audit/verify/verify';
import { parseConfig } from '../../src/config/load';
import type { CountersignConfig } from '../../src/config/types';
import type { AuditRecord } from '../../src/domain/audit';
import type { Actor } from '../../src/domain/request';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { EXAMPLE_CONFIG, TestClock } from '../support/harness';
import { carol } from '../support/people';
import { alice, bob, channel, dave, erin, frank, mallory } from '../support/requests';

/**
 * Two approvals from platform-approvers (Bob, Frank, Dave); Alice and Dave may ask. After 2 hours of
 * its 4 undecided, a request escalates to incident-leads (Erin, and Alice, who may ask and so must
 * never approve her own); one reminder at half-life. The quorum variant instead needs one approval
 * from platform-approvers AND one from security (Dave, who holds both, and Carol).
 */
function modelConfig(quorum: boolean) {
  let text = fs
    .readFileSync(EXAMPLE_CONFIG, 'utf8')
    .replace(/approvals: 1 # approvals from people other than the requester/, 'approvals: 2')
    .replace(/( {6}operation: Merge\n {4}policy:\n)/, '$1      escalation: { role: incident-leads, after: 2h }\n      reminders: { at: ["50%"], max: 1 }\n      breakGlass: { allowed: true, roles: [incident-leads], reviewWithin: 3h }\n')
    .replace(/( {2}platform-approvers:\n)/, `  incident-leads:\n    - ${erin.aadObjectId}\n    - ${alice.aadObjectId}\n$1    - ${frank.aadObjectId} # Frank Approver\n`);
  if (quorum) {
    text = text
      .replace(/( {2}incident-leads:\n)/, `  security:\n    - ${dave.aadObjectId}\n    - ${carol.aadObjectId}\n$1`)
      .replace(/(reminders: \{ at: \["50%"\], max: 1 \}\n {6}breakGlass: .*\n) {6}approverRoles: \[platform-approvers\]\n/, '$1      requirements: [{ role: platform-approvers }, { role: security }]\n');
  }
  const config = parseConfig(text, EXAMPLE_CONFIG);
  assert.equal(!!config.catalog.find('tag')!.policy!.requirements, quorum, 'the model config variant did not apply');
  return config;
}
const CONFIG = modelConfig(false);
const QUORUM_CONFIG = modelConfig(true);
const ESCALATION_DELAY_MS = 2 * 3600_000;
const PEOPLE: Actor[] = [alice, bob, frank, dave, erin, mallory, carol];
const PLATFORM = new Set([bob, frank, dave].map((p) => p.aadObjectId));
const SECURITY = new Set([dave, carol].map((p) => p.aadObjectId));
const ESCALATION_ROLE = new Set([erin, alice].map((p) => p.aadObjectId));
/** incident-leads may break the glass on `tag` (Alice may ask for it too; Erin may not request, so is refused). */
const BREAK_GLASS_ROLE = ESCALATION_ROLE;
const REVIEW_WITHIN_MS = 3 * 3600_000;
const LEASE_MS = 1000;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** `on`: which of the two instances (processes) does it. */
type Action = { on: number } & (
  | { kind: 'create'; who: number }
  | { kind: 'break-glass'; who: number }
  | { kind: 'click'; verb: 'approve' | 'reject' | 'cancel' | 'ratify' | 'flag'; who: number; which: number }
  | { kind: 'time'; minutes: number }
  | { kind: 'delegate'; who: number; to: number; minutes: number }
  | { kind: 'revoke'; who: number }
  | { kind: 'crash' }
  | { kind: 'settle' }
);

const what = fc.oneof(
  // Mostly people who may ask (Alice, Dave), sometimes anyone.
  { arbitrary: fc.record({ kind: fc.constant('create' as const), who: fc.constantFrom(0, 0, 3, 3, 1, 4, 5) }), weight: 3 },
  // Break-glass by Alice (allowed), Erin (not a requester) or Bob (no break-glass role).
  { arbitrary: fc.record({ kind: fc.constant('break-glass' as const), who: fc.constantFrom(0, 0, 4, 1) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('click' as const), verb: fc.constantFrom('ratify' as const, 'flag' as const), who: fc.constantFrom(0, 1, 2, 4, 6), which: fc.nat(3) }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant('click' as const), verb: fc.constantFrom('approve' as const, 'approve' as const, 'approve' as const, 'reject' as const, 'cancel' as const), who: fc.constantFrom(1, 2, 3, 3, 0, 4, 5, 6, 6), which: fc.nat(3) }),
    weight: 10,
  },
  // Approvers (and sometimes others) delegate to anyone, Carol most (she holds no role of her own).
  { arbitrary: fc.record({ kind: fc.constant('delegate' as const), who: fc.constantFrom(1, 1, 2, 3, 6, 0), to: fc.constantFrom(6, 6, 6, 0, 1, 2, 3, 5), minutes: fc.constantFrom(20, 120) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('revoke' as const), who: fc.constantFrom(1, 2, 3) }), weight: 1 },
  // Minutes, half an hour, past the 2 h escalation delay, or past the 4 h time to live.
  { arbitrary: fc.record({ kind: fc.constant('time' as const), minutes: fc.constantFrom(1, 30, 125, 250) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('crash' as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('settle' as const) }), weight: 1 },
);
const action: fc.Arbitrary<Action> = fc.tuple(what, fc.nat(1)).map(([a, on]) => ({ ...a, on }) as Action);
/** Each step runs its actions at the same time: their store writes interleave. */
const scenario = fc.array(fc.array(action, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 25 });

const ON_BEHALF_EXAMPLE: Action[][] = [
  [{ kind: 'create', who: 0, on: 0 }],
  [{ kind: 'delegate', who: 1, to: 6, minutes: 120, on: 1 }],
  [{ kind: 'click', verb: 'approve', who: 6, which: 0, on: 0 }],
  [{ kind: 'click', verb: 'approve', who: 2, which: 0, on: 1 }],
  [{ kind: 'settle', on: 0 }],
];

/** The quorum variant's sure approval on someone's behalf: Erin for Bob (platform), then Carol (security). */
const QUORUM_ON_BEHALF_EXAMPLE: Action[][] = [
  [{ kind: 'create', who: 0, on: 0 }],
  [{ kind: 'delegate', who: 1, to: 4, minutes: 120, on: 1 }],
  [{ kind: 'click', verb: 'approve', who: 4, which: 0, on: 0 }],
  [{ kind: 'click', verb: 'approve', who: 6, which: 0, on: 1 }],
  [{ kind: 'settle', on: 0 }],
];

/** A break-glass use by Alice that runs, then is ratified by Bob: every run checks a review at least once. */
const BREAK_GLASS_EXAMPLE: Action[][] = [
  [{ kind: 'break-glass', who: 0, on: 0 }],
  [{ kind: 'settle', on: 0 }],
  [{ kind: 'click', verb: 'ratify', who: 1, which: 0, on: 1 }],
];

/** A request nobody decides for 2 h: every run checks its reminder and its escalation at least once. */
/** Reminds and escalates, then (through a crash) lets the request run out its 4 hours: the random runs need not. */
const REACH_EXAMPLE: Action[][] = [
  [{ kind: 'create', who: 0, on: 0 }],
  [{ kind: 'time', minutes: 125, on: 1 }],
  [{ kind: 'settle', on: 0 }],
  [{ kind: 'crash', on: 1 }],
  [{ kind: 'time', minutes: 125, on: 0 }],
  [{ kind: 'settle', on: 1 }],
];

/** ARM as the model sees it: every change sent and every one followed again, by correlation id. */
class CountingArm {
  readonly executed = new Map<string, number>();
  readonly resumed = new Map<string, number>();
  private tick = 0;
  /** ARM takes a few milliseconds (a fixed cycle, so a failing run replays the same way): work interleaves. */
  private pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, (this.tick++ * 7) % 5));
  }

  gateway(): AzureGateway {
    const count = (m: Map<string, number>, id: string) => m.set(id, (m.get(id) ?? 0) + 1);
    return {
      sandbox: true,
      snapshot: async () => {
        await this.pause();
        return { exists: true, facts: { location: 'westeurope' } };
      },
      execute: async (_op: unknown, hooks: { correlationId?: string }) => {
        count(this.executed, hooks.correlationId ?? 'unknown');
        await this.pause();
        return { status: 'succeeded', ref: { resourceIds: [] } };
      },
      resume: async (_op: unknown, ref: { correlationId?: string; resourceIds: string[] }) => {
        count(this.resumed, ref.correlationId ?? 'unknown');
        return { status: 'succeeded', ref };
      },
    } as unknown as AzureGateway;
  }
}

/** Who was sent what, per request: the model checks each reminder went out once. */
class CountingMessenger implements ApproverMessenger {
  readonly reminders = new Map<string, number>();
  readonly cards = new Map<string, number>();
  private n = 0;
  async cardToPerson(request: { id: string }, _person: unknown, text?: string) {
    // Break-glass notices carry a text too; only reminders are counted as such.
    const m = text?.startsWith('Reminder') ? this.reminders : this.cards;
    m.set(request.id, (m.get(request.id) ?? 0) + 1);
    return { ok: true as const, message: { conversationId: 'personal', activityId: `m-${++this.n}` } };
  }
  async cardToConversation(request: { id: string }, conversationId: string, text?: string) {
    return this.cardToPerson(request, conversationId, text);
  }
  async textToConversation(request: { id: string }, _conversationId: string, text: string) {
    if (text.startsWith('Reminder')) this.reminders.set(request.id, (this.reminders.get(request.id) ?? 0) + 1);
    return { ok: true as const };
  }
  async personalChatOf() {
    return undefined;
  }
}

interface Acknowledged {
  requestId: string;
  actor: string;
  types: string[];
}

/** One process of Countersign: its own connection to the database, its own executor. */
interface Instance {
  store: SqliteStore;
  deps: AppDeps;
  executor: Executor;
}

/** Two instances on one database file (as two bot processes would be), sharing a clock and ARM. */
class Run {
  readonly instances: Instance[] = [];
  readonly clock = new TestClock(new Date('2026-12-04T09:00:00.000Z'));
  readonly arm = new CountingArm();
  readonly messenger = new CountingMessenger();
  readonly requestIds: string[] = [];
  readonly acknowledged: Acknowledged[] = [];
  private generation = 0;
  private nextId = 0;
  private correlation = 0;

  constructor(
    readonly file: string,
    readonly config: CountersignConfig = CONFIG,
  ) {}

  get store(): SqliteStore {
    return this.instances[0].store;
  }

  async start(): Promise<void> {
    for (const i of [0, 1]) await this.open(i);
  }

  async open(i: number): Promise<void> {
    const store = await openSqliteStore({ file: this.file });
    const deps: AppDeps = {
      store,
      azure: this.arm.gateway(),
      notifier: { cardChanged: async () => undefined, tellRequester: async () => 'sent' as const },
      config: this.config,
      clock: this.clock,
      ids: { requestId: () => `CS-M${String(++this.nextId).padStart(6, '0')}`, delegationId: () => `DG-M${String(++this.nextId).padStart(6, '0')}` },
      log: quiet,
      subscriptionId: '00000000-0000-4000-8000-00000000abcd',
      messenger: this.messenger,
    };
    // Each correlation id names its claim, so the fake ARM can count what each claim sent.
    const executor = new Executor(deps, { leaseMs: LEASE_MS, owner: `run-${++this.generation}`, correlationId: () => `corr-${++this.correlation}` });
    this.instances[i] = { store, deps, executor };
    for (const r of await store.requests.list({ states: ['approved'] })) executor.schedule(r);
    await executor.resumeAbandoned();
  }

  /** A crash: the store is closed under the running work (its later writes fail), a new run opens it. */
  async crash(i: number): Promise<void> {
    await this.instances[i].store.close();
    this.clock.advance(LEASE_MS * 2);
    await this.open(i);
  }

  async idle(): Promise<void> {
    for (const i of this.instances) await i.executor.idle();
  }

  async close(): Promise<void> {
    await this.idle();
    for (const i of this.instances) await i.store.close();
  }

  async perform(a: Action): Promise<void> {
    const { deps, executor } = this.instances[a.on];
    if (a.kind === 'create') {
      const r = await createRequest(deps, { command: this.config.catalog.find('tag')!, values: { group: 'rg-model', key: 'owner', value: `v${this.requestIds.length}` }, actor: PEOPLE[a.who], source: channel });
      if (r.ok) {
        this.requestIds.push(r.request.id);
        this.acknowledged.push({ requestId: r.request.id, actor: PEOPLE[a.who].aadObjectId, types: ['request.created'] });
      }
    } else if (a.kind === 'break-glass') {
      const r = await createRequest(deps, { command: this.config.catalog.find('tag')!, values: { group: 'rg-model', key: 'owner', value: `bg${this.requestIds.length}` }, reason: 'model emergency', actor: PEOPLE[a.who], source: channel }, true);
      if (r.ok) {
        this.requestIds.push(r.request.id);
        this.acknowledged.push({ requestId: r.request.id, actor: PEOPLE[a.who].aadObjectId, types: ['breakglass.used'] });
        executor.schedule(r.request);
      }
    } else if (a.kind === 'click') {
      if (this.requestIds.length === 0) return;
      // Mostly the newest requests, where decisions are still open.
      const requestId = this.requestIds[Math.max(0, this.requestIds.length - 1 - a.which)];
      const actor = PEOPLE[a.who];
      const result = await decide(deps, { requestId, verb: a.verb, actor, source: channel }, { onApproved: (r) => executor.schedule(r) });
      if (result.ok) {
        const types = { approve: ['approval.granted', 'request.approved'], reject: ['request.rejected'], cancel: ['request.cancelled', 'execution.cancel_requested'], ratify: ['breakglass.ratified'], flag: ['breakglass.flagged'] }[a.verb];
        this.acknowledged.push({ requestId, actor: actor.aadObjectId, types });
      }
    } else if (a.kind === 'time') {
      this.clock.advance(a.minutes * 60_000);
      await sweepExpired(deps);
      await sweepEscalations(deps);
      await sweepReminders(deps);
      await sweepBreakGlassReviews(deps);
    } else if (a.kind === 'delegate') {
      await delegateTo(deps, { actor: PEOPLE[a.who], source: channel, delegate: PEOPLE[a.to], when: `for ${a.minutes}m` });
    } else if (a.kind === 'revoke') {
      await revokeDelegation(deps, { actor: PEOPLE[a.who], source: channel });
    } else if (a.kind === 'crash') {
      await this.crash(a.on);
    } else {
      await executor.idle();
    }
  }

  /** Time passes beyond any review deadline: executions left by crashes are resumed, overdue reviews escalated. */
  async afterwards(): Promise<void> {
    this.clock.advance(REVIEW_WITHIN_MS + LEASE_MS * 2);
    for (const i of this.instances) await i.executor.resumeAbandoned();
    await this.idle();
    await sweepBreakGlassReviews(this.instances[0].deps);
  }

  async records(): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    for await (const r of this.store.audit.read()) out.push(r);
    return out;
  }
}

/** Runs a step's actions together; a store closed by a crash in the same step may fail the others. */
async function step(run: Run, actions: Action[]): Promise<void> {
  const crash = actions.find((a) => a.kind === 'crash');
  const rest = actions.filter((a) => a.kind !== 'crash');
  await Promise.all(rest.map((a) => run.perform(a)));
  if (crash) await run.perform(crash);
}

function onBehalfOf(r: AuditRecord): string | undefined {
  return (r.data as { onBehalfOf?: Actor } | undefined)?.onBehalfOf?.aadObjectId;
}

/**
 * An approval on someone's behalf came from their delegation to the approver, in force at the
 * approval; a delegation that ended before the execution started stopped it before Azure was asked.
 */
function checkDelegationInForce(records: AuditRecord[], grant: AuditRecord, started: AuditRecord, arm: CountingArm): void {
  const delegationId = (grant.data as { delegationId?: string } | undefined)?.delegationId;
  if (!onBehalfOf(grant)) return;
  const about = (r: AuditRecord) => (r.data as { delegationId?: string } | undefined)?.delegationId === delegationId;
  const made = records.find((r) => r.type === 'delegation.created' && about(r));
  assert.ok(made && made.seq < grant.seq, `approval ${grant.seq} names delegation ${delegationId}, never made before it`);
  const data = made.data as { delegator: Actor; delegate: Actor; until: string };
  assert.equal(data.delegator.aadObjectId, onBehalfOf(grant), `approval ${grant.seq}: on behalf of someone other than the delegator`);
  assert.equal(data.delegate.aadObjectId, grant.actor?.aadObjectId, `approval ${grant.seq}: by someone other than the delegate`);
  const ended = records.find((r) => (r.type === 'delegation.revoked' || r.type === 'delegation.replaced') && about(r));
  // The time the approval was decided: a record committed after later ones keeps its own as clockTime
  // (record times never go back along the chain: src/audit/record-time.ts), as a click decided just
  // before the clock moved on and committed after a sweep's records is.
  const decidedAt = (grant.data as { clockTime?: string } | undefined)?.clockTime ?? grant.time;
  assert.ok(decidedAt < data.until, `delegation ${delegationId} had expired when it was used`);
  if ((ended && ended.seq < started.seq) || started.time >= data.until) {
    const stopped = records.some((r) => r.type === 'execution.failed' && r.request?.id === grant.request?.id && r.outcome.reason === 'DelegationEnded');
    assert.ok(stopped, `delegation ${delegationId} had ended before the execution it carried, which was not stopped`);
    assert.ok(!arm.executed.has(started.execution?.correlationId ?? ''), `delegation ${delegationId} had ended, yet ARM was asked`);
  }
}

/**
 * A quorum's approval, as `request.approved` records who filled each requirement: each requirement met
 * by distinct people holding its role (or the escalation role once escalated), never the requester,
 * one person filling one requirement, and every one of them someone whose approval was granted.
 */
function checkQuorum(id: string, rs: AuditRecord[], approved: AuditRecord): void {
  const principals = rs.filter((r) => r.type === 'approval.granted' && r.seq <= approved.seq).map((r) => onBehalfOf(r) ?? r.actor!.aadObjectId);
  const requirements = (approved.data as { requirements?: { roles: string[]; count: number; filledBy: { approver: string; onBehalfOf?: string }[] }[] }).requirements;
  assert.ok(requirements && requirements.length === 2, `request ${id}: request.approved does not name the two requirements`);
  const requester = rs.find((r) => r.type === 'request.created')!.actor!.aadObjectId;
  const escalated = rs.find((r) => r.type === 'request.escalated');
  const seen = new Set<string>();
  for (const req of requirements) {
    const people = req.filledBy.map((f) => f.onBehalfOf ?? f.approver);
    assert.ok(people.length >= req.count, `request ${id}: ${req.roles.join()} met by ${people.length} of ${req.count}`);
    const holders = req.roles.includes('security') ? SECURITY : PLATFORM;
    for (const p of people) {
      assert.notEqual(p, requester, `request ${id}: the requester filled ${req.roles.join()}`);
      assert.ok(!seen.has(p), `request ${id}: ${p} filled two requirements`);
      seen.add(p);
      const byEscalation = !!escalated && escalated.seq < approved.seq && ESCALATION_ROLE.has(p);
      assert.ok(holders.has(p) || byEscalation, `request ${id}: ${p} filled ${req.roles.join()} without holding it`);
      assert.ok(principals.includes(p), `request ${id}: ${p} filled ${req.roles.join()} with no approval granted`);
    }
  }
}

async function checkInvariants(run: Run): Promise<void> {
  const quorum = !!run.config.catalog.find('tag')!.policy!.requirements;
  const records = await run.records();
  const verified = await verifyChain(run.store.audit.read());
  assert.equal(verified.ok, true, `the chain verifies: ${JSON.stringify(verified)}`);
  for (let i = 1; i < records.length; i++) assert.ok(records[i].time >= records[i - 1].time, `record ${records[i].seq} is earlier than the one before`);

  const byRequest = new Map<string, AuditRecord[]>();
  for (const r of records) if (r.request?.id) byRequest.set(r.request.id, [...(byRequest.get(r.request.id) ?? []), r]);
  const correlationOf = new Map<string, string>();
  for (const [id, rs] of byRequest) {
    const started = rs.filter((r) => r.type === 'execution.started');
    assert.ok(started.length <= 1, `request ${id} started ${started.length} times`);
    for (const s of started) if (s.execution?.correlationId) correlationOf.set(s.execution.correlationId, id);
    if (started.length === 0) continue;
    const created = rs.find((r) => r.type === 'request.created')!;
    // The stated exception: a break-glass use runs without approvals, by someone holding the break-glass role.
    if (rs.some((r) => r.type === 'breakglass.used')) {
      assert.ok(BREAK_GLASS_ROLE.has(created.actor!.aadObjectId), `request ${id}: break-glass used by someone without the role`);
      continue;
    }
    const escalated = rs.find((r) => r.type === 'request.escalated');
    // Not an approval given under a delegation that ended and was taken off before the run (approval.revoked names it).
    const withdrawn = (g: AuditRecord) => {
      const id = (g.data as { delegationId?: string } | undefined)?.delegationId;
      return !!id && rs.some((r) => r.type === 'approval.revoked' && r.seq > g.seq && r.seq < started[0].seq && ((r.data as { delegationIds?: string[] } | undefined)?.delegationIds ?? []).includes(id));
    };
    const grants = rs.filter((r) => r.type === 'approval.granted' && r.seq < started[0].seq && !withdrawn(r));
    const approvers = new Set(grants.map((r) => r.actor!.aadObjectId));
    // Whose authority each approval used: the delegator's for an approval on behalf.
    const principals = grants.map((r) => onBehalfOf(r) ?? r.actor!.aadObjectId);
    assert.ok(!approvers.has(created.actor!.aadObjectId), `request ${id}: the requester approved it`);
    assert.ok(!principals.includes(created.actor!.aadObjectId), `request ${id}: approved on behalf of the requester`);
    grants.forEach((g, k) => {
      const asEscalation = !!escalated && escalated.seq < g.seq && ESCALATION_ROLE.has(principals[k]);
      const holds = PLATFORM.has(principals[k]) || (quorum && SECURITY.has(principals[k]));
      assert.ok(holds || asEscalation, `request ${id}: approved with the authority of ${principals[k]}, who held no role that could decide it then (a chain?)`);
    });
    assert.equal(new Set(principals).size, principals.length, `request ${id}: someone's authority counted twice`);
    assert.ok(approvers.size >= 2 && new Set(principals).size >= 2, `request ${id} executed with ${approvers.size} distinct approver(s)`);
    for (const g of grants) checkDelegationInForce(records, g, started[0], run.arm);
  }
  for (const [id, rs] of byRequest) {
    // Every approval of a quorum, executed or not (the re-check at execution would hide a wrong placement).
    if (quorum) for (const approved of rs.filter((r) => r.type === 'request.approved')) checkQuorum(id, rs, approved);
    const created = rs.find((r) => r.type === 'request.created')!;
    const escalations = rs.filter((r) => r.type === 'request.escalated');
    assert.ok(escalations.length <= 1, `request ${id} escalated ${escalations.length} times`);
    // The delay runs from the request's own creation time: its request.created record can be stamped later
    // than that when a sweep with a later clock appended records meanwhile (audit times never go back).
    const createdAt = Date.parse((await run.store.requests.get(id))?.createdAt ?? created.time);
    for (const e of escalations) assert.ok(Date.parse(e.time) - createdAt >= ESCALATION_DELAY_MS, `request ${id} escalated before its delay`);
    const reminded = rs.filter((r) => r.type === 'request.reminded');
    assert.ok(reminded.length <= 1, `request ${id} reminded ${reminded.length} times (max 1)`);
    const sends = reminded.reduce((n, r) => n + (r.data?.to as string[]).length, 0);
    assert.equal(run.messenger.reminders.get(id) ?? 0, sends, `request ${id}: reminders sent once each to whom the audit names`);
  }
  // Every break-glass execution ends reviewed by someone else, or its overdue review escalated.
  for (const [id, rs] of byRequest) {
    if (!rs.some((r) => r.type === 'breakglass.used') || !rs.some((r) => r.type === 'execution.started')) continue;
    const reviews = rs.filter((r) => r.type === 'breakglass.ratified' || r.type === 'breakglass.flagged');
    assert.ok(reviews.length <= 1, `break-glass request ${id} reviewed ${reviews.length} times`);
    for (const r of reviews) assert.notEqual(r.actor?.aadObjectId, rs[0].actor?.aadObjectId, `break-glass request ${id} reviewed by its requester`);
    const overdue = rs.filter((r) => r.type === 'breakglass.review_overdue');
    assert.ok(overdue.length <= 1, `break-glass request ${id}: review escalated ${overdue.length} times`);
    assert.ok(reviews.length + overdue.length > 0, `break-glass request ${id} ran and was neither reviewed nor escalated`);
  }
  for (const [corr, n] of run.arm.executed) {
    assert.equal(n, 1, `correlation ${corr} was sent to ARM ${n} times`);
    assert.ok(correlationOf.has(corr), `ARM was sent ${corr}, which no recorded execution.started claims`);
  }
  for (const ack of run.acknowledged) {
    const found = (byRequest.get(ack.requestId) ?? []).some((r) => r.actor?.aadObjectId === ack.actor && ack.types.includes(r.type));
    assert.ok(found, `acknowledged ${ack.types[0]} of ${ack.requestId} by ${ack.actor} is not in the audit`);
  }
}

async function runModel(config: CountersignConfig, numRuns: number, examples: Action[][][]): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-model-'));
  let n = 0;
  const seen = { executed: 0, resumed: 0, crashes: 0, expired: 0, onBehalf: 0, voided: 0, escalated: 0, reminded: 0, brokeGlass: 0, reviewed: 0 };
  try {
    await fc.assert(
      fc.asyncProperty(scenario, async (steps) => {
        const run = new Run(path.join(dir, `run-${++n}.db`), config);
        await run.start();
        try {
          for (const actions of steps) await step(run, actions);
          await run.idle();
          await run.afterwards();
          await checkInvariants(run);
          seen.executed += run.arm.executed.size;
          seen.resumed += run.arm.resumed.size;
          seen.crashes += steps.flat().filter((a) => a.kind === 'crash').length;
          const records = await run.records();
          seen.expired += records.filter((r) => r.type === 'request.expired').length;
          seen.onBehalf += records.filter((r) => r.type === 'approval.granted' && onBehalfOf(r)).length;
          seen.voided += records.filter((r) => r.type === 'approval.revoked').length;
          seen.escalated += records.filter((r) => r.type === 'request.escalated').length;
          seen.reminded += records.filter((r) => r.type === 'request.reminded').length;
          seen.brokeGlass += records.filter((r) => r.type === 'breakglass.used').length;
          seen.reviewed += records.filter((r) => r.type === 'breakglass.ratified' || r.type === 'breakglass.flagged').length;
        } finally {
          await run.close();
        }
      }),
      // Besides the random runs, one that surely approves on someone's behalf, one that surely reviews a break-glass use, and one that surely reminds, escalates, survives a crash and expires.
      { numRuns, endOnFailure: true, examples: examples.map((e) => [e]) },
    );
    // The runs must reach what the invariants are about, or they prove nothing.
    assert.ok(seen.executed > 0 && seen.crashes > 0 && seen.expired > 0 && seen.onBehalf > 0 && seen.escalated > 0 && seen.reminded > 0 && seen.brokeGlass > 0 && seen.reviewed > 0, `too little happened: ${JSON.stringify(seen)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('the approval model under random interleavings, crashes and restarts', function () {
  // Each test is 60-100 runs of two SQLite stores with real timers (a minute of CPU and more): on a
  // loaded 2-core machine both ran past a 2-minute limit. The limit is there for a hang, not for speed.
  this.timeout(600_000);

  it('keeps the two-person rule, one execution per approval, and every acknowledged action in a verifiable audit', async () => {
    // The example: Carol for Bob, then Frank.
    await runModel(CONFIG, 100, [ON_BEHALF_EXAMPLE, BREAK_GLASS_EXAMPLE, REACH_EXAMPLE]);
  });

  it('keeps a quorum across two roles: each requirement met by distinct holders of its role, never the requester, one person one requirement', async () => {
    await runModel(QUORUM_CONFIG, 60, [QUORUM_ON_BEHALF_EXAMPLE, BREAK_GLASS_EXAMPLE, REACH_EXAMPLE]);
  });
});
