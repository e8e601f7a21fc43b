import type { CardMessage, StorageFault } from '../app/ports';

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
  /**
   * Whether an error these reads threw is the store's own failure (Store.storageFault): a card is
   * then told why in words, never with the database driver's message.
   */
  storageFault?(err: unknown): StorageFault | undefined;
}

/**
 * Which version of a request each of its card messages may show next, and which instance sends it:
 * what only the Teams notifier asks of the card bindings (the store keeps them with the bindings).
 */
export interface CardVersionClaims {
  /**
   * Claims the right to show `version` of the request on one of its card messages, for a short lease
   * held while the update travels to Teams (an atomic compare-and-swap shared by every instance):
   * - `claimed`: no version as new was claimed for that message before and no other holder's lease is
   *   live; the message now carries `version`, leased to `lease.holder` for `lease.ms` (the store's
   *   clock; PostgreSQL's, shared by the instances). The holder claiming the version it holds again
   *   renews the lease (before a retry of the send).
   * - `outdated`: this version or a newer one was claimed already (or the message is not bound to the
   *   request): sending it would repeat it or put an older card over a newer one.
   * - `busy`: another holder's lease on an older version is live: its update may still be on its way,
   *   so this one must not go yet; claim again later (a lease not released expires after `lease.ms`).
   * The notifier sends an update only after `claimed`, and releases the lease once Teams answered.
   */
  claimCardVersion(requestId: string, message: CardMessage, version: number, lease: CardLease): Promise<CardClaim>;
  /**
   * Ends `holder`'s lease on `version` once Teams answered its update; a lease it no longer holds is
   * left alone. `shown` false (the update failed): the version is given back, so that it or a newer
   * one may be claimed again and the card still comes to show it; an older one stays `outdated`.
   * A refusal no attempt can change (404, 403, 400: `updateCannotSucceed` in notifier.ts) is released
   * with `shown` true: the card is settled at that version, so no start tries it again, while a newer
   * version is still claimed and tried.
   */
  releaseCardVersion(requestId: string, message: CardMessage, version: number, holder: string, shown?: boolean): Promise<void>;
  /**
   * The request's card messages, oldest first (as CardBindingStore.getCardMessages), each with the
   * version it is settled at: a card that already shows the version an update would send is left
   * alone without a claim, and without waiting for a place in its conversation's Teams budget (a
   * start brings every card of the last hour's open requests up to date, most of them current).
   */
  getSettledCardMessages(requestId: string): Promise<SettledCardMessage[]>;
}

/** Who holds a card version's claim (one id per notifier, so per instance) and for how long. */
export interface CardLease {
  holder: string;
  ms: number;
  /**
   * The version may be claimed again when it is the one claimed last (not `outdated` then), to show
   * it differently: a former delegate's card shown without its buttons. A newer one stays `outdated`,
   * and another holder's live lease still makes it `busy`.
   */
  again?: boolean;
}

export type CardClaim = 'claimed' | 'outdated' | 'busy';

/** A card message with the version it is settled at (CardVersionClaims.getSettledCardMessages). */
export interface SettledCardMessage extends CardMessage {
  /**
   * The version last claimed for the message, when no lease is held on it now (its update went and
   * was released as shown, or it was recorded as posted showing it); 0 while a lease is held, or
   * when nothing was sent to it. An update of a version no newer than this would be `outdated`.
   */
  settledVersion: number;
}
