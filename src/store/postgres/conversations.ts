/** Conversation references and posted card messages in PostgreSQL, shared by every instance. */
import type { CardBindingStore, CardMessage } from '../../app/ports';
import type { CardClaim, CardLease, CardVersionClaims, ConversationReferenceStore, SettledCardMessage } from '../../teams/ports';
import type { PgWriter } from './transactions';

export class PostgresConversationStore implements ConversationReferenceStore, CardBindingStore, CardVersionClaims {
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

  async saveCardMessage(requestId: string, message: CardMessage, version = 0): Promise<void> {
    // The version the card shows is recorded as sent to it; a message bound already keeps its own.
    await this.writer.transaction((tx) =>
      tx.query('INSERT INTO card_messages (request_id, conversation_id, activity_id, sent_version) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
        requestId,
        message.conversationId,
        message.activityId,
        version,
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

  async getSettledCardMessages(requestId: string): Promise<SettledCardMessage[]> {
    const r = await this.writer.pool.query<SettledCardMessage>(
      'SELECT conversation_id AS "conversationId", activity_id AS "activityId", CASE WHEN lease_holder IS NULL THEN sent_version ELSE 0 END AS "settledVersion" FROM card_messages WHERE request_id = $1 ORDER BY ord',
      [requestId],
    );
    return r.rows.map((row) => ({ conversationId: row.conversationId, activityId: row.activityId, settledVersion: Number(row.settledVersion) }));
  }

  async claimCardVersion(requestId: string, message: CardMessage, version: number, lease: CardLease): Promise<CardClaim> {
    const r = await this.writer.transaction((tx) =>
      tx.query<{ claimed: boolean; sent: number | null }>(CLAIM_CARD_VERSION, [requestId, message.conversationId, message.activityId, version, lease.holder, lease.ms, lease.again === true]),
    );
    const { claimed, sent } = r.rows[0];
    if (claimed) return 'claimed';
    // Not claimed: a version as new was claimed already, or another holder's lease is live (then
    // claiming again later is always safe, even if the row moved on meanwhile).
    return sent === null || sent > version || (sent === version && !lease.again) ? 'outdated' : 'busy';
  }

  async releaseCardVersion(requestId: string, message: CardMessage, version: number, holder: string, shown = true): Promise<void> {
    // A failed update gives its version back (card-claims.ts releasedCardClaim): sent_version one lower.
    await this.writer.transaction((tx) =>
      tx.query(`UPDATE card_messages SET sent_version = sent_version - $6::int, lease_holder = NULL, lease_until = NULL WHERE ${CARD_MESSAGE} AND sent_version = $4 AND lease_holder = $5`, [
        requestId,
        message.conversationId,
        message.activityId,
        version,
        holder,
        shown ? 0 : 1,
      ]),
    );
  }
}

const CARD_MESSAGE = 'request_id = $1 AND conversation_id = $2 AND activity_id = $3';

/**
 * card-claims.ts's rule in one statement, on the database's clock (shared by every instance): the
 * holder of $4 renews; else $4 must be newer than what was claimed (or as new, when $7: claimed again)
 * and no other holder's lease live.
 * Under READ COMMITTED a racing claim waits for the row and re-checks the condition on what won.
 */
const CLAIM_CARD_VERSION = `WITH before AS (SELECT sent_version FROM card_messages WHERE ${CARD_MESSAGE}),
  claimed AS (
    UPDATE card_messages SET sent_version = $4, lease_holder = $5, lease_until = clock_timestamp() + $6::int * interval '1 millisecond'
    WHERE ${CARD_MESSAGE}
      AND ((sent_version = $4 AND lease_holder = $5)
        OR ((sent_version < $4 OR (sent_version = $4 AND $7::boolean)) AND (lease_holder IS NULL OR lease_holder = $5 OR lease_until <= clock_timestamp())))
    RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM claimed) AS claimed, (SELECT sent_version FROM before) AS sent`;
