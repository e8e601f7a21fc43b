/**
 * Text a card cannot show is refused: the approver must see exactly what will run. A parameter value
 * holds no invisible character at all; a reason or comment may keep an emoji's presentation selector
 * and joiners, and nothing else invisible.
 */
import assert from 'node:assert/strict';
import { checkValue } from '../../src/domain/catalog';
import { firstInvisibleCharacter, inertLine, unsafeTextProblem } from '../../src/domain/text-safety';
import { tag } from './catalog-fixtures';

const value = tag.parameters[2];

/** Invisible characters the security review used, and their kin. */
const INVISIBLES: [string, string][] = [
  ['ZERO WIDTH SPACE', '\u200b'],
  ['ZERO WIDTH NON-JOINER', '\u200c'],
  ['ZERO WIDTH JOINER', '\u200d'],
  ['WORD JOINER', '\u2060'],
  ['INVISIBLE TIMES', '\u2062'],
  ['ZERO WIDTH NO-BREAK SPACE', '\ufeff'],
  ['SOFT HYPHEN', '\u00ad'],
  ['COMBINING GRAPHEME JOINER', '\u034f'],
  ['HANGUL CHOSEONG FILLER', '\u115f'],
  ['HANGUL JUNGSEONG FILLER', '\u1160'],
  ['HANGUL FILLER', '\u3164'],
  ['HALFWIDTH HANGUL FILLER', '\uffa0'],
  ['MONGOLIAN VOWEL SEPARATOR', '\u180e'],
  ['KHMER VOWEL INHERENT AQ', '\u17b4'],
  ['VARIATION SELECTOR-1', '\ufe00'],
  ['VARIATION SELECTOR-16', '\ufe0f'],
  ['VARIATION SELECTOR-17', '\u{e0100}'],
  ['LANGUAGE TAG', '\u{e0001}'],
  ['TAG LATIN CAPITAL LETTER A', '\u{e0041}'],
  ['CANCEL TAG', '\u{e007f}'],
  ['INTERLINEAR ANNOTATION ANCHOR', '\ufff9'],
  ['MUSICAL SYMBOL BEGIN BEAM', '\u{1d173}'],
];

const hex = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** "fix owner" followed by "IGNORE" spelt in tag characters: shown as nothing at all. */
const HIDDEN_TEXT = `fix owner${Array.from('IGNORE', (c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('')}`;

