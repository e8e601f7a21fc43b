/**
 * Messages Countersign sends are inert (src/teams/chat-text.ts): what someone typed, quoted back or
 * put in a reason, shows as typed and never becomes a link, emphasis or a tag in Countersign's voice.
 */
import assert from 'node:assert/strict';
import { chatText } from '../../src/teams/chat-text';
import { shown } from '../support/teams';

describe('the text of a message Countersign sends', () => {
  it('shows a placeholder as written: <request-id> is not read as a tag', () => {
    assert.equal(chatText('Usage: status <request-id>.'), 'Usage: status &#60;request-id&#62;.');
  });

  it('makes a break-glass reason with emphasis and a link plain text, shown as typed', () => {
    const reason = 'INC-4711, **security already ratified**, details [on the bridge](https://evil.example/bridge) or www.evil.example';
    const sent = chatText(`BREAK-GLASS: Alice ran request CS-1 without approval. Reason: ${reason}.`);
    assert.doesNotMatch(sent, /\*\*|\]\(|https:\/\/|www\./, 'no emphasis, no link, no address a client makes a link of');
    assert.equal(shown(sent), `BREAK-GLASS: Alice ran request CS-1 without approval. Reason: ${reason}.`);
  });

  it('makes markup and a link plain text when typed right after an address of Microsoft\'s documentation, keeping only that address a link', () => {
    const reason = 'https://learn.microsoft.com/**SECURITY_ALREADY_RATIFIED**[Ratify_here](https://evil.example/sso)<b>now</b> and https://aka.ms/x)`code`';
    const sent = chatText(`BREAK-GLASS: Alice ran request CS-1 without approval. Reason: ${reason}.`);
    assert.doesNotMatch(sent, /\*\*|\]\(|https:\/\/evil|<|`/, 'no emphasis, no link to another address, no tag, no code');
    assert.match(sent, /Reason: https:\/\/learn\.microsoft\.com\/&#42;/, 'the documentation address before it is still a link');
    assert.equal(shown(sent), `BREAK-GLASS: Alice ran request CS-1 without approval. Reason: ${reason}.`);
    // Microsoft's documentation links as Azure's errors give them stay links, whole.
    for (const own of ['https://learn.microsoft.com/en-us/azure/azure-resource-manager/troubleshooting/error-sku-not-available?tabs=azure-cli#solution', 'https://aka.ms/ARMResourceNotFoundFix', 'https://docs.microsoft.com/azure/some_page.md']) {
      assert.equal(chatText(`Microsoft's documentation: ${own}`), `Microsoft's documentation: ${own}`, own);
    }
  });

  it('shows text-direction controls in a name Teams sent by their code points, so the rest of the line reads as written and the reader sees they were there, and keeps the message\'s lines', () => {
    // A display name ending in RIGHT-TO-LEFT OVERRIDE would show what follows it reversed ("…Nothing was run" as "nur saw gnihtoN…").
    const sent = chatText('Request CS-1 was rejected by Bob\u202E Approver: not now. Nothing was run.\nType "status CS-1".');
    assert.doesNotMatch(sent, /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/);
    assert.equal(shown(sent), 'Request CS-1 was rejected by Bob[U+202E] Approver: not now. Nothing was run.\nType "status CS-1".');
    // An invisible character in it is shown by its code point, as on a card.
    assert.equal(shown(chatText('flagged by Mal\u2060lory')), 'flagged by Mal[U+2060]lory');
  });

  it('quotes an unknown command back without its link, `code` or ~~strikethrough~~', () => {
    for (const typed of ['[Approve CS-7 here (SSO)](https://evil.example/sso)', '`rm -rf`', '~~cancelled~~', '_urgent_', '<b>x</b>', 'a\\*b']) {
      const sent = chatText(`I don't know the command "${typed}".`);
      assert.doesNotMatch(sent, /\]\(|`|~|(?<![A-Za-z0-9])_|<|\\/, typed);
      assert.equal(shown(sent), `I don't know the command "${typed}".`);
    }
  });

  it('keeps its own words as they are: [SANDBOX], names with underscores, lists, and Microsoft\'s documentation links', () => {
    assert.equal(chatText('[SANDBOX] Set COUNTERSIGN_STORE_LOCK_WAIT.'), '[SANDBOX] Set COUNTERSIGN_STORE_LOCK_WAIT.');
    assert.equal(chatText('- Carol on behalf of Bob'), '- Carol on behalf of Bob');
    const failed = "Request CS-1 (deploy) failed: SkuNotAvailable. Microsoft's documentation: https://aka.ms/arm-deployment-operations";
    assert.equal(chatText(failed), failed);
  });

  it('keeps the markdown links of a message Countersign marks as its own, and still writes < and > as references', () => {
    const text = 'Your audit export is ready: [download it](https://countersign.example/api/audit/download/t). Check: countersign audit verify --file <export>';
    assert.equal(chatText(text, true), 'Your audit export is ready: [download it](https://countersign.example/api/audit/download/t). Check: countersign audit verify --file &#60;export&#62;');
  });
});
