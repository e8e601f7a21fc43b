/**
 * The ports the use cases talk to. Implementations live at the edges (src/store, src/azure,
 * src/teams); nothing here imports a framework. Every store method is asynchronous so that the
 * SQLite and PostgreSQL backends are interchangeable.
 */
import type { AuditEventDraft, AuditFilter, AuditRecord, ChainHead } from '../domain/audit';
import type { Delegation, DelegationChange } from '../domain/delegation';
import type { TargetSnapshot } from '../domain/drift';
import type { ApprovalRequest, RequestState } from '../domain/request';
import type {
  ArmOperationRef,
  ChangeOperation,
  ExecutionOutcome,
  Target,
  OperationProgress,
  QueryOperation,
  QueryResult,
  WhatIfSummary,
} from '../domain/operation';

export class VersionConflictError extends Error {
  constructor(
    readonly requestId: string,
    readonly expectedVersion: number,
  ) {
    super(`request ${requestId} was changed by someone else (expected version ${expectedVersion})`);
    this.name = 'VersionConflictError';
  }
}

/**
 * The connection to the database broke while a commit was under way: the change may or may not have
 * been saved. The use case reads the request again (on a new connection) before saying anything.
 */
export class CommitOutcomeUnknownError extends Error {
  constructor(override readonly cause: unknown) {
    super(`the connection to the database was lost while committing, so whether the change was saved is unknown: read it again (${(cause as Error)?.message ?? String(cause)})`);
    this.name = 'CommitOutcomeUnknownError';
  }
}

/**
 * A person's turn's deadline for its store work, which a store keeps in every read and write begun
 * within the turn (turn-deadline.ts), and which the Teams layer sets for each turn.
 */
export { callDeadline, notCountingTowardsTurn, outsideTurn, turnDeadline, TurnDeadlineError, withTurnDeadline, TURN_STORE_DEADLINE_MS } from './turn-deadline';

export class DuplicateRequestError extends Error {
  constructor(readonly requestId: string) {
    super(`a request with id ${requestId} already exists`);
    this.name = 'DuplicateRequestError';
  }
}

/**
 * A card Teams posted whose message id (or chat id) is longer than Countersign takes
 * (connectorIdProblem): not recorded, so its buttons are refused; the message says so in words.
 */
export class CardIdTooLongError extends Error {
  constructor(readonly problem: string) {
    super(`${problem}, so the card was not recorded and its buttons will be refused`);
    this.name = 'CardIdTooLongError';
  }
}

/**
 * A break-glass use stored only while its requester has fewer than `count` uses of its command after
 * `since` (the policy's maxUses, counted as domain/lifecycle breakGlassUsesAfter does). The store
 * counts inside the write, one such write at a time for a person and a command across every
 * instance, so that uses sent at the same moment are each counted.
 */
export interface BreakGlassLimit {
  count: number;
  since: string;
}

/** The insert was refused: its requester already used break-glass for its command at `usedAt` (as often as the limit allows); nothing was committed. */
export class BreakGlassLimitError extends Error {
  constructor(
    readonly requestId: string,
    readonly usedAt: string[],
  ) {
    super(`request ${requestId} was not stored: its requester used break-glass for its command ${usedAt.length} time(s) in the window of its limit`);
    this.name = 'BreakGlassLimitError';
  }
}

/**
 * A request stored only while its requester has no open request that would do the same
 * (domain/same-operation.ts openRequestLike, judged at `at`). The store compares inside the write,
 * one such write at a time for a person across every instance, so that the same operation sent
 * twice at the same moment (to two instances) is stored once.
 */
export interface OnceOpen {
  at: string;
}

/** The insert was refused: its requester already has request `openRequestId` open for the same operation; nothing was committed. */
export class OpenRequestExistsError extends Error {
  constructor(
    readonly requestId: string,
    readonly openRequestId: string,
  ) {
    super(`request ${requestId} was not stored: its requester already has request ${openRequestId} open for the same operation`);
    this.name = 'OpenRequestExistsError';
  }
}