describe('invisible characters in user text', () => {
  for (const [name, c] of INVISIBLES) {
    it(`refuses ${name} (${hex(c)}) in a parameter value, naming it and where it stands`, () => {
      assert.equal(
        checkValue(value, `platform${c}team`),
        `value contains an invisible character (${hex(c)}, character 9): the card would not show it, but Azure would be sent it; type it without such characters`,
      );
    });
  }

  it('refuses in a parameter value what looks like a space or like nothing but is not one; a reason may hold it', () => {
    for (const c of ['\u00a0', '\u1680', '\u2000', '\u2007', '\u200a', '\u202f', '\u205f', '\u3000', '\u2800']) {
      assert.equal(
        checkValue(value, `platform${c}team`),
        `value contains a character that looks like a space or like nothing but is not one (${hex(c)}, character 9): the card could not tell it from a space, but Azure would be sent it; type a plain space or none`,
      );
      assert.equal(unsafeTextProblem('The reason', `a${c}b`, 'free-text'), undefined, hex(c));
    }
    assert.equal(checkValue(value, 'platform team'), undefined, 'a plain space is a space');
  });

  it('refuses in a parameter value a private-use or unassigned character, which has no agreed look; a reason may hold it', () => {
    // U+E700 is an icon in some Windows fonts and a box in others; U+0378 and U+10FFFD are nobody's letter (yet).
    for (const c of ['\ue000', '\ue700', '\uf8ff', '\u{f0000}', '\u{10fffd}', '\u0378', '\u{2fffd}']) {
      assert.equal(
        checkValue(value, `platform${c}team`),
        `value contains a private-use or unassigned character (${hex(c)}, character 9), which has no agreed look: the card could show it as a box, as nothing or as another sign, but Azure would be sent it; type it without such characters`,
      );
      assert.equal(unsafeTextProblem('The reason', `a${c}b`, 'free-text'), undefined, hex(c));
    }
  });

  it('refuses in a parameter value a word mixing Latin letters with Cyrillic or Greek lookalikes; words in one script each, and a reason, may', () => {
    // "prоduction" with U+043E CYRILLIC SMALL LETTER O reads as production; Azure is sent another name.
    assert.equal(
      checkValue(value, 'prоduction-api'),
      'value mixes Latin and Cyrillic letters in one word ("prоduction": its "о" is U+043E, character 3): the card would show what reads as a Latin word, but Azure would be sent another name; type the word in one script',
    );
    assert.match(checkValue(value, 'stαging') ?? '', /^value mixes Latin and Greek letters in one word \("stαging": its "α" is U\+03B1, character 3\)/);
    assert.match(checkValue(value, 'Рaypal') ?? '', /mixes Latin and Cyrillic letters in one word \("Рaypal": its "Р" is U\+0420, character 1\)/);
    for (const ok of ['Москва-office', 'платформа team', 'Ελληνικά', 'production-api', 'Zoë Ñandú']) assert.equal(checkValue(value, ok), undefined, ok);
    assert.equal(unsafeTextProblem('The reason', 'prоduction is down', 'free-text'), undefined);
  });

  it('refuses every code point of the tag block U+E0000–U+E007F, in a value and in a reason', () => {
    for (let cp = 0xe0000; cp <= 0xe007f; cp++) {
      const c = String.fromCodePoint(cp);
      assert.equal(firstInvisibleCharacter(`a${c}`, 'parameter')?.codePoint, hex(c));
      assert.equal(firstInvisibleCharacter(`a${c}`, 'free-text')?.codePoint, hex(c));
    }
  });

  it('refuses hidden tag text in a reason, saying approvers would not see it', () => {
    assert.equal(
      unsafeTextProblem('The reason', HIDDEN_TEXT, 'free-text'),
      'The reason contains an invisible character (U+E0049, character 10): approvers would not see it on the card; type it without such characters',
    );
  });

  it('refuses in a reason every invisible character that is not part of an emoji', () => {
    for (const [name, c] of INVISIBLES) assert.equal(firstInvisibleCharacter(`platform${c}team`, 'free-text')?.codePoint, hex(c), name);
    for (const [text, found] of [
      ['note\ufe0f', 'U+FE0F'], // a selector after a letter
      ['1\ufe0f', 'U+FE0F'], // not a keycap without U+20E3
      ['🔥\u200dteam', 'U+200D'], // a joiner to a word
      ['🔥\ufe0f\ufe0f', 'U+FE0F'], // a second selector
      ['🏴\u{e0041}\u{e0042}\u{e007f}', 'U+E0041'], // a flag tag sequence Unicode does not recommend
      ['ok 😀\u{e0041}', 'U+E0041'],
    ]) assert.equal(firstInvisibleCharacter(text, 'free-text')?.codePoint, found, JSON.stringify(text));
  });

  it('keeps emoji in a reason: presentation selectors, skin tones, joined sequences, keycaps and flags', () => {
    const reason = 'hotfix 🔥 🔥\ufe0f ❤\ufe0f ❤\ufe0f\u200d🔥 👩🏽\u200d💻 🏳\ufe0f\u200d🌈 🐱\u200d👤 1\ufe0f\u20e3 #\ufe0f\u20e3 🇸🇪 🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f} ☺\ufe0e ©\ufe0f';
    assert.equal(firstInvisibleCharacter(reason, 'free-text'), undefined);
    assert.equal(unsafeTextProblem('The reason', reason, 'free-text'), undefined);
  });

  it('refuses an emoji\'s presentation selector in a parameter value: Azure would be sent a different value than "🔥"', () => {
    assert.equal(checkValue(value, '🔥'), undefined);
    assert.match(checkValue(value, '🔥\ufe0f') ?? '', /value contains an invisible character \(U\+FE0F, character 2\)/);
  });

  it('accepts ordinary text in any script', () => {
    // (A no-break space, which a reason may hold, is refused in a value: see above.)
    for (const ok of ['platform-team', 'Zoë Ñandú', 'Łódź', 'Ελληνικά', 'платформа', 'שלום', 'مرحبا', '日本語', 'e\u0301', '😀']) {
      assert.equal(checkValue(value, ok), undefined, ok);
      assert.equal(unsafeTextProblem('The reason', ok, 'free-text'), undefined, ok);
    }
  });

  it('refuses a lone surrogate (half a character, which JSON can carry as an escape) in a value and in a reason', () => {
    assert.match(checkValue(value, 'platform\ud800team') ?? '', /contains a broken character \(a lone UTF-16 surrogate, U\+D800, character 9\)/);
    assert.match(unsafeTextProblem('The reason', 'fix \udc00', 'free-text') ?? '', /^The reason contains a broken character \(a lone UTF-16 surrogate, U\+DC00, character 5\)/);
  });

  it('names a line break before an invisible character, as before', () => {
    assert.match(unsafeTextProblem('The reason', 'a\u200bb\nc', 'free-text') ?? '', /^The reason contains a line break, control or text-direction character \(U\+000A\)/);
  });

  it('shows an invisible character in text from Teams or Azure by its code point, and keeps emoji', () => {
    assert.equal(inertLine('Bob\u200bApprover'), 'Bob[U+200B]Approver');
    assert.equal(inertLine(HIDDEN_TEXT), 'fix owner[U+E0049][U+E0047][U+E004E][U+E004F][U+E0052][U+E0045]');
    assert.equal(inertLine('Alice 🏳\ufe0f\u200d🌈\nnext'), 'Alice 🏳\ufe0f\u200d🌈 next');
  });
});
