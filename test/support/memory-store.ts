/**
 * An in-memory CountersignStore that keeps the promises of the store contract (test/store/store-contract.ts)
 * as the SQLite store does: requests under compare-and-swap with every version kept, each write
 * committed together with its audit events or not at all, and the audit chain sealed by the same
 * chain module the real stores use, so verifyChain accepts it. What it holds lives in a
 * MemoryStoreState; `reopen` hands that state to a new store, as reopening a database file would.
 *
 * Every write is checked and applied synchronously when it is called (one JavaScript turn is the
 * transaction), and its promise settles afterwards, so callers interleave as they would with a
 * real backend but never see half a write.
 */
import { BreakGlassLimitError, DelegationConflictError, DuplicateRequestError, OpenRequestExistsError, VersionConflictError } from '../../src/app/ports';
import { openRequestLike } from '../../src/domain/same-operation';
import { canonicalJson } from '../../src/domain/canonical';
import type { AuditLog, AuditReadOptions, BreakGlassLimit, OnceOpen, CardBindingStore, CardMessage, DelegationStore, RequestQuery, RequestStore } from '../../src/app/ports';
import { decideCardClaim, releasedCardClaim, type CardClaimState } from '../../src/store/card-claims';
import { sealRecord } from '../../src/audit/chain/chain';
import { DuplicateDownloadLinkError, type AuditCheckpoint, type AuditAccessStore, type DownloadClaim, type DownloadLink } from '../../src/audit/ports';
import type { AuditIndexSchema } from '../../src/audit/verify/schema-findings';
import type { AuditEventDraft, AuditFilter, AuditRecord, ChainHead } from '../../src/domain/audit';
import type { Delegation, DelegationChange } from '../../src/domain/delegation';
import { breakGlassDueAt, breakGlassUsesAfter } from '../../src/domain/lifecycle';
import type { ApprovalRequest } from '../../src/domain/request';
import type { CountersignStore } from '../../src/store/countersign-store';
import { uuidv7 } from '../../src/store/ids';
import type { CardClaim, CardLease, CardVersionClaims, ConversationReferenceStore, SettledCardMessage } from '../../src/teams/ports';

interface StoredRecord {
  seq: number;
  time: string;
  type: string;
  requestId?: string;
  actorId?: string;
  /** The record's canonical text, as a real store keeps it: every read parses a fresh copy. */
  text: string;
}

interface StoredLink {
  link: string;
  usedAt?: string;
  exportId?: string;
}

/** Everything the store holds. Kept as JSON text so no caller can change what was saved. */
export class MemoryStoreState {
  /** Latest version of each request, in insertion order (the tie-break of `list`). */
  readonly requests = new Map<string, { version: number; text: string }>();
  readonly requestVersions = new Map<string, string[]>();
  readonly audit: StoredRecord[] = [];
  head: ChainHead | undefined;
  readonly cards = new Map<string, CardMessage[]>();
  /** The highest version claimed per card message (request id, conversation id, activity id) and its lease. */
  readonly cardClaims = new Map<string, CardClaimState>();
  readonly references = new Map<string, string>();
  /** Personal chats by tenant and object id (lowercase). */
  readonly personalReferences = new Map<string, string>();
  readonly checkpoints: (AuditCheckpoint & { recordSeq: number | null })[] = [];
  readonly links = new Map<string, StoredLink>();
  readonly manifests = new Map<string, string>();
  /** Delegations by id, in insertion order, as JSON text. */
  readonly delegations = new Map<string, string>();
  /**
   * Records (by seq) that reads of one request's records without `scan` do not give: what an index
   * by request made again to leave them out does to the stores' reads (test/store/index-tamper.ts).
   */
  readonly leftOutOfRequestIndex = new Set<number>();
}

class MemoryStoreClosedError extends Error {
  constructor() {
    super('the in-memory store is closed');
    this.name = 'MemoryStoreClosedError';
  }
}

export interface MemoryStoreOptions {
  /** Audit record ids (default: UUID version 7, as the SQLite store). */
  newId?: () => string;
}

/** A write: checks and stages synchronously, then commits by calling the returned function. */
type Staged<T> = () => T;

export class MemoryStore implements CountersignStore {
  readonly requests: RequestStore;
  readonly audit: AuditLog;
  readonly cards: CardBindingStore & CardVersionClaims;
  readonly conversations: ConversationReferenceStore;
  readonly auditAccess: AuditAccessStore;
  readonly delegations: DelegationStore;
  private closed = false;
  private readonly newId: () => string;