export interface RequestQuery {
  states?: RequestState[];
  /** Only requests whose expiresAt is strictly before this instant. */
  expiringBefore?: string;
  /**
   * Only break-glass requests with something due at or before this instant (breakGlassDueAt): a
   * review not yet escalated, or a round of messages announcing the use still under way.
   */
  reviewDueBy?: string;
  /** Only requests whose last change (updatedAt) is at or after this instant. */
  updatedSince?: string;
  /** Only requests whose outcome message is still owed to the requester (outcomeMessage: sent by the sweep of owed messages). */
  outcomeMessageOwed?: boolean;
  /**
   * Only break-glass uses nobody has ratified or flagged yet, escalated or not (with `states`, the
   * ended ones: those whose review is waiting), for `pending`.
   */
  reviewWaiting?: boolean;
  /**
   * Only requests an accepted loss of audit records expired (`expiredAtAuditLoss`); with `states:
   * ['expired']` read by the state index, not from the audit log.
   */
  expiredAtAuditLoss?: boolean;
  /**
   * Only requests asked for by this person (their Entra object id, matched whatever the case of its
   * letters): with `states` (and `target`), read by an index on the requester, the target and the
   * state, not a scan of every request.
   */
  requester?: string;
  /** Only requests acting on this very target (the same subscription, resource group and resource id). */
  target?: Target;
  limit?: number;
  /** Skip this many of the matches first (with limit: a page of a long list, oldest first). */
  offset?: number;
}

/**
 * Requests, saved with a version check. Each write commits the request and its audit events in one
 * durable transaction: either both are on disk or neither is.
 */
export interface RequestStore {
  /**
   * Saves a new request (its version must be 1). Throws DuplicateRequestError if the id exists,
   * BreakGlassLimitError, committing nothing, when `limit` is given and already reached, and
   * OpenRequestExistsError, committing nothing, when `once` is given and the requester has an open
   * request for the same operation (checked before the id: the same message stored by another
   * instance names its own id).
   */
  insert(request: ApprovalRequest, events: AuditEventDraft[], limit?: BreakGlassLimit, once?: OnceOpen): Promise<AuditRecord[]>;
  /**
   * Compare-and-swap: saves `next` only if the stored version is `expectedVersion`
   * (`next.version` must be `expectedVersion + 1`). Throws VersionConflictError otherwise.
   */
  update(next: ApprovalRequest, expectedVersion: number, events: AuditEventDraft[]): Promise<AuditRecord[]>;
  get(id: string): Promise<ApprovalRequest | undefined>;
  /** Oldest first. */
  list(query: RequestQuery): Promise<ApprovalRequest[]>;
  /**
   * The database's clock, where several instances share this store (PostgreSQL): execution leases
   * are granted and judged by it, one clock for every instance whatever each host's reads. Absent
   * (one instance: SQLite), leases run on the use cases' own clock.
   */
  databaseTime?(): Promise<Date>;
  /**
   * Why what this store lists cannot be trusted right now, in words, or undefined: a request this
   * instance saw stored is gone from the database or back at an earlier version (rows deleted or the
   * table emptied under it: src/store/request-witness.ts), as readiness says. Kept until a restart.
   * Both look now (two reads by primary key), and keep a loss once found without reading again.
   */
  lostRequests?(): Promise<string | undefined>;
}

/** How a read of the audit log finds its records. */
export interface AuditReadOptions {
  /**
   * Read every record of the range and keep those the filter takes, rather than find one request's
   * or one person's records through the database's indexes: what is handed out (an export, an
   * evidence bundle) must be every such record the log holds, and an index someone with write access
   * to the database made again to leave records out would hide them from a read through it, every
   * record intact. Slower for one request in a long log (SQLite: about 1 s of CPU a million records).
   */
  scan?: boolean;
}

/**
 * The append-only audit log. append() resolves only once the records are durably on disk, each
 * carrying the previous record's hash and its own; a failed append rejects (it is never swallowed).
 */
export interface AuditLog {
  append(events: AuditEventDraft[]): Promise<AuditRecord[]>;
  /** Records in sequence order, streamed. */
  read(filter?: AuditFilter, options?: AuditReadOptions): AsyncIterable<AuditRecord>;
  head(): Promise<ChainHead | undefined>;
}

export interface CardMessage {
  conversationId: string;
  activityId: string;
}

/**
 * Which card messages Countersign posted for each request: a click counts only from one of them, and
 * every one of them is refreshed when the request changes.
 */
export interface CardBindingStore {
  /**
   * Records a posted card (idempotent: the same message twice is one binding, which keeps what it
   * recorded first). `version` is the version of the request the card shows (shownVersion), recorded
   * as sent to it, so that no update sends it that version again (a start's refresh of the day's
   * cards); 0, the default, when it is not known: the card is then updated once more.
   */
  saveCardMessage(requestId: string, message: CardMessage, version?: number): Promise<void>;
  /** The request's card messages, oldest first (empty when none was recorded). */
  getCardMessages(requestId: string): Promise<CardMessage[]>;
}

