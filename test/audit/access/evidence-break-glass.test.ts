import assert from 'node:assert/strict';
import { cardText } from '../../support/connector';
import { bob, buildRequest, minutesIn } from '../../support/requests';
import { evidenceOf } from './evidence-of';

describe('evidence of a break-glass use', () => {
  const use = { reason: 'INC-4711 leaked key', usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString() };
  const bundle = (breakGlass: typeof use & { review?: { verdict: 'ratified' | 'flagged'; by: typeof bob; at: string } }) => {
    return evidenceOf(buildRequest({ state: 'succeeded', version: 4, breakGlass }));
  };

  it('says BREAK-GLASS in the summary title, that it ran without approval, and that it was never reviewed', () => {
    const summary = bundle(use).find((f) => f.name === 'SUMMARY.md')?.content ?? '';
    assert.match(summary, /^# Evidence: BREAK-GLASS request /);
    assert.match(summary, /WITHOUT APPROVAL .*Reason: INC-4711 leaked key/);
    assert.match(summary, /NOT REVIEWED \(review was due by /);
  });

  it('names who ratified it, and says BREAK-GLASS on the card kept in the bundle', () => {
    const files = bundle({ ...use, review: { verdict: 'ratified', by: bob, at: minutesIn(30).toISOString() } });
    assert.match(files.find((f) => f.name === 'SUMMARY.md')?.content ?? '', new RegExp(`Ratified by Bob Approver \\(${bob.aadObjectId}\\)`));
    const card = files.find((f) => f.name.startsWith('cards/'))?.content ?? '';
    assert.match(cardText(JSON.parse(card) as Record<string, unknown>), /BREAK-GLASS · SUCCEEDED[\s\S]*BREAK-GLASS ratified by Bob Approver/);
  });
});
