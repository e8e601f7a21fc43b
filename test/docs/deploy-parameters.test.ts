/**
 * deploy/README.md against deploy/main.bicep: the parameters an operator may set (each with its
 * default, allowed values and bounds) and the web app settings the template writes. A parameter or
 * setting added, removed or changed in the template without the walkthrough fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readParams, withoutComments } from '../deploy/bicep-text';

const DEPLOY = path.resolve(__dirname, '..', '..', 'deploy');
const bicep = readFileSync(path.join(DEPLOY, 'main.bicep'), 'utf8');
const readme = readFileSync(path.join(DEPLOY, 'README.md'), 'utf8');

/** The rows of the first table after `heading` whose header row is `header`, each as its cells (backquotes kept). */
function tableAfter(markdown: string, heading: string, header: string): string[][] {
  const at = markdown.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `deploy/README.md has no heading "${heading}"`);
  const lines = markdown.slice(at).split('\n');
  const start = lines.indexOf(header);
  assert.ok(start >= 0, `deploy/README.md has no table "${header}" under "${heading}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(' | ').map((cell) => cell.trim()));
  }
  return rows;
}

/** How the README writes a parameter's default, from the Bicep declaration's `= …` (undefined: none). */
function documentedDefault(value: string | undefined): string {
  if (value === undefined) return '(required)';
  if (value === "''") return 'empty';
  if (value === 'resourceGroup().location') return "the resource group's region";
  return `\`${value.replace(/^'(.*)'$/, '$1')}\``;
}

describe('deploy/README.md against deploy/main.bicep', () => {
  const params = readParams(bicep);
  const rows = tableAfter(readme, '## 3. Review the parameters and compile', '| Parameter | Default | Meaning |');

  it('lists every parameter of the template, in its order, and no other', () => {
    assert.deepEqual(
      rows.map(([name]) => name),
      params.map((p) => `\`${p.name}\``),
    );
  });

  it("gives each parameter the template's default, allowed values, bounds, and says when it is secure", () => {
    const defaults = new Map([...withoutComments(bicep).matchAll(/^param (\w+) \w+(?: = (.*))?$/gm)].map((m) => [m[1], m[2]?.trim()]));
    for (const param of params) {
      const row = rows.find(([name]) => name === `\`${param.name}\``)!;
      const [, shownDefault, meaning] = row;
      assert.equal(shownDefault, documentedDefault(defaults.get(param.name)), `${param.name}: default`);
      for (const decorator of param.decorators) {
        const allowed = /^@allowed\(\[(.*)\]\)$/.exec(decorator);
        if (allowed) for (const value of allowed[1].split(',').map((v) => v.trim().replace(/^'(.*)'$/, '$1'))) assert.ok(meaning.includes(`\`${value}\``), `${param.name}: allowed value ${value} is not named`);
        if (decorator === '@secure()') assert.match(meaning, /\bsecure\b/, `${param.name} is @secure()`);
      }
      const min = param.decorators.map((d) => /^@minValue\((\d+)\)$/.exec(d)?.[1]).find(Boolean);
      const max = param.decorators.map((d) => /^@maxValue\((\d+)\)$/.exec(d)?.[1]).find(Boolean);
      if (min || max) assert.ok(meaning.includes(`${min} to ${max}`), `${param.name}: bounds ${min} to ${max} are not said`);
      const minLength = param.decorators.map((d) => /^@minLength\((\d+)\)$/.exec(d)?.[1]).find(Boolean);
      const maxLength = param.decorators.map((d) => /^@maxLength\((\d+)\)$/.exec(d)?.[1]).find(Boolean);
      if (minLength || maxLength) assert.ok(meaning.includes(`${minLength} to ${maxLength} characters`), `${param.name}: length ${minLength} to ${maxLength} is not said`);
    }
  });

  it('lists every app setting the template writes, and no other', () => {
    const written = [...withoutComments(bicep).matchAll(/\{ name: '([A-Za-z_]+)', value: /g)].map((m) => m[1]).sort();
    const documented = tableAfter(readme, '## What gets created', '| Setting | Value |')
      .flatMap(([names]) => [...names.matchAll(/`([A-Za-z_]+)`/g)].map((m) => m[1]))
      .sort();
    assert.deepEqual(documented, written);
  });
});
