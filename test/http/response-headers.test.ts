/**
 * Every HTTP answer says its type is not to be guessed (an export holds text people typed, which a
 * browser sniffing it could take for a page) and that no Referer is to be sent from it (a download
 * link's address holds its token); audit answers are not to be cached.
 */
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../support/harness';
import { people, shown, type Conversation } from '../support/teams';

const DAY = 24 * 3600 * 1000;

describe('the headers of every HTTP answer', function () {
  this.timeout(30_000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  async function headersOf(url: string, init?: RequestInit): Promise<Headers & { status?: number }> {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    return Object.assign(res.headers, { status: res.status });
  }

  it('sends nosniff and no-referrer on probes, refusals, unknown paths and audit answers', async () => {
    const personal: Conversation = { id: `a:personal-${people.erin.id}`, conversationType: 'personal' };
    const now = h.clock.now().getTime();
    const from = await h.teams.say(people.erin, `audit export ${new Date(now - DAY).toISOString()} ${new Date(now + DAY).toISOString()} jsonl`, personal);
    const reply = shown(String(h.teams.since(from).map((s) => s.activity.text).find((t) => typeof t === 'string')));
    const link = /\[download it\]\((http[^)\s]+)\)/.exec(reply)![1];
    const answers = {
      healthz: await headersOf(`${h.bot.url}/healthz`),
      readyz: await headersOf(`${h.bot.url}/readyz`),
      'no such path': await headersOf(`${h.bot.url}/nowhere`),
      'activity not JSON': await headersOf(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }),
      'public key': await headersOf(`${h.bot.url}/api/audit/public-key`),
      download: await headersOf(link),
      'download used again': await headersOf(link),
      'unknown link': await headersOf(`${h.bot.url}/api/audit/download/nothing`),
    };
    for (const [what, headers] of Object.entries(answers)) {
      assert.equal(headers.get('x-content-type-options'), 'nosniff', what);
      assert.equal(headers.get('referrer-policy'), 'no-referrer', what);
    }
    assert.equal(answers.download.status, 200);
    for (const what of ['download', 'download used again', 'unknown link'] as const) assert.equal(answers[what].get('cache-control'), 'no-store', what);
  });
});
