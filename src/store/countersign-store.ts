/**
 * What a store backend provides: every port that is kept in the database, whichever layer owns it
 * (the use cases' requests, audit log and card bindings; src/audit/access's checkpoints, links and
 * manifests; the Teams layer's conversation references). The composition root hands each layer its part.
 */
import type { Store } from '../app/ports';
import type { AuditAccessStore } from '../audit/ports';
import type { CardBindingStore } from '../app/ports';
import type { CardVersionClaims, ConversationReferenceStore } from '../teams/ports';

export interface CountersignStore extends Store {
  auditAccess: AuditAccessStore;
  conversations: ConversationReferenceStore;
  /** The use cases' card bindings, with the version claims the Teams notifier keeps on them. */
  cards: CardBindingStore & CardVersionClaims;
}
