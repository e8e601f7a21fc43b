/**
 * The Playground's web page as its user sees it: the chat list, the compose box (with @mentions), the
 * cards in the conversation and the log panel of what went to and from the bot.
 */
import type { Locator, Page } from 'playwright-core';

export const WAIT_MS = 20000;

export class PlaygroundPage {
  constructor(readonly page: Page) {}

  async open(url: string): Promise<void> {
    await this.page.goto(url);
    await this.compose().waitFor({ timeout: WAIT_MS });
  }

  async openChat(name: string): Promise<void> {
    await this.page.getByText(name, { exact: true }).first().click();
  }

  /** Types a message that @mentions the bot (group chats and channels deliver only those) and sends it. */
  async sayToBot(botName: string, text: string): Promise<void> {
    await this.compose().click();
    await this.page.keyboard.type(`@${botName.slice(0, 5)}`);
    await this.page.getByRole('menuitem', { name: botName }).click({ timeout: WAIT_MS });
    await this.page.keyboard.type(` ${text}`);
    await this.page.keyboard.press('Enter');
  }

  /** The rendered Adaptive Card whose text contains `text`. */
  card(text: string): Locator {
    return this.page.locator('.ac-adaptiveCard', { hasText: text }).last();
  }

  /** Waits until the card shows every one of `texts` (exact words, as rendered). */
  async cardShows(card: Locator, ...texts: string[]): Promise<void> {
    for (const text of texts) await card.getByText(text, { exact: false }).first().waitFor({ timeout: WAIT_MS });
  }

  /**
   * Clicks the card's toggle button until `target` is in `state`. The card's per-person refresh can answer
   * after a click and draw the card anew, collapsed, undoing the click or (when it lands just before one)
   * turning the next click into the opposite of what was meant; the click is made again then.
   */
  async toggleUntil(card: Locator, button: string, target: Locator, state: 'visible' | 'hidden'): Promise<void> {
    for (let tries = 0; ; tries++) {
      if (await target.isVisible() === (state === 'visible')) return;
      await card.getByRole('button', { name: button, exact: true }).click();
      const reached = await target.waitFor({ state, timeout: 5000 }).then(() => true, () => false);
      if (reached) return;
      if (tries >= 5) throw new Error(`${button} never made its content ${state} after ${tries + 1} clicks`);
    }
  }

  /** A state label such as PENDING APPROVAL, matched exactly (the result title "Succeeded" differs in case). */
  stateLabel(card: Locator, label: string): Locator {
    return card.getByText(label, { exact: true });
  }

  /** Entries of the log panel for invokes the Playground forwarded and the bot answered with 200. */
  invokeLogEntries(): Locator {
    return this.page.getByText('invoke 200', { exact: true });
  }

  /** Opens a log panel entry and returns the text of its Request and Response tabs. */
  async readLogEntry(entry: Locator): Promise<{ request: string; response: string; panel: Locator }> {
    await entry.click();
    const request = this.page.getByRole('tab', { name: 'Request' });
    const response = this.page.getByRole('tab', { name: 'Response' });
    await request.click();
    // The detail viewer: the JSON view right under the Request / Response tabs.
    const panel = this.page.locator('xpath=//*[@role="tablist"]/parent::*/following-sibling::*[@contenteditable="true"][1]');
    const requestText = await panel.innerText();
    await response.click();
    const responseText = await panel.innerText();
    return { request: requestText, response: responseText, panel };
  }

  private compose(): Locator {
    return this.page.locator('[contenteditable="true"][role="textbox"]');
  }
}
