import assert from 'node:assert/strict';
import { GOOD_REASON, reasonProblem } from '../../src/domain/reason';

const policy = { required: true, minLength: 20 };
const ASKED = 'drop group checkout-prod';

describe('reasons that mean something', () => {
  it('accepts a reason that says why, long enough', () => {
    assert.equal(reasonProblem('Decommission checkout-prod after migration, CHG-1234', policy, ASKED), undefined);
  });

  it('asks for nothing when the policy does not require a reason', () => {
    assert.equal(reasonProblem(undefined, undefined, ASKED), undefined);
    assert.equal(reasonProblem('x', { required: false, minLength: 20 }, ASKED), undefined);
  });

  const evasions: [string, string | undefined, RegExp][] = [
    ['missing', undefined, /needs a reason \(at least 20 characters\)/],
    ['whitespace only', '    \t ', /needs a reason/],
    ['punctuation only', '...!!!???,,,;;;---___', /only punctuation or spaces/],
    ['one character repeated', 'aaaaaaaaaaaaaaaaaaaaaaaa', /one character repeated/],
    ['one word repeated', 'fix fix fix fix fix fix fix', /one word repeated/],
    ['a placeholder', 'n/a', /placeholder/],
    ['a placeholder in capitals with dots', 'T.E.S.T.', /placeholder/],
    ['keyboard mashing typed again', 'asdfasdfasdfasdfasdf', /placeholder/],
    ['the command typed again', 'drop group checkout-prod', /only repeats the command/],
    ['too short', 'CHG-1234 cleanup', /16 characters; this command needs at least 20/],
  ];
  for (const [what, text, expected] of evasions) {
    it(`refuses ${what}, saying what a good reason looks like`, () => {
      const problem = reasonProblem(text, policy, ASKED);
      assert.ok(problem, `"${text}" was accepted`);
      assert.match(problem, expected);
      assert.ok(problem.endsWith(GOOD_REASON));
    });
  }
});

describe('a reason too short is called too short, whatever else it is', () => {
  const policy = { required: true, minLength: 20 };
  it('one character is too short, not one character repeated', () => {
    assert.match(reasonProblem('x', policy, 'delete resource group staging-web')!, /^The reason is 1 character; this command needs at least 20/);
  });
  it('a short word found in the command is too short, not the command typed again', () => {
    assert.match(reasonProblem('old', policy, 'delete resource group staging-old')!, /^The reason is 3 characters; this command needs at least 20/);
  });
  it('a long enough part of the command typed again still only repeats it', () => {
    assert.match(reasonProblem('delete resource group', policy, 'delete resource group staging-old')!, /^The reason only repeats the command/);
  });
});
