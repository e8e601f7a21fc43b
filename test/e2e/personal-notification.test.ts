/**
 * An approver told in a personal chat, in a browser: the Agents Playground's page as Bob (an
 * approver), who once wrote to Countersign in his personal chat. Alice asks for a resource group
 * delete in the Ops Group Chat (her message is posted to the bot as the Playground would send it,
 * since the page acts only as Bob); the request's card appears in Bob's personal chat, where he
 * approves it and sees it finish. Screenshots go to test-output/e2e/.
 *
 * The Playground keys the personal chats it starts by its own user ids, not Entra object ids, so a
 * chat Countersign starts for someone who never wrote to it cannot be shown on the page: that path
 * is tested against the fake Bot Connector (test/integration/reaching-approvers.test.ts).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { parse, stringify } from 'yaml';
import type { RunningCountersign } from '../../src/composition-root';
import { people, TENANT } from '../support/people';
import { snap } from './support/browser';
import { PlaygroundPage, WAIT_MS } from './support/page';
import type { Playground } from './support/playground';
import { E2eRun, SCREENSHOTS } from './support/stack';

const PLAYGROUND_CONFIG = path.resolve(__dirname, '..', '..', 'playground', '.m365agentsplayground.yml');
const PERSONAL_CHAT = 'Personal Chat';
const GROUP_CHAT = 'Ops Group Chat';

/** The Playground's people with Bob as the page's user (Alice takes his place among the others). */
function bobAtTheKeyboard(dir: string): string {
  const config = parse(fs.readFileSync(PLAYGROUND_CONFIG, 'utf8')) as { currentUser: { id: string }; users: { id: string }[]; personalChat: { id: string } };
  const bob = config.users.find((u) => u.id === people.bob.id);
  assert.ok(bob && config.currentUser.id === people.alice.id, 'the Playground config names Alice as its user and Bob among its people');
  config.users = config.users.map((u) => (u.id === bob.id ? config.currentUser : u));
  config.currentUser = bob;
  config.personalChat = { id: 'personal-chat-bob' };
  const file = path.join(dir, 'playground-as-bob.yml');
  fs.writeFileSync(file, stringify(config));
  return file;
}

describe('browser end to end: an approver gets the card in a personal chat (Agents Playground)', function () {
  this.timeout(120000);
  this.bail(true);

  let run: E2eRun;
  let bot: RunningCountersign;
  let playground: Playground;
  let page: Page;
  let ui: PlaygroundPage;
  let requestId: string;

  before(async () => {
    run = new E2eRun();
    ({ bot, playground, page, ui } = await run.start({ logName: 'countersign-personal.log', playgroundConfig: bobAtTheKeyboard }));
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await run.snapFailure(this.currentTest.title, 'failed-personal');
  });

  after(() => run.stop());

  it('remembers Bob\'s personal chat when he writes to Countersign there', async () => {
    await ui.openChat(PERSONAL_CHAT);
    await page.locator('[contenteditable="true"][role="textbox"]').click();
    await page.keyboard.type('help');
    await page.keyboard.press('Enter');
    await ui.card('Countersign commands').waitFor({ timeout: WAIT_MS });
    const saved = await bot.store.conversations.getPersonalReference(TENANT, people.bob.aadObjectId);
    assert.ok(saved, 'the personal chat was saved for Bob');
  });

  it('shows the card of a request Alice asks for elsewhere in Bob\'s personal chat', async () => {
    const bobChat = (await bot.store.conversations.getPersonalReference(TENANT, people.bob.aadObjectId)) as { serviceUrl: string; bot: Record<string, unknown> };
    const group = (await playground.conversations()).groupChats.find((c) => c.name === GROUP_CHAT);
    assert.ok(group, `the Playground has "${GROUP_CHAT}"`);
    // Alice's message in the group chat, as the Playground would deliver it (its page types only as Bob).
    const res = await fetch(`${bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message',
        id: 'e2e-alice-asks',
        timestamp: new Date().toISOString(),
        channelId: 'msteams',
        serviceUrl: bobChat.serviceUrl,
        from: { id: people.alice.id, name: people.alice.name, aadObjectId: people.alice.aadObjectId },
        recipient: bobChat.bot,
        conversation: { id: group.id, conversationType: 'groupChat', isGroup: true, tenantId: TENANT },
        channelData: { tenant: { id: TENANT } },
        text: 'delete resource group staging-old reason: retired after the migration',
      }),
    });
    assert.equal(res.status, 200, await res.text());
    const card = ui.card('What will be destroyed');
    await ui.stateLabel(card, 'PENDING APPROVAL').waitFor({ timeout: WAIT_MS });
    await ui.cardShows(card, 'Alice Requester asks to delete resource group staging-old and everything in it', 'Needs 1 approval from platform-approvers');
    requestId = /Request (CS-[A-Z0-9]+)/.exec(await card.innerText())?.[1] ?? '';
    assert.ok(requestId, 'the card names its request');
    await card.getByRole('button', { name: 'Approve', exact: true }).waitFor();
    await snap(page, SCREENSHOTS, '08-personal-card');
  });

  it('lets Bob approve from his personal chat, and the card there follows the request to the end', async () => {
    const card = ui.card(`Request ${requestId}`);
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    await ui.stateLabel(card, 'SUCCEEDED').waitFor({ timeout: WAIT_MS });
    await ui.cardShows(card, 'Approved by Bob Approver');
    const stored = await bot.store.requests.get(requestId);
    assert.equal(stored?.state, 'succeeded');
    await snap(page, SCREENSHOTS, '09-personal-card-succeeded');
  });
});
