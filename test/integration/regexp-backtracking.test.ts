/**
 * A parameter pattern that backtracks exponentially in JavaScript (nested repetition, as config
 * authors write them) cannot freeze the bot: a value typed to make it backtrack is refused as not
 * matching, at once, and the bot goes on answering. Patterns run on RE2 (src/config/build.ts), in
 * time linear in the value, bounded repetition inside the nesting included, which V8's own fallback
 * engine cannot run (an outside acceptance test froze the bot for minutes with one).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { EXAMPLE_CONFIG, startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';

for (const NESTED of ['^([a-z0-9]+-?)+$', '^([a-z0-9]{1,40}-?)+$']) describe(`a parameter pattern that backtracks exponentially: ${NESTED}`, function () {
  // Without the guard the match below takes far longer than this (2^40 steps).
  this.timeout(20_000);
  let h: Harness;
  before(async () => {
    const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
    const patterned = text.replace(/pattern: "\^\[A-Za-z0-9\]\[A-Za-z0-9\._\(\)-\]\{0,88\}\[A-Za-z0-9_\(\)-\]\$"/, `pattern: "${NESTED}"`);
    assert.notEqual(patterned, text, 'the example config has the resource group pattern to replace');
    h = await startHarness({ configText: patterned });
  });
  after(() => h.stop());

  it('refuses a value made to backtrack as not matching, and answers the next message', async () => {
    const evil = `${'a'.repeat(40)}!`;
    const before = h.connector.sent.length;
    await h.teams.say(people.alice, `delete resource group ${evil}`, opsChannel);
    const said = JSON.stringify(h.teams.since(before).map((s) => s.activity));
    assert.match(said, /does not match the allowed form/);
    const next = h.connector.sent.length;
    await h.teams.say(people.alice, 'help', opsChannel);
    assert.ok(h.connector.sent.length > next, 'the bot still answers');
  });
});