/**
 * The delegator's delegations changed under a `delegate` or `revoke delegation` (another instance or
 * a simultaneous command): nothing was committed; the use case reads again and decides again.
 */
export class DelegationConflictError extends Error {
  constructor(readonly delegatorId: string) {
    super(`the delegations of ${delegatorId} were changed by someone else at the same time`);
    this.name = 'DelegationConflictError';
  }
}

/** Delegations for absence (domain/delegation.ts), kept with their audit records. */
export interface DelegationStore {
  /**
   * Commits a change in one durable transaction: inserts `created`, records the end of each of
   * `ended` (their `ended` field), appends the events. Throws DelegationConflictError, committing
   * nothing, when one of `ended` has already ended, when `created`'s delegator has another
   * delegation in force at `created.createdAt` that is not among `ended`, or when `created`'s id is
   * taken (ended or not): of two simultaneous delegations by one person exactly one is committed,
   * on every backend and across instances.
   */
  record(change: DelegationChange): Promise<AuditRecord[]>;
  /** Delegations in force at `at` (not ended, `until` later than `at`), oldest first. */
  inForce(at: string): Promise<Delegation[]>;
  /**
   * Delegations to this person (Entra object id, whatever the case of its letters) that were in force
   * at some moment from `since` on, ended ones included (revoked, replaced or run out): `until` later
   * than `since`, and not ended before it. Oldest first. Why a former delegate's click is refused.
   */
  receivedSince(delegateId: string, since: string): Promise<Delegation[]>;
  /**
   * Delegations whose time ran out after `since` and at or before `at` (`until` in that span), not
   * revoked or replaced, whose delegate's cards were not yet withdrawn (`cardsWithdrawnAt` unset).
   * Oldest first.
   */
  ranOutSince(since: string, at: string): Promise<Delegation[]>;
  /**
   * Takes on the withdrawal of the delegation's cards: sets its `cardsTakenAt` to `at` when its cards
   * are not marked withdrawn and nobody took it on, or took it on at or before `staleBefore` (a run
   * that died or failed before marking it); an atomic compare-and-swap shared by every instance:
   * true for the one caller that set it, false otherwise (or when there is no such delegation). The
   * sweep withdraws the delegate's cards only after true, and marks them withdrawn after.
   */
  takeCardsWithdrawal(id: string, at: string, staleBefore: string): Promise<boolean>;
  /**
   * Sets the delegation's `cardsWithdrawnAt` to `at` when it is unset (an atomic compare-and-swap
   * shared by every instance): true for the one caller that set it, false when it was set already
   * (or there is no such delegation). Written once the delegate's cards were updated.
   */
  markCardsWithdrawn(id: string, at: string): Promise<boolean>;
  get(id: string): Promise<Delegation | undefined>;
}

/**
 * How the storage itself failed, as opposed to a fault in handling a request: `disk` (full, I/O
 * error, read-only, corrupt, the database file gone), `unreachable` (the database server cannot be
 * reached, or the connection broke), `busy` (another process held the lock a write needed for
 * longer than COUNTERSIGN_STORE_LOCK_WAIT; nothing was written), `overloaded` (the database server
 * had no connection slot, memory or other resource to spare, or cancelled a statement that ran past
 * its time limit: worth another try in a moment) or `read-only` (the database server takes no
 * writes: a standby, or default_transaction_read_only), `read-only-file-system` (SQLite: a storage
 * error while the file system holding the database is read-only, mounted so or made so by the kernel
 * after a disk error: not full, and no standby), `denied` (the database refused the role a
 * privilege it needs on a table: a grant revoked while Countersign runs) or `damaged` (the database was changed under
 * the running instance: its file deleted or replaced, its audit log emptied or rewritten, a table
 * dropped; nothing more is written, and Countersign stops) or `unconfirmed` (the connection broke
 * while the change was being committed: it may have been saved, so the person is not told that
 * nothing changed, only how to look before trying again).
 */
export type StorageFault = 'disk' | 'unreachable' | 'busy' | 'overloaded' | 'read-only' | 'read-only-file-system' | 'denied' | 'damaged' | 'unconfirmed';

const STORE_FAULT_WORDS: Record<StorageFault, string> = {
  disk: 'its disk is full or failing',
  unreachable: 'it could not be reached',
  unconfirmed: 'the connection to it broke',
  busy: 'another process was holding it',
  overloaded: 'it was overloaded',
  'read-only': 'it is read-only',
  'read-only-file-system': 'the file system holding it is read-only',
  denied: 'a privilege of its database role was taken away',
  damaged: 'it was changed under Countersign',
};

