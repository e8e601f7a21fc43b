/** Conversation references and posted card messages in PostgreSQL, shared by every instance. */
import type { CardBindingStore, CardMessage } from '../../app/ports';
import type { ConversationReferenceStore } from '../../teams/ports';
import type { PgWriter } from './transactions';

export class PostgresConversationStore implements ConversationReferenceStore, CardBindingStore {
  constructor(private readonly writer: PgWriter) {}

  async saveReference(conversationId: string, reference: unknown): Promise<void> {
    const text = JSON.stringify(reference);
    if (text === undefined) throw new TypeError(`the reference of conversation ${conversationId} cannot be stored as JSON`);
    await this.writer.transaction((tx) =>
      tx.query(
        `INSERT INTO conversation_refs (conversation_id, reference) VALUES ($1, $2)
         ON CONFLICT (conversation_id) DO UPDATE SET reference = excluded.reference`,
        [conversationId, text],
      ),
    );
  }

  async getReference(conversationId: string): Promise<unknown | undefined> {
    const r = await this.writer.pool.query<{ reference: string }>('SELECT reference FROM conversation_refs WHERE conversation_id = $1', [conversationId]);
    return r.rows[0] ? JSON.parse(r.rows[0].reference) : undefined;
  }

  async savePersonalReference(tenantId: string, aadObjectId: string, reference: unknown): Promise<void> {
    const text = JSON.stringify(reference);
    if (text === undefined) throw new TypeError(`the personal chat reference of ${aadObjectId} cannot be stored as JSON`);
    await this.writer.transaction((tx) =>
      tx.query(
        `INSERT INTO personal_conversations (tenant_id, aad_object_id, reference) VALUES (lower($1), lower($2), $3)
         ON CONFLICT (tenant_id, aad_object_id) DO UPDATE SET reference = excluded.reference`,
        [tenantId, aadObjectId, text],
      ),
    );
  }

  async getPersonalReference(tenantId: string, aadObjectId: string): Promise<unknown | undefined> {
    const r = await this.writer.pool.query<{ reference: string }>('SELECT reference FROM personal_conversations WHERE tenant_id = lower($1) AND aad_object_id = lower($2)', [
      tenantId,
      aadObjectId,
    ]);
    return r.rows[0] ? JSON.parse(r.rows[0].reference) : undefined;
  }

  async saveCardMessage(requestId: string, message: CardMessage): Promise<void> {
    await this.writer.transaction((tx) =>
      tx.query('INSERT INTO card_messages (request_id, conversation_id, activity_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        requestId,
        message.conversationId,
        message.activityId,
      ]),
    );
  }

  async getCardMessages(requestId: string): Promise<CardMessage[]> {
    const r = await this.writer.pool.query<CardMessage>(
      'SELECT conversation_id AS "conversationId", activity_id AS "activityId" FROM card_messages WHERE request_id = $1 ORDER BY ord',
      [requestId],
    );
    return r.rows.map((row) => ({ conversationId: row.conversationId, activityId: row.activityId }));
  }

  async claimCardVersion(requestId: string, message: CardMessage, version: number): Promise<boolean> {
    const r = await this.writer.transaction((tx) =>
      tx.query(
        `UPDATE card_messages SET sent_version = $4
         WHERE request_id = $1 AND conversation_id = $2 AND activity_id = $3 AND sent_version < $4`,
        [requestId, message.conversationId, message.activityId, version],
      ),
    );
    return r.rowCount === 1;
  }
}
