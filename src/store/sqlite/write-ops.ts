/**
 * Every write the SQLite store makes, as a named operation with plain-data arguments. The writer
 * (inline, or on the writer thread: writer.ts) runs each one inside the shared group-commit
 * transaction, in its own savepoint; because the operations are named rather than passed as
 * closures, the same code runs in whichever thread owns the write connection.
 */
import type Database from 'better-sqlite3';
import { BreakGlassLimitError, DelegationConflictError, DuplicateRequestError, OpenRequestExistsError, VersionConflictError } from '../../app/ports';
import type { CardMessage, OnceOpen } from '../../app/ports';
import type { CardClaim, CardLease } from '../../teams/ports';
import { DuplicateDownloadLinkError, type AuditCheckpoint, type DownloadClaim, type DownloadLink } from '../../audit/ports';
import type { Delegation } from '../../domain/delegation';
import { breakGlassUsesAfter } from '../../domain/lifecycle';
import { OPEN_STATES, type ApprovalRequest } from '../../domain/request';
import type { Target } from '../../domain/operation';
import { openRequestLike } from '../../domain/same-operation';
import { decideCardClaim, releasedCardClaim, type CardClaimState } from '../card-claims';
import { delegationColumns } from '../delegation-row';

/**
 * What an operation runs in: the shared transaction, where `append()` chains and inserts the audit
 * events submitted with this write (each operation calls it once, where its records belong) and
 * returns their seqs.
 */
export interface WriteContext {
  append(): readonly { seq: number }[];
}

/** A request's row: its JSON body and the columns the lifecycle queries. */
export interface RequestRow {
  id: string;
  version: number;
  state: string;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
  /** When something about a break-glass use falls due (breakGlassDueAt: its review, or a round announcing it), else null. */
  reviewDueAt: string | null;
  body: string;
}

/** A break-glass use's limit (ports BreakGlassLimit) with whose uses of which command it counts. */
export interface BreakGlassGuard {
  count: number;
  since: string;
  requester: string;
  command: string;
}

/** A request's requester, as the requests_requester index (migration 13) holds it: lower case. */
export const REQUESTER_ID = "lower(json_extract(body, '$.requester.aadObjectId'))";
/**
 * A request's target (`?` in turn: its subscription, resource group and resource id, null when it has
 * none) as the requests_requester index (migration 13) holds its group and resource id, field by
 * field, in lower case: Azure reads VM-Web-01 as vm-web-01 (domain/same-operation.ts decides).
 */
const SAME_TARGET =
  "lower(json_extract(body, '$.target.resourceGroup')) IS lower(?) AND lower(json_extract(body, '$.target.resourceId')) IS lower(?) AND lower(json_extract(body, '$.target.subscriptionId')) = lower(?)";

/** The values of SAME_TARGET's parameters, in its order. */
function targetValues(t: Target): [string | null, string | null, string] {
  return [t.resourceGroup ?? null, t.resourceId ?? null, t.subscriptionId];
}

export class RequestNotFoundError extends Error {
  constructor(readonly requestId: string) {
    super(`request ${requestId} does not exist: it must be inserted before it can be updated`);
    this.name = 'RequestNotFoundError';
  }
}

function isConstraint(err: unknown, code: string): boolean {
  return (err as { code?: string } | null)?.code === code;
}

interface LinkRow {
  link: string;
  usedAt: string | null;
}

