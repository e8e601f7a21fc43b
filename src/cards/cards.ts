/**
 * Kept only for src/teams/bot.ts, which imports these from here; the cards now live in
 * request-card.ts, lists.ts, form-cards.ts, markdown.ts and render.ts. Delete this file once bot.ts
 * imports from those.
 */
export { requestCard } from './request-card';
export { helpCard, pendingCard, queryCard } from './lists';
export type { Card } from './render';
