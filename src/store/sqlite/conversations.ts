/** Conversation references and posted card messages, for proactive messages and card updates. */
import type Database from 'better-sqlite3';
import type { CardBindingStore, CardClaim, CardLease, CardMessage } from '../../app/ports';
import { decideCardClaim, releasedCardClaim, type CardClaimState } from '../card-claims';
import type { ConversationReferenceStore } from '../../teams/ports';
import type { GroupCommitWriter } from './group-commit';

export class SqliteConversationStore implements ConversationReferenceStore, CardBindingStore {
  private readonly saveRefStmt: Database.Statement;
  private readonly getRefStmt: Database.Statement;
  private readonly saveCardStmt: Database.Statement;
  private readonly getCardsStmt: Database.Statement;
  private readonly readClaimStmt: Database.Statement;
  private readonly writeClaimStmt: Database.Statement;
  private readonly savePersonalStmt: Database.Statement;
  private readonly getPersonalStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: GroupCommitWriter,
  ) {
    this.saveRefStmt = db.prepare(
      `INSERT INTO conversation_refs (conversation_id, reference) VALUES (?, ?)
       ON CONFLICT (conversation_id) DO UPDATE SET reference = excluded.reference`,
    );
    this.getRefStmt = db.prepare('SELECT reference FROM conversation_refs WHERE conversation_id = ?').pluck();
    this.savePersonalStmt = db.prepare(
      `INSERT INTO personal_conversations (tenant_id, aad_object_id, reference) VALUES (lower(?), lower(?), ?)
       ON CONFLICT (tenant_id, aad_object_id) DO UPDATE SET reference = excluded.reference`,
    );
    this.getPersonalStmt = db.prepare('SELECT reference FROM personal_conversations WHERE tenant_id = lower(?) AND aad_object_id = lower(?)').pluck();
    this.saveCardStmt = db.prepare(
      'INSERT INTO card_messages (request_id, conversation_id, activity_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.getCardsStmt = db.prepare(
      'SELECT conversation_id AS conversationId, activity_id AS activityId FROM card_messages WHERE request_id = ? ORDER BY rowid',
    );
    const message = 'WHERE request_id = ? AND conversation_id = ? AND activity_id = ?';
    this.readClaimStmt = db.prepare(`SELECT sent_version AS sentVersion, lease_holder AS leaseHolder, lease_until AS leaseUntil FROM card_messages ${message}`);
    this.writeClaimStmt = db.prepare(`UPDATE card_messages SET sent_version = ?, lease_holder = ?, lease_until = ? ${message}`);
  }

  async saveReference(conversationId: string, reference: unknown): Promise<void> {
    const text = JSON.stringify(reference);
    if (text === undefined) throw new TypeError(`the reference of conversation ${conversationId} cannot be stored as JSON`);
    await this.writer.submit(() => this.saveRefStmt.run(conversationId, text), { singleStatement: true });
  }

  async getReference(conversationId: string): Promise<unknown | undefined> {
    const text = this.getRefStmt.get(conversationId) as string | undefined;
    return text === undefined ? undefined : JSON.parse(text);
  }

  async savePersonalReference(tenantId: string, aadObjectId: string, reference: unknown): Promise<void> {
    const text = JSON.stringify(reference);
    if (text === undefined) throw new TypeError(`the personal chat reference of ${aadObjectId} cannot be stored as JSON`);
    await this.writer.submit(() => this.savePersonalStmt.run(tenantId, aadObjectId, text), { singleStatement: true });
  }

  async getPersonalReference(tenantId: string, aadObjectId: string): Promise<unknown | undefined> {
    const text = this.getPersonalStmt.get(tenantId, aadObjectId) as string | undefined;
    return text === undefined ? undefined : JSON.parse(text);
  }

  async saveCardMessage(requestId: string, message: CardMessage): Promise<void> {
    await this.writer.submit(() => this.saveCardStmt.run(requestId, message.conversationId, message.activityId), {
      singleStatement: true,
    });
  }

  async getCardMessages(requestId: string): Promise<CardMessage[]> {
    return this.getCardsStmt.all(requestId) as CardMessage[];
  }

  async claimCardVersion(requestId: string, message: CardMessage, version: number, lease: CardLease): Promise<CardClaim> {
    return this.writer.submit(() => {
      const key = [requestId, message.conversationId, message.activityId];
      const state = this.readClaimStmt.get(...key) as CardClaimState | undefined;
      if (!state) return 'outdated';
      const { outcome, next } = decideCardClaim(state, version, lease, Date.now());
      if (next) this.writeClaimStmt.run(next.sentVersion, next.leaseHolder, next.leaseUntil, ...key);
      return outcome;
    });
  }

  async releaseCardVersion(requestId: string, message: CardMessage, version: number, holder: string): Promise<void> {
    await this.writer.submit(() => {
      const key = [requestId, message.conversationId, message.activityId];
      const state = this.readClaimStmt.get(...key) as CardClaimState | undefined;
      if (!state) return;
      const next = releasedCardClaim(state, version, holder);
      if (next !== state) this.writeClaimStmt.run(next.sentVersion, next.leaseHolder, next.leaseUntil, ...key);
    });
  }
}