/**
 * A store failure in a few words a card can show, after "could not …" (never the database driver's
 * message nor the database's address: faults.md, what people are told).
 */
export function storeFaultWords(fault: StorageFault): string {
  return STORE_FAULT_WORDS[fault];
}

/** What the use cases keep: requests, the audit log, the card bindings and delegations. */
export interface Store {
  requests: RequestStore;
  audit: AuditLog;
  cards: CardBindingStore;
  delegations: DelegationStore;
  /** True when the store can take a durable write now (readiness): not just reachable. */
  ping(): Promise<boolean>;
  /** Whether an error this store threw is its storage failing (and how), so the person can be told so. */
  storageFault(err: unknown): StorageFault | undefined;
  close(): Promise<void>;
}

export interface ExecutionHooks {
  /** Called once the operation has been accepted by ARM, before polling: persist the ref. */
  onStarted(ref: ArmOperationRef): Promise<void>;
  onProgress(progress: OperationProgress): void | Promise<void>;
  signal?: AbortSignal;
  /** The correlation id recorded when the execution was claimed: the call that starts the operation carries it. */
  correlationId?: string;
  /**
   * In a resume, called just before the operation is sent for what is effectively the first time (no
   * ARM answer was recorded and the target shows it did not take effect): time may have passed since
   * the drift check before the claim (a crash, an outage). Undefined lets it go; a reason stops it,
   * nothing sent, and the outcome is failed with that reason.
   */
  beforeFirstSend?(): Promise<string | undefined>;
  /**
   * Asked, synchronously, right before each write of this execution leaves for Azure: each try of it,
   * after its token was fetched and any read before it answered, the last moment before the request
   * goes to the HTTP client. Undefined lets it go; a reason withholds it (nothing of it is sent) and
   * every later write of the call, and the call fails without an outcome of Azure's.
   */
  maySend?(): string | undefined;
}

/** Operations whose target is read for drift detection (deployments compare their what-if instead). */
export type SnapshotOperation = Exclude<ChangeOperation, { kind: 'deployTemplate' }>;

/** Azure Resource Manager, as Countersign uses it (the real SDK, or the same SDK against the sandbox). */
export interface AzureGateway {
  /** True when talking to the local ARM sandbox rather than Azure. */
  readonly sandbox: boolean;
  whatIf(op: Extract<ChangeOperation, { kind: 'deployTemplate' }>): Promise<WhatIfSummary>;
  execute(op: ChangeOperation, hooks: ExecutionHooks): Promise<ExecutionOutcome>;
  /**
   * Follows an operation an earlier run started, from the ref it recorded: polls the same ARM operation
   * (the SDK poller restored, or the async-operation URL), or, when no ARM answer had been recorded,
   * reconciles from the target's state. It sends the operation only where the target shows it did not
   * take effect and sending it is idempotent; an effect that cannot be read back ends `unknown`.
   */
  resume(op: ChangeOperation, ref: ArmOperationRef, hooks: ExecutionHooks): Promise<ExecutionOutcome>;
  /**
   * The target as it is now, reduced to what decides the operation's effect. Rejects with ARM's error
   * in words; the error's `transient` is true when the read failed for a passing reason (throttled,
   * ARM failing, the connection), so that reading again later may work.
   */
  snapshot(op: SnapshotOperation): Promise<TargetSnapshot>;
  /** Asks ARM to cancel a running deployment. Rejects with ARM's refusal in words (e.g. it already finished). */
  cancel(op: Extract<ChangeOperation, { kind: 'deployTemplate' }>): Promise<void>;
  query(op: QueryOperation): Promise<QueryResult>;
}

/** How the use cases reach people: implemented by the Teams layer. */
export interface RequestNotifier {
  /** Re-render every posted card of the request, for everyone. */
  cardChanged(request: ApprovalRequest): Promise<void>;
  /** Tell the requester, in the conversation where they asked. Never throws: answers what became of it. */
  tellRequester(request: ApprovalRequest, text: string): Promise<Told>;
  /**
   * Shows one card message of the request as it is now, with no button to decide it and `notice`
   * above: the card a delegate was sent in their personal chat, once the delegation that let them
   * decide it was revoked or replaced, or ran out. Never puts an older state over a newer card (the
   * Teams notifier claims the card's version). Never throws (a failure is logged: a click on the card is still
   * refused, saying why): answers false when the update failed for now and may go later, true when
   * nothing is left to do (shown, a newer state shown already, or the message gone for good).
   */
  cardWithoutButtons?(request: ApprovalRequest, message: CardMessage, notice: string): Promise<boolean>;
}

