/**
 * Adaptive Cards (1.5) rendered from the templates in cards/: by the compiled expander in
 * template-fast.ts where a template fits its subset (the request card, on every click), otherwise
 * with adaptivecards-templating, which the compiled one is tested against. No card leaves with an
 * unexpanded ${...}.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Template } from 'adaptivecards-templating';
import { compileTemplate, type FastTemplate } from './template-fast';

export type Card = Record<string, unknown>;

const CARDS_DIR = path.resolve(__dirname, '..', '..', 'cards');

interface LoadedTemplate {
  json: Record<string, unknown>;
  /** The compiled expander for the subset the card uses (template-fast.ts), if it fits. */
  fast: FastTemplate | undefined;
  /** adaptivecards-templating's, made on first need. */
  library?: Template;
}

const templates = new Map<string, LoadedTemplate>();

function template(name: string): LoadedTemplate {
  let t = templates.get(name);
  if (!t) {
    const json = JSON.parse(fs.readFileSync(path.join(CARDS_DIR, `${name}.json`), 'utf8')) as Record<string, unknown>;
    t = { json, fast: compileTemplate(json) };
    templates.set(name, t);
  }
  return t;
}

/** The template expanded by adaptivecards-templating itself: the reference the fast path is held to. */
export function expandWithLibrary(name: string, data: object): Card {
  const t = template(name);
  if (!t.library) {
    // The templating library is loaded when first needed, not at start-up (a third of a second).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Template } = require('adaptivecards-templating') as typeof import('adaptivecards-templating');
    t.library = new Template(t.json);
  }
  return t.library.expand({ $root: data }) as Card;
}

/** The template expanded by the fast path where it fits, else by the library. */
function expand(name: string, data: object): Card {
  return template(name).fast?.(data) ?? expandWithLibrary(name, data);
}

class CardRenderError extends Error {}

/** The card of a template expanded with the view model `data`. */
export function render(name: string, data: object): Card {
  return renderWithText(name, data).card;
}

/** The card and its JSON text (the request card keeps the text). */
export function renderWithText(name: string, data: object): { card: Card; text: string } {
  const card = expand(name, data);
  const text = JSON.stringify(card);
  // Only template expressions can leave "${" behind: user text has its "$" escaped by md().
  if (text.includes('${')) throw new CardRenderError(`card ${name} has an unexpanded template expression: ${/\$\{[^}]*\}/.exec(text)?.[0]}`);
  return { card, text };
}
