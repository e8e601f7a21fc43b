/**
 * The approval path in a browser: Countersign (anonymous, loopback) and the Microsoft 365 Agents
 * Playground, its page driven in headless Chromium as Alice (the requester). Carol (no role) and Bob
 * (the approver) click through the Playground's invoke endpoint, since its page acts as one person.
 * Every assertion is on what the page shows; each step is saved as a screenshot in test-output/e2e/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import type { ArmSandbox } from '../../src/sandbox';
import { buttonData, snap, type CardFeed } from './support/browser';
import { PlaygroundPage, WAIT_MS } from './support/page';
import type { Playground } from './support/playground';
import { E2eRun, SCREENSHOTS } from './support/stack';

const BOT_NAME = 'Countersign';
const GROUP_CHAT = 'Ops Group Chat';

describe('browser end to end: a deployment approved in the Agents Playground', function () {
  this.timeout(120000);
  this.bail(true); // one story: a failed step makes the later ones meaningless

  let run: E2eRun;
  let sandbox: ArmSandbox;
  let playground: Playground;
  let page: Page;
  let ui: PlaygroundPage;
  let feed: CardFeed;
  let requestId: string;
  let card: Locator;
  let groupChatId: string;

  before(async () => {
    fs.rmSync(SCREENSHOTS, { recursive: true, force: true });
    run = new E2eRun();
    ({ sandbox, playground, page, ui, feed } = await run.start({ logName: 'countersign.log' }));
    const chats = (await playground.conversations()).groupChats;
    const ops = chats.find((c) => c.name === GROUP_CHAT);
    assert.ok(ops, `the Playground config defines "${GROUP_CHAT}" (it has: ${chats.map((c) => c.name).join(', ')})`);
    assert.ok(['user-bob', 'user-carol'].every((id) => ops.members.includes(id)), 'Bob and Carol are members of the group chat');
    groupChatId = ops.id;
    await ui.openChat(GROUP_CHAT);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await run.snapFailure(this.currentTest.title);
  });

  after(() => run.stop());

  it('shows the approval card, with the what-if summary, when the requester types a deploy command', async () => {
    await ui.sayToBot(BOT_NAME, 'deploy production api-service reason: release 2.4');
    card = ui.card('PENDING APPROVAL');
    await ui.stateLabel(card, 'PENDING APPROVAL').waitFor({ timeout: WAIT_MS });
    requestId = /Request (CS-[A-Z0-9]+)/.exec(await card.innerText())?.[1] ?? '';
    assert.ok(requestId, 'the card names its request');
    card = ui.card(`Request ${requestId}`);
    await ui.cardShows(
      card,
      '[SANDBOX] This request runs against the local ARM sandbox',
      'Alice Requester asks to deploy api-service to PRODUCTION: release 2.4',
      'HIGH RISK: a deployment in PRODUCTION',
      'What will change',
      'Create api-service-plan-production (Microsoft.Web/serverfarms)',
      'Modify api-service (Microsoft.Web/sites)',
      'Needs 1 approval from platform-approvers, not the requester: none yet.',
    );
    // Subscription, operation hash and policy version wait behind "Details".
    const hash = card.getByText('Operation hash', { exact: true });
    assert.equal(await hash.isVisible(), false, 'the details start collapsed');
    await ui.toggleUntil(card, 'Details', hash, 'visible');
    await ui.toggleUntil(card, 'Details', hash, 'hidden');
    for (const button of ['Approve', 'Reject', 'Cancel (requester only)']) await card.getByRole('button', { name: button, exact: true }).waitFor();
    const shown = await card.innerText();
    assert.ok(!shown.includes('\\'), `the card shows a literal backslash (markdown escaping leaked):\n${shown}`);
    assert.ok(!shown.includes('${'), `the card shows an unexpanded template expression:\n${shown}`);
    await snap(page, SCREENSHOTS, '01-request-card');
    await snap(card, SCREENSHOTS, 'approval-card');
  });

  it("refuses the requester's own Approve with a visible message, and nothing changes", async () => {
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    await ui.cardShows(card, `You asked for request ${requestId}, so you cannot approve it: a second person must.`);
    await ui.stateLabel(card, 'PENDING APPROVAL').waitFor();
    await ui.cardShows(card, 'none yet.');
    await snap(page, SCREENSHOTS, '02-self-approval-refused');
  });

  it('refuses a person without the approver role (Carol), as the log panel shows, and nothing changes', async () => {
    const before = await ui.invokeLogEntries().count();
    const delivered = feed.find(requestId);
    assert.ok(delivered, 'the page received the card');
    const answer = await playground.invoke({ from: 'user-carol', conversationId: groupChatId, replyToId: delivered.messageId, verb: 'approve', data: buttonData(delivered.card, 'approve') });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));

    const entry = ui.invokeLogEntries().nth(before);
    await entry.waitFor({ timeout: WAIT_MS });
    const logged = await ui.readLogEntry(entry);
    assert.match(logged.request, /"user-carol"/, 'the logged click is Carol\'s');
    // The log panel shows the answer as JSON: the quotes around the role's name are escaped there.
    assert.match(logged.response, new RegExp(`You cannot approve request ${requestId}: it needs the role \\\\?"platform-approvers\\\\?"\\.`));
    await logged.panel.getByText('You cannot approve', { exact: false }).first().scrollIntoViewIfNeeded();
    await ui.stateLabel(card, 'PENDING APPROVAL').waitFor();
    await ui.cardShows(card, 'none yet.');
    await snap(page, SCREENSHOTS, '03-no-role-refused');
  });

  it('runs the deployment after the approver (Bob) approves: the card moves to executing, then succeeded', async () => {
    // Slow enough that the executing card is on the page long enough to see and photograph.
    sandbox.faults.slowDeployment({ stepMs: 1500 });
    const delivered = feed.find(requestId)!;
    const answer = await playground.invoke({ from: 'user-bob', conversationId: groupChatId, replyToId: delivered.messageId, verb: 'approve', data: buttonData(delivered.card, 'approve') });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));

    await ui.stateLabel(card, 'EXECUTING').waitFor({ timeout: WAIT_MS });
    await ui.cardShows(card, 'Approved by Bob Approver');
    await snap(page, SCREENSHOTS, '04-executing');

    await ui.stateLabel(card, 'SUCCEEDED').waitFor({ timeout: WAIT_MS });
    await ui.cardShows(
      card,
      '1 of 1 approval from platform-approvers.',
      `Deployment countersign-${requestId} succeeded in production-api-service`,
      'providers/Microsoft.Web/sites/api-service',
    );
    assert.equal(await card.getByRole('button', { name: 'Approve', exact: true }).count(), 0, 'a finished request has no buttons');
    const told = page.getByText(`[SANDBOX] Request ${requestId} (deploy) succeeded.`, { exact: false }).first();
    await told.waitFor({ timeout: WAIT_MS });
    await told.scrollIntoViewIfNeeded();
    await snap(page, SCREENSHOTS, '05-succeeded');
    await snap(card, SCREENSHOTS, 'result-card');
  });

  it('shows what a resource group delete destroys, as a critical risk', async () => {
    await ui.sayToBot(BOT_NAME, 'delete resource group staging-old reason: retired after the migration');
    const del = ui.card('What will be destroyed');
    await ui.stateLabel(del, 'PENDING APPROVAL').waitFor({ timeout: WAIT_MS });
    await ui.cardShows(
      del,
      'Alice Requester asks to delete resource group staging-old and everything in it: retired after the migration',
      'CRITICAL RISK: DELETES a resource group and everything in it',
      'Resource group staging-old and the 1 resource in it:',
      'stagingoldlogs (Microsoft.Storage/storageAccounts)',
    );
    await snap(page, SCREENSHOTS, '06-delete-card');
    await snap(del, SCREENSHOTS, 'delete-card');
  });

  it("says Azure's cause in one line when a deployment fails", async () => {
    sandbox.faults.failDeployment({ error: { code: 'SkuNotAvailable', message: 'The requested size for resource api-service-plan-staging is currently not available in location westeurope.' } });
    await ui.sayToBot(BOT_NAME, 'deploy staging api-service reason: canary');
    const failing = ui.card('to staging: canary');
    await ui.stateLabel(failing, 'PENDING APPROVAL').waitFor({ timeout: WAIT_MS });
    await ui.cardShows(failing, 'MEDIUM RISK: a deployment in staging');
    const id = /Request (CS-[A-Z0-9]+)/.exec(await failing.innerText())?.[1] ?? '';
    const delivered = feed.find(id)!;
    const answer = await playground.invoke({ from: 'user-bob', conversationId: groupChatId, replyToId: delivered.messageId, verb: 'approve', data: buttonData(delivered.card, 'approve') });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    await ui.stateLabel(failing, 'FAILED').waitFor({ timeout: WAIT_MS });
    await ui.cardShows(failing, 'is currently not available in location westeurope');
    assert.doesNotMatch(await failing.innerText(), /^Failed: DeploymentFailed/m, 'the cause, not the wrapper code, comes first');
    await snap(page, SCREENSHOTS, '07-failed');
    await snap(failing, SCREENSHOTS, 'failed-card');
  });

  it('shows a usage placeholder as written: "status <request-id>", not "status ."', async () => {
    await ui.sayToBot(BOT_NAME, 'status');
    // The chat shows the characters; the log panel shows what was sent (&lt;request-id&gt;).
    await page.getByText('Usage: status <request-id>. Type "pending" to see open requests.', { exact: false }).first().waitFor({ timeout: WAIT_MS });
    await snap(page, SCREENSHOTS, '08-usage-placeholder');
    assert.equal(await page.getByText('Usage: status . Type', { exact: false }).count(), 0, 'no placeholder read as a tag and dropped');
  });

  it('quotes what someone typed back as text: no link and no bold in Countersign\'s voice', async () => {
    await ui.sayToBot(BOT_NAME, '**approve**[here](https://evil.example/sso) now');
    // The reply shows the words as typed (the chat's own rendering of Alice's message may link them; that is hers).
    const reply = page.getByText('I don\'t know the command "**approve**[here](https://evil.example/sso)"', { exact: false }).first();
    await reply.waitFor({ timeout: WAIT_MS });
    await snap(page, SCREENSHOTS, '09-quoted-text');
    assert.equal(await reply.locator('a, strong, b').count(), 0, 'no link and no bold in the reply');
  });
});
