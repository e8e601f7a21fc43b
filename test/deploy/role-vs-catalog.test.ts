/**
 * The Bicep custom role grants exactly what the catalog's commands need: a command needing an action
 * the role lacks fails here, and so does an action no command needs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { catalogActions } from '../../src/azure/catalog-actions';
import { loadConfig, parseConfig } from '../../src/config/load';

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'config', 'countersign.example.yaml');
const roleActions = (JSON.parse(fs.readFileSync(path.join(ROOT, 'deploy', 'role-actions.json'), 'utf8')) as { actions: string[] }).actions;

function compare(needed: Map<string, string[]>, granted: string[]) {
  const grantedLower = new Set(granted.map((a) => a.toLowerCase()));
  const neededLower = new Set([...needed.keys()].map((a) => a.toLowerCase()));
  return {
    missing: [...needed].filter(([a]) => !grantedLower.has(a.toLowerCase())).map(([a, commands]) => `${a} (needed by ${commands.join(', ')})`),
    unneeded: granted.filter((a) => !neededLower.has(a.toLowerCase())),
  };
}

describe('the custom role against the catalog', () => {
  it('grants every action a command of the example catalog needs, and nothing else', () => {
    const { missing, unneeded } = compare(catalogActions(loadConfig(EXAMPLE)), roleActions);
    assert.deepEqual(missing, [], `the role lacks actions (run npm run deploy:role-actions): ${missing.join('; ')}`);
    assert.deepEqual(unneeded, [], `the role grants actions no command needs: ${unneeded.join('; ')}`);
  });

  it('notices a new command that needs an action the role lacks, naming the command', () => {
    const text = fs.readFileSync(EXAMPLE, 'utf8') + `
  - name: delete database
    description: Delete a SQL database
    parameters:
      - name: db
        pattern: "^[a-z]+$"
    operation:
      kind: deleteResource
      resourceId: /subscriptions/{subscriptionId}/resourceGroups/data/providers/Microsoft.Sql/servers/main/databases/{db}
      apiVersion: "2023-08-01"
    policy:
      approverRoles: [platform-approvers]
`;
    const { missing } = compare(catalogActions(parseConfig(text, EXAMPLE)), roleActions);
    assert.ok(missing.some((m) => m.startsWith('Microsoft.Sql/servers/databases/delete (needed by delete database')), missing.join('\n'));
  });

  it('notices an action the role grants that no command needs', () => {
    const { unneeded } = compare(catalogActions(loadConfig(EXAMPLE)), [...roleActions, 'Microsoft.KeyVault/vaults/delete']);
    assert.deepEqual(unneeded, ['Microsoft.KeyVault/vaults/delete']);
  });
});

describe('npm run deploy:role-actions', function () {
  this.timeout(60_000);

  it('says what is wrong with a config as config check does, writes nothing, and exits 1', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-role-actions-'));
    try {
      const file = path.join(dir, 'countersign.yaml');
      fs.cpSync(path.join(ROOT, 'config', 'templates'), path.join(dir, 'templates'), { recursive: true });
      fs.writeFileSync(file, fs.readFileSync(EXAMPLE, 'utf8').replace('  - name: deploy\n', '  - name: deploy\n    sensitiv: true\n'));
      const before = fs.readFileSync(path.join(ROOT, 'deploy', 'role-actions.json'), 'utf8');
      const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'role-actions.ts'), file], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr, `Invalid config ${file}:\n  ${file}:${r.stderr.match(/:(\d+): commands/)?.[1]}: commands[0].sensitiv: unknown key (did you mean sensitive?)\n${path.join(ROOT, 'deploy', 'role-actions.json')} was not written.\n`);
      assert.equal(fs.readFileSync(path.join(ROOT, 'deploy', 'role-actions.json'), 'utf8'), before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
