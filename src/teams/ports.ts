/** What only the Teams layer keeps: how to reach a conversation later (proactive messages, card updates). */
export interface ConversationReferenceStore {
  /** The reference is opaque here (a botbuilder ConversationReference, stored as JSON). */
  saveReference(conversationId: string, reference: unknown): Promise<void>;
  getReference(conversationId: string): Promise<unknown | undefined>;
}