  constructor(
    readonly state: MemoryStoreState = new MemoryStoreState(),
    options: MemoryStoreOptions = {},
  ) {
    this.newId = options.newId ?? (() => uuidv7());
    this.requests = new MemoryRequests(this);
    this.audit = new MemoryAuditLog(this);
    const conversations = new MemoryConversations(this);
    this.cards = conversations;
    this.conversations = conversations;
    this.auditAccess = new MemoryAuditAccess(this);
    this.delegations = new MemoryDelegations(this);
  }

  /** A new store over the same state: what reopening the same database does. */
  reopen(options: MemoryStoreOptions = {}): MemoryStore {
    return new MemoryStore(this.state, { newId: this.newId, ...options });
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  /** Memory does not fail as storage does. */
  storageFault(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * Runs one write atomically: `stage` checks and prepares (throwing leaves nothing behind), the
   * events are sealed after the current head, and only then is everything applied.
   */
  write<T>(events: readonly AuditEventDraft[], stage: () => Staged<T>): Promise<{ value: T; records: AuditRecord[] }> {
    try {
      if (this.closed) throw new MemoryStoreClosedError();
      const commit = stage();
      const sealed: StoredRecord[] = [];
      const records: AuditRecord[] = [];
      let head = this.state.head;
      for (const draft of events) {
        const { record, text } = sealRecord(draft, head, this.newId());
        head = { seq: record.seq, hash: record.hash };
        records.push(record);
        sealed.push({
          seq: record.seq,
          time: record.time,
          type: record.type,
          text,
          ...(record.request ? { requestId: record.request.id } : {}),
          ...(record.actor ? { actorId: record.actor.aadObjectId } : {}),
        });
      }
      const value = commit();
      this.state.audit.push(...sealed);
      this.state.head = head;
      // Settles in a later turn, as a database write does: callers that raced see each other's commits.
      return new Promise((resolve) => setImmediate(() => resolve({ value, records })));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** For reads: a closed store answers nothing. */
  assertOpen(): void {
    if (this.closed) throw new MemoryStoreClosedError();
  }
}

class MemoryRequests implements RequestStore {
  constructor(private readonly store: MemoryStore) {}

  private get state(): MemoryStoreState {
    return this.store.state;
  }

  async insert(request: ApprovalRequest, events: AuditEventDraft[], limit?: BreakGlassLimit, once?: OnceOpen): Promise<AuditRecord[]> {
    if (request.version !== 1) {
      throw new RangeError(`a new request must have version 1; request ${request.id} has version ${request.version}`);
    }
    const text = JSON.stringify(request);
    const { records } = await this.store.write(events, () => {
      // In the order the SQLite and PostgreSQL stores check: the break-glass limit, an open request like it, then the id.
      if (limit) {
        const stored = [...this.state.requests.values()].map((x) => JSON.parse(x.text) as ApprovalRequest);
        const used = breakGlassUsesAfter(stored, request.requester.aadObjectId, request.command, limit.since);
        if (used.length >= limit.count) throw new BreakGlassLimitError(request.id, used);
      }
      if (once) {
        const stored = [...this.state.requests.values()].map((x) => JSON.parse(x.text) as ApprovalRequest);
        const open = openRequestLike(request, request.requester.aadObjectId, stored, new Date(once.at));
        if (open) throw new OpenRequestExistsError(request.id, open.id);
      }
      if (this.state.requests.has(request.id)) throw new DuplicateRequestError(request.id);
      return () => {
        this.state.requests.set(request.id, { version: 1, text });
        this.state.requestVersions.set(request.id, [text]);
      };
    });
    return records;
  }

  async update(next: ApprovalRequest, expectedVersion: number, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    if (next.version !== expectedVersion + 1) {
      throw new RangeError(
        `an update of request ${next.id} must move it from version ${expectedVersion} to ${expectedVersion + 1}, not to ${next.version}`,
      );
    }
    const text = JSON.stringify(next);
    const { records } = await this.store.write(events, () => {
      const current = this.state.requests.get(next.id);
      if (!current) throw new Error(`request ${next.id} does not exist: it must be inserted before it can be updated`);
      if (current.version !== expectedVersion) throw new VersionConflictError(next.id, expectedVersion);
      return () => {
        // Replaced in place, so the request keeps its insertion order.
        current.version = next.version;
        current.text = text;
        this.state.requestVersions.get(next.id)?.push(text);
      };
    });
    return records;
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    this.store.assertOpen();
    const row = this.state.requests.get(id);
    return row ? (JSON.parse(row.text) as ApprovalRequest) : undefined;
  }

  /** Oldest first (by createdAt, then insertion order). An empty `states` list matches nothing. */
  async list(query: RequestQuery): Promise<ApprovalRequest[]> {
    this.store.assertOpen();
    const all = [...this.state.requests.values()].map((row, order) => ({ order, request: JSON.parse(row.text) as ApprovalRequest }));
    const matching = all.filter(
      ({ request }) =>
        (query.states === undefined || query.states.includes(request.state)) &&
        (query.expiringBefore === undefined || request.expiresAt < query.expiringBefore) &&
        (query.reviewDueBy === undefined || reviewDueBy(request, query.reviewDueBy)) &&
        (query.updatedSince === undefined || request.updatedAt >= query.updatedSince) &&
        (!query.reviewWaiting || (!!request.breakGlass && !request.breakGlass.review)) &&
        (!query.expiredAtAuditLoss || !!request.expiredAtAuditLoss) &&
        (!query.outcomeMessageOwed || !!request.outcomeMessage) &&
        (query.requester === undefined || request.requester.aadObjectId.toLowerCase() === query.requester.toLowerCase()) &&
        (query.target === undefined || asciiLower(canonicalJson(request.target)) === asciiLower(canonicalJson(query.target))),
    );
    matching.sort((a, b) => (a.request.createdAt < b.request.createdAt ? -1 : a.request.createdAt > b.request.createdAt ? 1 : a.order - b.order));
    const from = matching.slice(query.offset ?? 0);
    const limited = query.limit === undefined || query.limit < 0 ? from : from.slice(0, query.limit);
    return limited.map((x) => x.request);
  }
}

/** A break-glass review waiting and due by `at` (the stores' review_due_at column). */
function reviewDueBy(request: ApprovalRequest, at: string): boolean {
  const due = breakGlassDueAt(request);
  return due !== undefined && due <= at;
}

class MemoryDelegations implements DelegationStore {
  constructor(private readonly store: MemoryStore) {}

  private all(): Delegation[] {
    return [...this.store.state.delegations.values()].map((text) => JSON.parse(text) as Delegation);
  }

  async record(change: DelegationChange): Promise<AuditRecord[]> {
    const { records } = await this.store.write(change.events, () => {
      const stored = new Map(this.all().map((d) => [d.id, d]));
      for (const d of change.ended) if (!stored.get(d.id) || stored.get(d.id)?.ended) throw new DelegationConflictError(d.delegator.aadObjectId);
      const created = change.created;
      if (created) {
        const endedIds = new Set(change.ended.map((d) => d.id));
        const open = [...stored.values()].some(
          (d) => !endedIds.has(d.id) && !d.ended && d.until > created.createdAt && d.delegator.aadObjectId.toLowerCase() === created.delegator.aadObjectId.toLowerCase(),
        );
        // Its id taken (the same message sent again, its delegation since ended): the id is unique.
        if (open || stored.has(created.id)) throw new DelegationConflictError(created.delegator.aadObjectId);
      }
      return () => {
        for (const d of [...change.ended, ...(created ? [created] : [])]) this.store.state.delegations.set(d.id, JSON.stringify(d));
      };
    });
    return records;
  }

  async inForce(at: string): Promise<Delegation[]> {
    this.store.assertOpen();
    return this.all()
      .filter((d) => !d.ended && d.until > at)
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  async receivedSince(delegateId: string, since: string): Promise<Delegation[]> {
    this.store.assertOpen();
    const who = delegateId.toLowerCase();
    return this.all()
      .filter((d) => d.delegate.aadObjectId.toLowerCase() === who && d.until > since && (!d.ended || d.ended.at > since))
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  async ranOutSince(since: string, at: string): Promise<Delegation[]> {
    this.store.assertOpen();
    return this.all()
      .filter((d) => !d.ended && !d.cardsWithdrawnAt && d.until > since && d.until <= at)
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  async takeCardsWithdrawal(id: string, at: string, staleBefore: string): Promise<boolean> {
    const { value } = await this.store.write([], () => () => {
      const text = this.store.state.delegations.get(id);
      const d = text === undefined ? undefined : (JSON.parse(text) as Delegation);
      if (!d || d.cardsWithdrawnAt || (d.cardsTakenAt !== undefined && d.cardsTakenAt > staleBefore)) return false;
      this.store.state.delegations.set(id, JSON.stringify({ ...d, cardsTakenAt: at }));
      return true;
    });
    return value;
  }

  async markCardsWithdrawn(id: string, at: string): Promise<boolean> {
    const { value } = await this.store.write([], () => () => {
      const text = this.store.state.delegations.get(id);
      const d = text === undefined ? undefined : (JSON.parse(text) as Delegation);
      if (!d || d.cardsWithdrawnAt) return false;
      this.store.state.delegations.set(id, JSON.stringify({ ...d, cardsWithdrawnAt: at }));
      return true;
    });
    return value;
  }

  async get(id: string): Promise<Delegation | undefined> {
    this.store.assertOpen();
    const text = this.store.state.delegations.get(id);
    return text === undefined ? undefined : (JSON.parse(text) as Delegation);
  }
}

/**
 * The run of seqs a time window selects, as the stores read it: from the first record at or after
 * `from` to the last before `to` (records whose times cross inside it included). Undefined: none.
 */
function runOf(log: readonly StoredRecord[], filter: AuditFilter): { first: number; last: number } | undefined {
  const { from, to } = filter;
  const first = from === undefined ? 1 : log.find((r) => r.time >= from)?.seq;
  let last = to === undefined ? Number.POSITIVE_INFINITY : undefined;
  for (let i = log.length - 1; i >= 0 && last === undefined; i--) if (log[i].time < to!) last = log[i].seq;
  if (first === undefined || last === undefined || last < first) return undefined;
  return { first, last };
}

function matches(r: StoredRecord, filter: AuditFilter, run: { first: number; last: number }): boolean {
  return (
    (filter.fromSeq === undefined || r.seq >= filter.fromSeq) &&
    r.seq >= run.first &&
    r.seq <= run.last &&
    (filter.requestId === undefined || r.requestId === filter.requestId) &&
    (filter.actorId === undefined || r.actorId?.toLowerCase() === filter.actorId.toLowerCase()) &&
    (filter.types === undefined || (filter.types as string[]).includes(r.type))
  );
}

class MemoryAuditLog implements AuditLog {
  constructor(private readonly store: MemoryStore) {}

  async append(events: AuditEventDraft[]): Promise<AuditRecord[]> {
    const { records } = await this.store.write(events, () => () => undefined);
    return records;
  }

  /**
   * Records in seq order; records appended while reading are read too, as paging by seq would (but
   * not past the end of a time window's run, whose bounds are read at the start, as the stores do).
   */
  async *read(filter: AuditFilter = {}, options: AuditReadOptions = {}): AsyncIterable<AuditRecord> {
    this.store.assertOpen();
    const log = this.store.state.audit;
    const run = runOf(log, filter);
    if (!run) return;
    const leftOut = filter.requestId !== undefined && !options.scan ? this.store.state.leftOutOfRequestIndex : undefined;
    for (let i = 0; i < log.length; i++) {
      if (matches(log[i], filter, run) && !leftOut?.has(log[i].seq)) yield JSON.parse(log[i].text) as AuditRecord;
    }
  }

  async head(): Promise<ChainHead | undefined> {
    this.store.assertOpen();
    const head = this.store.state.head;
    return head ? { ...head } : undefined;
  }
}

class MemoryConversations implements ConversationReferenceStore, CardBindingStore, CardVersionClaims {
  constructor(private readonly store: MemoryStore) {}

  async saveReference(conversationId: string, reference: unknown): Promise<void> {
    const text = JSON.stringify(reference);
    if (text === undefined) throw new TypeError(`the reference of conversation ${conversationId} cannot be stored as JSON`);
    await this.store.write([], () => () => void this.store.state.references.set(conversationId, text));
  }

  async getReference(conversationId: string): Promise<unknown | undefined> {
    this.store.assertOpen();
    const text = this.store.state.references.get(conversationId);
    return text === undefined ? undefined : JSON.parse(text);
  }

  async savePersonalReference(tenantId: string, aadObjectId: string, reference: unknown): Promise<void> {
    const text = JSON.stringify(reference);
    if (text === undefined) throw new TypeError(`the personal chat reference of ${aadObjectId} cannot be stored as JSON`);
    await this.store.write([], () => () => void this.store.state.personalReferences.set(personKey(tenantId, aadObjectId), text));
  }

  async getPersonalReference(tenantId: string, aadObjectId: string): Promise<unknown | undefined> {
    this.store.assertOpen();
    const text = this.store.state.personalReferences.get(personKey(tenantId, aadObjectId));
    return text === undefined ? undefined : JSON.parse(text);
  }

  async saveCardMessage(requestId: string, message: CardMessage, version = 0): Promise<void> {
    const saved = { conversationId: message.conversationId, activityId: message.activityId };
    await this.store.write([], () => () => {
      const list = this.store.state.cards.get(requestId) ?? [];
      // As the SQL stores: the version the card shows is recorded as sent; a message bound already keeps its own.
      if (!list.some((m) => m.conversationId === saved.conversationId && m.activityId === saved.activityId)) {
        list.push(saved);
        this.store.state.cardClaims.set(cardKey(requestId, saved), { ...NO_CLAIM, sentVersion: version });
      }
      this.store.state.cards.set(requestId, list);
    });
  }

  async getCardMessages(requestId: string): Promise<CardMessage[]> {
    this.store.assertOpen();
    return (this.store.state.cards.get(requestId) ?? []).map((m) => ({ ...m }));
  }

  async getSettledCardMessages(requestId: string): Promise<SettledCardMessage[]> {
    this.store.assertOpen();
    return (this.store.state.cards.get(requestId) ?? []).map((m) => {
      const claim = this.store.state.cardClaims.get(cardKey(requestId, m)) ?? NO_CLAIM;
      return { ...m, settledVersion: claim.leaseHolder === null ? claim.sentVersion : 0 };
    });
  }

  async claimCardVersion(requestId: string, message: CardMessage, version: number, lease: CardLease): Promise<CardClaim> {
    const { value } = await this.store.write([], () => () => {
      const bound = (this.store.state.cards.get(requestId) ?? []).some((m) => m.conversationId === message.conversationId && m.activityId === message.activityId);
      if (!bound) return 'outdated' as const;
      const key = cardKey(requestId, message);
      const { outcome, next } = decideCardClaim(this.store.state.cardClaims.get(key) ?? NO_CLAIM, version, lease, Date.now());
      if (next) this.store.state.cardClaims.set(key, next);
      return outcome;
    });
    return value;
  }

  async releaseCardVersion(requestId: string, message: CardMessage, version: number, holder: string, shown = true): Promise<void> {
    await this.store.write([], () => () => {
      const key = cardKey(requestId, message);
      const state = this.store.state.cardClaims.get(key);
      if (state) this.store.state.cardClaims.set(key, releasedCardClaim(state, version, holder, shown));
    });
  }
}

const NO_CLAIM: CardClaimState = { sentVersion: 0, leaseHolder: null, leaseUntil: null };

function cardKey(requestId: string, message: CardMessage): string {
  return JSON.stringify([requestId, message.conversationId, message.activityId]);
}

function personKey(tenantId: string, aadObjectId: string): string {
  return `${tenantId.toLowerCase()}/${aadObjectId.toLowerCase()}`;
}

class MemoryAuditAccess implements AuditAccessStore {
  constructor(private readonly store: MemoryStore) {}

  private get state(): MemoryStoreState {
    return this.store.state;
  }

  async saveCheckpoint(checkpoint: AuditCheckpoint, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    const saved = { seq: checkpoint.seq, hash: checkpoint.hash, time: checkpoint.time, keyId: checkpoint.keyId, signature: checkpoint.signature };
    // The checkpoint names the seq of the audit.checkpoint record committed with it.
    const firstSeq = (this.state.head?.seq ?? 0) + 1;
    const { records } = await this.store.write(events, () => () => void this.state.checkpoints.push({ ...saved, recordSeq: events.length ? firstSeq : null }));
    return records;
  }

  async recordHashes(seqs: readonly number[]): Promise<Map<number, string>> {
    this.store.assertOpen();
    const wanted = new Set(seqs);
    return new Map(this.state.audit.filter((r) => wanted.has(r.seq)).map((r) => [r.seq, (JSON.parse(r.text) as AuditRecord).hash]));
  }

  async lastCheckpoint(): Promise<(AuditCheckpoint & { recordSeq: number | null }) | undefined> {
    this.store.assertOpen();
    let last: (AuditCheckpoint & { recordSeq: number | null }) | undefined;
    // Highest seq; among equals, the one saved last (as ORDER BY seq DESC, id DESC).
    for (const c of this.state.checkpoints) if (!last || c.seq >= last.seq) last = c;
    return last ? { ...last } : undefined;
  }

  async saveDownloadLink(link: DownloadLink, events: AuditEventDraft[]): Promise<AuditRecord[]> {
    const text = JSON.stringify(link);
    const { records } = await this.store.write(events, () => {
      if (this.state.links.has(link.tokenHash)) throw new Error(`a download link with token hash ${link.tokenHash} already exists`);
      if ([...this.state.links.values()].some((row) => (JSON.parse(row.link) as DownloadLink).linkId === link.linkId)) throw new DuplicateDownloadLinkError(link.linkId);
      return () => void this.state.links.set(link.tokenHash, { link: text });
    });
    return records;
  }

  async claimDownloadLink(tokenHash: string, at: string): Promise<DownloadClaim> {
    const { value } = await this.store.write([], () => () => {
      const row = this.state.links.get(tokenHash);
      if (!row) return { ok: false as const, reason: 'unknown' as const };
      const link = JSON.parse(row.link) as DownloadLink;
      if (row.usedAt !== undefined) return { ok: false as const, reason: 'used' as const, link, usedAt: row.usedAt };
      row.usedAt = at;
      return { ok: true as const, link };
    });
    return value;
  }

  async getDownloadLinkById(linkId: string): Promise<(DownloadLink & { usedAt?: string; exportId?: string }) | undefined> {
    this.store.assertOpen();
    const tokenHash = [...this.state.links.entries()].find(([, row]) => (JSON.parse(row.link) as DownloadLink).linkId === linkId)?.[0];
    return tokenHash === undefined ? undefined : this.getDownloadLink(tokenHash);
  }

  async getDownloadLink(tokenHash: string): Promise<(DownloadLink & { usedAt?: string; exportId?: string }) | undefined> {
    this.store.assertOpen();
    const row = this.state.links.get(tokenHash);
    if (!row) return undefined;
    return {
      ...(JSON.parse(row.link) as DownloadLink),
      ...(row.usedAt ? { usedAt: row.usedAt } : {}),
      ...(row.exportId ? { exportId: row.exportId } : {}),
    };
  }

  async saveExportManifest(exportId: string, createdAt: string, manifest: object, events: AuditEventDraft[], tokenHash?: string): Promise<AuditRecord[]> {
    const text = JSON.stringify(manifest);
    const { records } = await this.store.write(events, () => {
      if (this.state.manifests.has(exportId)) throw new Error(`an export with id ${exportId} already exists`);
      return () => {
        this.state.manifests.set(exportId, text);
        const link = tokenHash ? this.state.links.get(tokenHash) : undefined;
        if (link && link.exportId === undefined) link.exportId = exportId;
      };
    });
    return records;
  }

  async getExportManifest(exportId: string): Promise<object | undefined> {
    this.store.assertOpen();
    const text = this.state.manifests.get(exportId);
    return text === undefined ? undefined : (JSON.parse(text) as object);
  }

  async requestVersions(requestId: string): Promise<ApprovalRequest[]> {
    this.store.assertOpen();
    return (this.state.requestVersions.get(requestId) ?? []).map((t) => JSON.parse(t) as ApprovalRequest);
  }

  async missingProtection(): Promise<string[]> {
    return [];
  }

  /** No indexes: nothing to judge or count. */
  auditIndexSchema(): AuditIndexSchema {
    return { auditIndexes: async () => [], auditIndexEntries: async () => undefined };
  }

  async recordsNaming(after: number, upTo: number): Promise<{ records: number; requests: number; actors: number }> {
    this.store.assertOpen();
    const run = this.state.audit.filter((r) => r.seq > after && r.seq <= upTo);
    return { records: run.length, requests: run.filter((r) => r.requestId !== undefined).length, actors: run.filter((r) => r.actorId !== undefined).length };
  }

  async requestsWithoutRow(): Promise<{ id: string; state: string; updatedAt: string }[]> {
    this.store.assertOpen();
    return [...this.state.requestVersions.entries()]
      .filter(([id]) => !this.state.requests.has(id))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, 100)
      .map(([id, texts]) => {
        const last = JSON.parse(texts[texts.length - 1]) as ApprovalRequest;
        return { id, state: last.state, updatedAt: last.updatedAt };
      });
  }
}

/** Lower case as the stores' lower() folds it (ASCII letters): a target is found whatever the case of its names. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
