/**
 * What each browser test runs on: Countersign (anonymous, loopback, a temporary data folder, the
 * example config), the ARM sandbox, the Agents Playground pointed at the bot, and headless Chromium
 * on the Playground's page. Stopped in reverse order, whatever part of it started.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../../src/config/load';
import { createLogger } from '../../../src/log/logger';
import { startCountersign, type RunningCountersign } from '../../../src/composition-root';
import type { ArmSandbox } from '../../../src/sandbox';
import { readSettings } from '../../../src/settings';
import { EXAMPLE_CONFIG } from '../../support/people';
import { gatewayFor, startTestSandbox } from '../../support/sandbox';
import { CardFeed, launchChromium, snap } from './browser';
import { PlaygroundPage } from './page';
import { startPlayground, type Playground } from './playground';

export const SCREENSHOTS = path.resolve(__dirname, '..', '..', '..', 'test-output', 'e2e');

export interface E2eStack {
  dataDir: string;
  sandbox: ArmSandbox;
  bot: RunningCountersign;
  playground: Playground;
  browser: Browser;
  page: Page;
  ui: PlaygroundPage;
  /** The cards the page receives (listening from before the page opens its conversation stream). */
  feed: CardFeed;
}

/** The parts started so far: `stop` ends exactly those. */
export class E2eRun {
  stack?: E2eStack;
  private readonly parts: Partial<E2eStack> & { botLog?: fs.WriteStream } = {};

  /** Starts everything; the bot logs to test-output/e2e/<logName>; the Playground's people come from `playgroundConfig(dataDir)` when given. */
  async start(options: { logName: string; playgroundConfig?: (dataDir: string) => string }): Promise<E2eStack> {
    const p = this.parts;
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    p.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-e2e-'));
    p.sandbox = await startTestSandbox({ timing: { deploymentStepMs: 50, operationMs: 50 } });
    p.bot = await startCountersign({
      settings: readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: p.dataDir }),
      config: loadConfig(EXAMPLE_CONFIG),
      azure: gatewayFor(p.sandbox, 100),
      log: createLogger('debug', (p.botLog = fs.createWriteStream(path.join(SCREENSHOTS, options.logName)))),
    });
    const configFile = options.playgroundConfig?.(p.dataDir);
    p.playground = await startPlayground({ botUrl: p.bot.url, ...(configFile ? { configFile } : {}) });
    p.browser = await launchChromium();
    p.page = await p.browser.newPage({ viewport: { width: 1400, height: 1300 } });
    // Before the page opens: the feed hears of the conversation stream only when it is opened.
    p.feed = new CardFeed(p.page);
    p.ui = new PlaygroundPage(p.page);
    await p.ui.open(p.playground.url);
    this.stack = p as E2eStack;
    return this.stack;
  }

  /** A screenshot of the page named for a test that failed. */
  async snapFailure(title: string, prefix = 'failed'): Promise<void> {
    if (!this.parts.page) return;
    await snap(this.parts.page, SCREENSHOTS, `${prefix}-${title.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => undefined);
  }

  async stop(): Promise<void> {
    const p = this.parts;
    await p.browser?.close().catch(() => undefined);
    await p.playground?.stop();
    if (p.bot) {
      await p.bot.executor.idle();
      await p.bot.stop();
    }
    await p.sandbox?.close();
    p.botLog?.end();
    if (p.dataDir) fs.rmSync(p.dataDir, { recursive: true, force: true });
  }
}
