/**
 * The layer boundaries are enforced by `npm run lint` (dependency-cruiser with .dependency-cruiser.cjs).
 * A checker that passes everything would go unnoticed, so it is run here on two small trees: one that
 * breaks every rule of the config (and must fail naming each rule and file), one that follows them
 * (and must pass). A rule with no fixture breaking it is a rule whose typo nobody would notice.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const fixtures = path.join(root, 'test/fixtures/boundaries');
/** The config as the checker reads it (CommonJS). */
const config = createRequire(__filename)(path.join(root, '.dependency-cruiser.cjs')) as { forbidden: { name: string }[] };

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

  /**
   * Every rule of the config, with the refusal the violating tree must draw from it: `error <rule>:
   * <file> → <import>`. A rule added to the config without a fixture here fails the first test below.
   */
  const EXPECTED: Record<string, RegExp[]> = {
    'no-circular': [/error no-circular: src\/app\/decide\.ts →\s+src\/app\/expire\.ts →\s+src\/app\/decide\.ts/],
    'no-main-import': [/error no-main-import: src\/cli\/start\.ts → src\/main\.ts/],
    'no-composition-root-import': [/error no-composition-root-import: src\/cli\/wire\.ts → src\/composition-root\.ts/],
    'wiring-only-from-composition-root': [/error wiring-only-from-composition-root: src\/cli\/wire\.ts → src\/wiring\/store\.ts/],
    'domain-is-pure': [/error domain-is-pure: src\/domain\/refusal\.ts → .*node_modules\/botbuilder\//],
    'domain-does-no-io': [/error domain-does-no-io: src\/domain\/clock\.ts → (node:)?fs/],
    'app-imports-domain-and-log': [/error app-imports-domain-and-log: src\/app\/decide\.ts → src\/store\/decisions\.ts/],
    'app-imports-no-packages': [/error app-imports-no-packages: src\/app\/files\.ts → .*node_modules\/yaml\//],
    'app-does-no-io': [/error app-does-no-io: src\/app\/files\.ts → (node:)?fs/],
    'audit-imports-below-it': [
      /error audit-imports-below-it: src\/audit\/verify\/check\.ts → src\/store\/decisions\.ts/,
      /error audit-imports-below-it: src\/audit\/access\/evidence\.ts → src\/cards\/render\.ts/,
    ],
    'audit-chain-is-the-floor': [/error audit-chain-is-the-floor: src\/audit\/chain\/seal\.ts → src\/audit\/formats\/jsonl\.ts/],
    'audit-formats-below-access-and-verify': [/error audit-formats-below-access-and-verify: src\/audit\/formats\/jsonl\.ts → src\/audit\/verify\/check\.ts/],
    'audit-access-below-verify': [/error audit-access-below-verify: src\/audit\/access\/export\.ts → src\/audit\/verify\/check\.ts/],
    'cards-imports-domain-and-app-views': [/error cards-imports-domain-and-app-views: src\/cards\/render\.ts → src\/store\/decisions\.ts/],
    'log-imports-nothing-of-ours': [/error log-imports-nothing-of-ours: src\/log\/logger\.ts → src\/domain\/clock\.ts/],
    // settings, config and the HTTP edge all stand on it
    'loopback-imports-nothing-of-ours': [/error loopback-imports-nothing-of-ours: src\/loopback\.ts → src\/domain\/refusal\.ts/],
    'teams-imports-below-it': [/error teams-imports-below-it: src\/teams\/deploy\.ts → src\/azure\/arm\.ts/],
    'http-imports-below-it': [/error http-imports-below-it: src\/http\/server\.ts → src\/store\/decisions\.ts/],
    'azure-imports-below-it': [/error azure-imports-below-it: src\/azure\/arm\.ts → src\/store\/decisions\.ts/],
    'store-imports-below-it': [/error store-imports-below-it: src\/store\/leak\.ts → src\/config\/load\.ts/],
    'telemetry-imports-below-it': [/error telemetry-imports-below-it: src\/telemetry\/metrics\.ts → src\/store\/decisions\.ts/],
    'config-imports-domain-and-log': [/error config-imports-domain-and-log: src\/config\/load\.ts → src\/store\/decisions\.ts/],
    'sandbox-imports-nothing-of-the-product': [/error sandbox-imports-nothing-of-the-product: src\/sandbox\/arm\.ts → src\/domain\/refusal\.ts/],
    'cli-imports-no-edge': [/error cli-imports-no-edge: src\/cli\/serve\.ts → src\/http\/server\.ts/],
    'leaf-modules-import-nothing-of-ours': [/error leaf-modules-import-nothing-of-ours: src\/settings\/index\.ts → src\/domain\/refusal\.ts/],
    'app-through-its-facade': [/error app-through-its-facade: src\/teams\/dialog\.ts → src\/app\/decide\.ts/],
    'cli-through-the-facade-or-accept-loss': [/error cli-through-the-facade-or-accept-loss: src\/cli\/decide\.ts → src\/app\/decide\.ts/],
    'botbuilder-only-in-teams': [/error botbuilder-only-in-teams: src\/domain\/refusal\.ts → .*node_modules\/botbuilder\//],
    'azure-sdk-only-in-azure-and-sandbox': [/error azure-sdk-only-in-azure-and-sandbox: src\/store\/token\.ts → .*node_modules\/@azure\/identity\//],
    'database-drivers-only-in-store': [/error database-drivers-only-in-store: src\/azure\/cache\.ts → .*node_modules\/pg\//],
    'restify-only-in-http': [/error restify-only-in-http: src\/teams\/server\.ts → .*node_modules\/restify\//],
    'not-to-unresolvable': [/error not-to-unresolvable: src\/config\/typo\.ts → \.\/lod/],
  };

  it('has a refusal expected for every rule the config defines, and none for a rule it does not', () => {
    const defined = config.forbidden.map((rule) => rule.name).sort();
    assert.deepEqual(Object.keys(EXPECTED).sort(), defined);
  });

  for (const [rule, refusals] of Object.entries(EXPECTED)) {
    it(`refuses what breaks ${rule}, naming the rule and the file`, () => {
      for (const refusal of refusals) assert.match(violating.output, refusal);
    });
  }

  it('does not flag botbuilder in src/teams', () => {
    assert.doesNotMatch(violating.output, /src\/teams\/bot\.ts/);
  });

  it('passes a tree that follows the rules', async () => {
    const clean = await cruise('clean');
    assert.equal(clean.code, 0, clean.output);
    assert.match(clean.output, /no dependency violations found/);
  });
});
