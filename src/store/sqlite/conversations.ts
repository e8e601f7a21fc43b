/** Conversation references and posted card messages, for proactive messages and card updates. */
import type Database from 'better-sqlite3';
import type { CardBindingStore, CardMessage } from '../../app/ports';
import type { CardClaim, CardLease, CardVersionClaims, ConversationReferenceStore, SettledCardMessage } from '../../teams/ports';
import type { StoreWriter } from './writer';

export class SqliteConversationStore implements ConversationReferenceStore, CardBindingStore, CardVersionClaims {
  private readonly getRefStmt: Database.Statement;
  private readonly getCardsStmt: Database.Statement;
  private readonly getSettledCardsStmt: Database.Statement;
  private readonly getPersonalStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: StoreWriter,
  ) {
    this.getRefStmt = db.prepare('SELECT reference FROM conversation_refs WHERE conversation_id = ?').pluck();
    this.getPersonalStmt = db.prepare('SELECT reference FROM personal_conversations WHERE tenant_id = lower(?) AND aad_object_id = lower(?)').pluck();
    this.getCardsStmt = db.prepare(
      'SELECT conversation_id AS conversationId, activity_id AS activityId FROM card_messages WHERE request_id = ? ORDER BY rowid',
    );
    this.getSettledCardsStmt = db.prepare(
      'SELECT conversation_id AS conversationId, activity_id AS activityId, CASE WHEN lease_holder IS NULL THEN sent_version ELSE 0 END AS settledVersion FROM card_messages WHERE request_id = ? ORDER BY rowid',
    );
  }

  async saveReference(conversationId: string, reference: unknown): Promise<void> {
    const text = JSON.stringify(reference);
    if (text === undefined) throw new TypeError(`the reference of conversation ${conversationId} cannot be stored as JSON`);
    await this.writer.submit('saveReference', [conversationId, text], [], { singleStatement: true });
  }

  async getReference(conversationId: string): Promise<unknown | undefined> {
    const text = this.getRefStmt.get(conversationId) as string | undefined;
    return text === undefined ? undefined : JSON.parse(text);
  }

  async savePersonalReference(tenantId: string, aadObjectId: string, reference: unknown): Promise<void> {
    const text = JSON.stringify(reference);
    if (text === undefined) throw new TypeError(`the personal chat reference of ${aadObjectId} cannot be stored as JSON`);
    await this.writer.submit('savePersonalReference', [tenantId, aadObjectId, text], [], { singleStatement: true });
  }

  async getPersonalReference(tenantId: string, aadObjectId: string): Promise<unknown | undefined> {
    const text = this.getPersonalStmt.get(tenantId, aadObjectId) as string | undefined;
    return text === undefined ? undefined : JSON.parse(text);
  }

  async saveCardMessage(requestId: string, message: CardMessage, version = 0): Promise<void> {
    await this.writer.submit('saveCardMessage', [requestId, { conversationId: message.conversationId, activityId: message.activityId }, version], [], { singleStatement: true });
  }

  async getCardMessages(requestId: string): Promise<CardMessage[]> {
    return this.getCardsStmt.all(requestId) as CardMessage[];
  }

  async getSettledCardMessages(requestId: string): Promise<SettledCardMessage[]> {
    return this.getSettledCardsStmt.all(requestId) as SettledCardMessage[];
  }

  async claimCardVersion(requestId: string, message: CardMessage, version: number, lease: CardLease): Promise<CardClaim> {
    return (await this.writer.submit('claimCardVersion', [requestId, { conversationId: message.conversationId, activityId: message.activityId }, version, { holder: lease.holder, ms: lease.ms, ...(lease.again ? { again: true } : {}) }])).value;
  }

  async releaseCardVersion(requestId: string, message: CardMessage, version: number, holder: string, shown = true): Promise<void> {
    await this.writer.submit('releaseCardVersion', [requestId, { conversationId: message.conversationId, activityId: message.activityId }, version, holder, shown]);
  }
}
