/**
 * Headless Chromium (Debian's package, driven by playwright-core; `.ci/run` installs it) on the
 * Playground's page, as its current user. Also records the cards the page receives, so a second
 * person's click can carry exactly the data of the button they would press.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const candidate = env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!fs.existsSync(candidate)) {
    throw new Error(`No Chromium at ${candidate}. Install Debian's package (apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH.`);
  }
  return candidate;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_FLAGS });
}

/** A card message as the Playground delivered it to the page. */
export interface DeliveredCard {
  conversationId: string;
  messageId: string;
  card: Record<string, unknown>;
}

/** Listens to the page's conversation stream: every card message created or updated. */
export class CardFeed {
  private readonly cards = new Map<string, DeliveredCard>();

  constructor(page: Page) {
    page.on('websocket', (ws) => {
      if (!ws.url().includes('/_ws_conversation/')) return;
      ws.on('framereceived', (frame) => this.record(String(frame.payload)));
    });
  }

  /** The newest delivery of the card message whose card names this request. */
  find(requestId: string): DeliveredCard | undefined {
    return [...this.cards.values()].reverse().find((c) => JSON.stringify(c.card).includes(`"requestId":"${requestId}"`));
  }

  private record(payload: string): void {
    let event: { action?: string; actionConversationId?: string; message?: { messageId?: string; attachments?: { contentType?: string; content?: Record<string, unknown> }[] } };
    try {
      event = JSON.parse(payload) as typeof event;
    } catch {
      return;
    }
    if (event.action !== 'createMessage' && event.action !== 'updateMessage') return;
    const card = event.message?.attachments?.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
    if (!card || !event.message?.messageId || !event.actionConversationId) return;
    this.cards.set(event.message.messageId, { conversationId: event.actionConversationId, messageId: event.message.messageId, card });
  }
}

/** The Action.Execute button of a card with this verb: what a click on it sends. */
export function buttonData(card: Record<string, unknown>, verb: string): Record<string, unknown> {
  const found = (card.actions as { type?: string; verb?: string; data?: Record<string, unknown> }[] | undefined)?.find((a) => a.type === 'Action.Execute' && a.verb === verb);
  if (!found) throw new Error(`the card has no "${verb}" button: ${JSON.stringify(card.actions)}`);
  return found.data ?? {};
}

/** Saves a screenshot of the whole page (or of one element) under `dir`, named for the step. */
export async function snap(target: Page | Locator, dir: string, name: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  if ('goto' in target) await target.screenshot({ path: file, fullPage: true });
  else await target.screenshot({ path: file });
  return file;
}