/** The write operations over one write connection (statements prepared once). */
export function writeOps(db: Database.Database) {
  const requestInsert = db.prepare(
    `INSERT INTO requests (id, version, state, expires_at, created_at, updated_at, review_due_at, body)
     VALUES (@id, @version, @state, @expiresAt, @createdAt, @updatedAt, @reviewDueAt, @body)`,
  );
  const requestCas = db.prepare(
    `UPDATE requests SET version = @version, state = @state, expires_at = @expiresAt, updated_at = @updatedAt, review_due_at = @reviewDueAt, body = @body
     WHERE id = @id AND version = @expectedVersion`,
  );
  const requestVersion = db.prepare('SELECT version FROM requests WHERE id = ?').pluck();
  const requestsChangedSince = db.prepare('SELECT body FROM requests INDEXED BY requests_updated WHERE updated_at >= ?').pluck();
  const openOfRequester = db.prepare(`SELECT body FROM requests WHERE ${REQUESTER_ID} = lower(?) AND ${SAME_TARGET} AND state IN (${OPEN_STATES.map((x) => `'${x}'`).join(', ')})`).pluck();
  // Every saved version is kept as well, in the same transaction (the evidence bundle reads them).
  const requestHistory = db.prepare(
    'INSERT INTO request_versions (request_id, version, state, updated_at, body) VALUES (@id, @version, @state, @updatedAt, @body)',
  );
  const saveRef = db.prepare(
    `INSERT INTO conversation_refs (conversation_id, reference) VALUES (?, ?)
     ON CONFLICT (conversation_id) DO UPDATE SET reference = excluded.reference`,
  );
  const savePersonal = db.prepare(
    `INSERT INTO personal_conversations (tenant_id, aad_object_id, reference) VALUES (lower(?), lower(?), ?)
     ON CONFLICT (tenant_id, aad_object_id) DO UPDATE SET reference = excluded.reference`,
  );
  // The version the card shows is recorded as sent to it; a message bound already keeps its own.
  const saveCard = db.prepare('INSERT INTO card_messages (request_id, conversation_id, activity_id, sent_version) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const message = 'WHERE request_id = ? AND conversation_id = ? AND activity_id = ?';
  const readClaim = db.prepare(`SELECT sent_version AS sentVersion, lease_holder AS leaseHolder, lease_until AS leaseUntil FROM card_messages ${message}`);
  const writeClaim = db.prepare(`UPDATE card_messages SET sent_version = ?, lease_holder = ?, lease_until = ? ${message}`);
  const delegationInsert = db.prepare(
    'INSERT INTO delegations (id, delegator_id, delegate_id, created_at, until, body) VALUES (@id, @delegatorId, @delegateId, @createdAt, @until, @body)',
  );
  const delegationEnd = db.prepare('UPDATE delegations SET ended_at = @endedAt, body = @body WHERE id = @id AND ended_at IS NULL');
  const delegationBody = db.prepare('SELECT body FROM delegations WHERE id = ?').pluck();
  const delegationBodySwap = db.prepare('UPDATE delegations SET body = @body WHERE id = @id AND body = @before');
  const delegationsOpenOf = db.prepare('SELECT id FROM delegations WHERE delegator_id = ? AND ended_at IS NULL AND until > ?').pluck();
  const checkpointInsert = db.prepare(
    'INSERT INTO audit_checkpoints (seq, hash, time, key_id, signature, record_seq) VALUES (@seq, @hash, @time, @keyId, @signature, @recordSeq)',
  );
  const linkInsert = db.prepare(
    'INSERT INTO audit_downloads (token_hash, link_id, link, created_at, expires_at) VALUES (@tokenHash, @linkId, @link, @createdAt, @expiresAt)',
  );
  const linkClaim = db.prepare('UPDATE audit_downloads SET used_at = ? WHERE token_hash = ? AND used_at IS NULL');
  const linkGet = db.prepare('SELECT link, used_at AS usedAt FROM audit_downloads WHERE token_hash = ?');
  const linkExport = db.prepare('UPDATE audit_downloads SET export_id = ? WHERE token_hash = ? AND export_id IS NULL');
  const manifestInsert = db.prepare('INSERT INTO audit_exports (export_id, created_at, manifest) VALUES (?, ?, ?)');

  const cardKey = (requestId: string, m: CardMessage) => [requestId, m.conversationId, m.activityId];

  return {
    appendEvents(w: WriteContext): void {
      w.append();
    },

    insertRequest(w: WriteContext, row: RequestRow, guard: BreakGlassGuard | null = null, once: OnceOpen | null = null): void {
      if (guard) {
        // Counted in the write transaction, which this connection alone holds: every use committed
        // before, in this group too, is seen.
        const changed = (requestsChangedSince.all(guard.since) as string[]).map((body) => JSON.parse(body) as ApprovalRequest);
        const used = breakGlassUsesAfter(changed, guard.requester, guard.command, guard.since);
        if (used.length >= guard.count) throw new BreakGlassLimitError(row.id, used);
      }
      if (once) {
        // Likewise: every request of the requester committed before, in this group too, is seen.
        const request = JSON.parse(row.body) as ApprovalRequest;
        const theirs = (openOfRequester.all(request.requester.aadObjectId, ...targetValues(request.target)) as string[]).map((body) => JSON.parse(body) as ApprovalRequest);
        const open = openRequestLike(request, request.requester.aadObjectId, theirs, new Date(once.at));
        if (open) throw new OpenRequestExistsError(row.id, open.id);
      }
      try {
        requestInsert.run(row);
      } catch (err) {
        if (isConstraint(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw new DuplicateRequestError(row.id);
        throw err;
      }
      requestHistory.run(row);
      w.append();
    },

    updateRequest(w: WriteContext, row: RequestRow, expectedVersion: number): void {
      if (requestCas.run({ ...row, expectedVersion }).changes !== 1) {
        if (requestVersion.get(row.id) === undefined) throw new RequestNotFoundError(row.id);
        throw new VersionConflictError(row.id, expectedVersion);
      }
      requestHistory.run(row);
      w.append();
    },

    saveReference(_w: WriteContext, conversationId: string, text: string): void {
      saveRef.run(conversationId, text);
    },

    savePersonalReference(_w: WriteContext, tenantId: string, aadObjectId: string, text: string): void {
      savePersonal.run(tenantId, aadObjectId, text);
    },

    saveCardMessage(_w: WriteContext, requestId: string, m: CardMessage, version: number): void {
      saveCard.run(requestId, m.conversationId, m.activityId, version);
    },

    claimCardVersion(_w: WriteContext, requestId: string, m: CardMessage, version: number, lease: CardLease): CardClaim {
      const state = readClaim.get(...cardKey(requestId, m)) as CardClaimState | undefined;
      if (!state) return 'outdated';
      const { outcome, next } = decideCardClaim(state, version, lease, Date.now());
      if (next) writeClaim.run(next.sentVersion, next.leaseHolder, next.leaseUntil, ...cardKey(requestId, m));
      return outcome;
    },

    releaseCardVersion(_w: WriteContext, requestId: string, m: CardMessage, version: number, holder: string, shown: boolean): void {
      const state = readClaim.get(...cardKey(requestId, m)) as CardClaimState | undefined;
      if (!state) return;
      const next = releasedCardClaim(state, version, holder, shown);
      if (next !== state) writeClaim.run(next.sentVersion, next.leaseHolder, next.leaseUntil, ...cardKey(requestId, m));
    },

    recordDelegation(w: WriteContext, change: { created?: Delegation; ended: readonly Delegation[] }): void {
      for (const d of change.ended) {
        if (delegationEnd.run({ id: d.id, endedAt: d.ended?.at ?? null, body: JSON.stringify(d) }).changes !== 1) throw new DelegationConflictError(d.delegator.aadObjectId);
      }
      const created = change.created;
      if (created) {
        const delegatorId = created.delegator.aadObjectId.toLowerCase();
        if (delegationsOpenOf.all(delegatorId, created.createdAt).length > 0) throw new DelegationConflictError(delegatorId);
        try {
          delegationInsert.run({ ...delegationColumns(created), body: JSON.stringify(created) });
        } catch (err) {
          // Its id taken: one derived from a message, which another sending of it already used.
          if (isConstraint(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw new DelegationConflictError(delegatorId);
          throw err;
        }
      }
      w.append();
    },

    /** Sets a delegation's cardsTakenAt when its cards are not withdrawn and it is not taken, or taken at or before staleBefore (inside the one write); true when this call set it. */
    takeDelegationCards(_w: WriteContext, id: string, at: string, staleBefore: string): boolean {
      const before = delegationBody.get(id) as string | undefined;
      if (before === undefined) return false;
      const d = JSON.parse(before) as Delegation;
      if (d.cardsWithdrawnAt || (d.cardsTakenAt !== undefined && d.cardsTakenAt > staleBefore)) return false;
      return delegationBodySwap.run({ id, before, body: JSON.stringify({ ...d, cardsTakenAt: at }) }).changes === 1;
    },

    /** Sets a delegation's cardsWithdrawnAt once (inside the one write, where nobody interleaves); true when this call set it. */
    markDelegationCardsWithdrawn(_w: WriteContext, id: string, at: string): boolean {
      const before = delegationBody.get(id) as string | undefined;
      if (before === undefined) return false;
      const d = JSON.parse(before) as Delegation;
      if (d.cardsWithdrawnAt) return false;
      return delegationBodySwap.run({ id, before, body: JSON.stringify({ ...d, cardsWithdrawnAt: at }) }).changes === 1;
    },

    saveCheckpoint(w: WriteContext, c: AuditCheckpoint): void {
      const records = w.append();
      checkpointInsert.run({ seq: c.seq, hash: c.hash, time: c.time, keyId: c.keyId, signature: c.signature, recordSeq: records[0]?.seq ?? null });
    },

    saveDownloadLink(w: WriteContext, link: DownloadLink): void {
      try {
        linkInsert.run({ tokenHash: link.tokenHash, linkId: link.linkId, link: JSON.stringify(link), createdAt: link.createdAt, expiresAt: link.expiresAt });
      } catch (err) {
        if (isConstraint(err, 'SQLITE_CONSTRAINT_UNIQUE')) throw new DuplicateDownloadLinkError(link.linkId);
        throw err;
      }
      w.append();
    },

    claimDownloadLink(_w: WriteContext, tokenHash: string, at: string): DownloadClaim {
      const claimed = linkClaim.run(at, tokenHash).changes === 1;
      const row = linkGet.get(tokenHash) as LinkRow | undefined;
      if (!row) return { ok: false, reason: 'unknown' };
      const link = JSON.parse(row.link) as DownloadLink;
      return claimed ? { ok: true, link } : { ok: false, reason: 'used', link, usedAt: row.usedAt ?? '' };
    },

    saveExportManifest(w: WriteContext, exportId: string, createdAt: string, text: string, tokenHash: string | null): void {
      manifestInsert.run(exportId, createdAt, text);
      if (tokenHash) linkExport.run(exportId, tokenHash);
      w.append();
    },
  };
}

export type WriteOps = ReturnType<typeof writeOps>;
export type WriteOpName = keyof WriteOps;
export type WriteOpArgs<K extends WriteOpName> = WriteOps[K] extends (w: WriteContext, ...args: infer A) => unknown ? A : never;
export type WriteOpResult<K extends WriteOpName> = ReturnType<WriteOps[K]>;
