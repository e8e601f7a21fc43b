/**
 * The layer boundaries are enforced by `npm run lint` (dependency-cruiser with .dependency-cruiser.cjs).
 * A checker that passes everything would go unnoticed, so it is run here on two small trees: one that
 * breaks the rules (and must fail naming each rule and file), one that follows them (and must pass).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const fixtures = path.join(root, 'test/fixtures/boundaries');

/** Runs the checker as the lint step does, from the given tree's root. */
function cruise(tree: string): Promise<{ code: number; output: string }> {
  const bin = path.join(root, 'node_modules/.bin/depcruise');
  const args = ['src', '--config', path.join(root, '.dependency-cruiser.cjs'), '--output-type', 'err'];
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: path.join(fixtures, tree) }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

describe('layer boundaries (dependency-cruiser)', function () {
  this.timeout(60_000);

  let violating: { code: number; output: string };
  before(async () => {
    violating = await cruise('violating');
  });

  it('fails on a tree that breaks the rules', () => {
    assert.notEqual(violating.code, 0, violating.output);
  });

  it('refuses botbuilder in the domain, naming the rule and the file', () => {
    assert.match(violating.output, /error domain-is-pure: src\/domain\/refusal\.ts → .*node_modules\/botbuilder\//);
    assert.match(violating.output, /error botbuilder-only-in-teams: src\/domain\/refusal\.ts/);
  });

  it('refuses an import cycle, naming both files', () => {
    assert.match(violating.output, /error no-circular: src\/app\/decide\.ts →\s+src\/app\/expire\.ts →\s+src\/app\/decide\.ts/);
  });

  it('refuses a use case importing an adapter', () => {
    assert.match(violating.output, /error app-imports-domain-and-log: src\/app\/decide\.ts → src\/store\/decisions\.ts/);
  });

  it('refuses an import of the entry point, and of the composition root', () => {
    assert.match(violating.output, /error no-main-import: src\/cli\/start\.ts → src\/main\.ts/);
    assert.match(violating.output, /error no-composition-root-import: src\/cli\/wire\.ts → src\/composition-root\.ts/);
  });

  it('refuses file I/O in the domain: of the node builtins only node:crypto', () => {
    assert.match(violating.output, /error domain-does-no-io: src\/domain\/clock\.ts → (node:)?fs/);
  });

  it('refuses a use case doing I/O or using a package itself: files, YAML (its ports bring them)', () => {
    assert.match(violating.output, /error app-does-no-io: src\/app\/files\.ts → (node:)?fs/);
    assert.match(violating.output, /error app-imports-no-packages: src\/app\/files\.ts → .*node_modules\/yaml\//);
  });

  it('refuses an adapter importing another adapter', () => {
    assert.match(violating.output, /error azure-imports-below-it: src\/azure\/arm\.ts → src\/store\/decisions\.ts/);
    assert.match(violating.output, /error config-imports-domain-and-log: src\/config\/load\.ts → src\/store\/decisions\.ts/);
    assert.match(violating.output, /error store-imports-below-it: src\/store\/leak\.ts → src\/config\/load\.ts/);
  });

  it('refuses a use case run past the facade, and settings importing anything of ours', () => {
    assert.match(violating.output, /error app-through-its-facade: src\/teams\/dialog\.ts → src\/app\/decide\.ts/);
    assert.match(violating.output, /error leaf-modules-import-nothing-of-ours: src\/settings\.ts → src\/domain\/refusal\.ts/);
  });

  it('does not flag botbuilder in src/teams', () => {
    assert.doesNotMatch(violating.output, /src\/teams\/bot\.ts/);
  });

  it('passes a tree that follows the rules', async () => {
    const clean = await cruise('clean');
    assert.equal(clean.code, 0, clean.output);
    assert.match(clean.output, /no dependency violations found/);
  });
});