/**
 * What became of a message to a requester: Teams took it (`sent`); Teams refused it for good, or the
 * conversation cannot be reached at all (`refused`: it is gone, the bot was removed or blocked, no
 * reference is stored); or it failed for now and may go later (`failed`: Teams down, throttling past
 * the retries, Countersign stopping).
 */
export type Told = 'sent' | 'refused' | 'failed';

/** A person Countersign brings a request to (their tenant is the request's). */
export interface Recipient {
  aadObjectId: string;
  tenantId: string;
}

/** Where a card was posted, or why it could not be (in words a card can show: "app not installed"). */
/**
 * What a message of a round came to. `storeFault`: not sent only because Countersign's own database
 * failed (the person's chat could not be looked up or saved): the round sends it again once the
 * database works (round-resume.ts).
 */
export type Delivery = { ok: true; message: CardMessage; name?: string } | { ok: false; why: string; name?: string; storeFault?: true };

/**
 * How the use cases bring a request's card to the people who may decide it and to approval
 * channels: implemented by the Teams layer. The app binds each card posted (card-binding.ts).
 */
export interface ApproverMessenger {
  /**
   * Posts the request's card, with `text` when given, in the person's personal chat with Countersign,
   * starting that chat when none is known. Never throws: a failure is a Delivery saying why.
   */
  cardToPerson(request: ApprovalRequest, person: Recipient, text?: string, options?: DeliveryOptions): Promise<Delivery>;
  /** Posts the request's card, with `text` when given, in a conversation Countersign is part of. Never throws. */
  cardToConversation(request: ApprovalRequest, conversationId: string, text?: string, options?: DeliveryOptions): Promise<Delivery>;
  /**
   * Posts `text` alone in a conversation Countersign is part of (a reminder where the request's card
   * is already as often as it may be). Never throws.
   */
  textToConversation(request: ApprovalRequest, conversationId: string, text: string): Promise<{ ok: true } | { ok: false; why: string }>;
  /**
   * The person's personal chat with Countersign, when one is known (a reminder there past the copies
   * of the card a conversation keeps goes as text alone, as in a channel). Undefined when none is known.
   */
  personalChatOf(person: Recipient): Promise<string | undefined>;
  /**
   * The IANA time zone Teams last sent with the person's activity, kept with their personal chat;
   * undefined when none is known (their messages from Countersign then name times in UTC).
   */
  timeZoneOf?(person: Recipient): Promise<string | undefined>;
}

export interface DeliveryOptions {
  /**
   * Cards already bound to the request: when one of them is in the conversation the card would go
   * to, nothing is posted and that card is the delivery (a round taken up again after a crash does
   * not give someone a second card of what they can already decide on).
   */
  unlessBoundIn?: readonly CardMessage[];
}

export interface Clock {
  now(): Date;
  /**
   * Milliseconds on a clock that never steps (the system's monotonic clock), for intervals kept in
   * memory: a wall-clock step back or forward does not lengthen or cut them. Absent (the tests' clocks,
   * which they move), intervals run on now().
   */
  elapsed?(): number;
}

/** The time an interval kept in memory is measured on: the clock's monotonic one, else its wall time. */
export function elapsedOn(clock: Clock): number {
  return clock.elapsed ? clock.elapsed() : clock.now().getTime();
}

export interface IdGenerator {
  requestId(): string;
  /** Ids of delegations (default: a random UUID with a DG- prefix). */
  delegationId?(): string;
}

/**
 * Microsoft Entra group membership, as the use cases need it (implemented over Microsoft Graph in
 * src/azure/graph-directory.ts). Membership is transitive: a member of a group nested in a group is a member.
 */
export interface Directory {
  /**
   * Which of `candidateGroupIds` the person is a member of. Rejects with a DirectoryError when the
   * directory cannot say (network, timeout, throttled too long, permission missing): never a guess.
   */
  groupsOf(aadObjectId: string, candidateGroupIds: readonly string[]): Promise<Set<string>>;
}

/** The directory could not answer whether someone is a member of these groups. */
export class DirectoryError extends Error {
  constructor(
    readonly groupIds: readonly string[],
    readonly detail: string,
  ) {
    super(`could not check membership of group ${groupIds.join(', ')} in Microsoft Entra: ${detail}`);
    this.name = 'DirectoryError';
  }
}
