/** What only the Teams layer keeps: how to reach a conversation later (proactive messages, card updates). */
export interface ConversationReferenceStore {
  /** The reference is opaque here (a botbuilder ConversationReference, stored as JSON). */
  saveReference(conversationId: string, reference: unknown): Promise<void>;
  getReference(conversationId: string): Promise<unknown | undefined>;
  /**
   * A person's personal chat with Countersign, keyed by their tenant and Entra object id (letter case
   * ignored): saved whenever they talk to the bot there, or when Countersign started the chat.
   */
  savePersonalReference(tenantId: string, aadObjectId: string, reference: unknown): Promise<void>;
  getPersonalReference(tenantId: string, aadObjectId: string): Promise<unknown | undefined>;
}
