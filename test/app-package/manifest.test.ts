import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fillTemplate } from '../../scripts/app-package/manifest-template';
import {
  newestBundledSchemaVersion,
  schemaUrlFor,
  validateManifest,
} from '../../scripts/app-package/manifest-schema';
import { readManifestValues } from '../../scripts/app-package/package-settings';

const templateFile = path.resolve(__dirname, '../../appPackage/manifest.json');
const template = JSON.parse(fs.readFileSync(templateFile, 'utf8')) as Record<string, unknown>;

const sampleEnv = {
  MicrosoftAppId: '0b8f3a52-6c1d-4e7a-9f20-3d5b7c9e1a44',
  COUNTERSIGN_PUBLIC_URL: 'https://countersign-prod.azurewebsites.net',
};

function filledSample(): Record<string, unknown> {
  return fillTemplate(template, readManifestValues(sampleEnv, '1.4.0'));
}

interface Bot {
  botId: string;
  scopes: string[];
  supportsFiles: boolean;
  commandLists: { scopes: string[]; commands: { title: string; description?: string }[] }[];
}

describe('Teams manifest template', () => {
  it('validates against the bundled schema once the sample ids are filled in', async () => {
    assert.deepEqual(await validateManifest(filledSample()), []);
  });

  it('is written for the newest manifest schema that @microsoft/app-manifest bundles', () => {
    const newest = newestBundledSchemaVersion();
    assert.equal(template.manifestVersion, newest);
    assert.equal(template.$schema, schemaUrlFor(newest));
  });

  it('keeps ids and host as placeholders, never a real tenant value', () => {
    const bot = (template.bots as Bot[])[0];
    assert.equal(template.id, '${{TEAMS_APP_ID}}');
    assert.equal(bot.botId, '${{BOT_ID}}');
    assert.deepEqual(template.validDomains, ['${{BOT_DOMAIN}}']);
    assert.deepEqual(template.webApplicationInfo, { id: '${{BOT_ID}}', resource: 'api://botid-${{BOT_ID}}' });
  });

  it('fills the bot id, the derived app id and the public host', () => {
    const manifest = filledSample();
    const bot = (manifest.bots as Bot[])[0];
    assert.equal(bot.botId, sampleEnv.MicrosoftAppId);
    assert.deepEqual(manifest.validDomains, ['countersign-prod.azurewebsites.net']);
    assert.match(String(manifest.id), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(manifest.version, '1.4.0');
    assert.doesNotMatch(JSON.stringify(manifest), /\$\{\{/);
  });

  it('declares one file-less bot in personal, team and group chat, its menu the built-in commands every catalog has', () => {
    const bots = template.bots as Bot[];
    assert.equal(bots.length, 1);
    assert.deepEqual([...bots[0].scopes].sort(), ['groupChat', 'personal', 'team']);
    assert.equal(bots[0].supportsFiles, false);
    // The catalog's commands are the deploying team's: a menu offering the example catalog's would offer
    // commands another catalog does not have (deploy/README.md step 8 says how to add your own).
    const menus: Record<string, string[]> = {
      personal: ['help', 'pending', 'status', 'audit export'],
      team: ['help', 'pending', 'status'],
      groupChat: ['help', 'pending', 'status'],
    };
    for (const [scope, expected] of Object.entries(menus)) {
      const lists = bots[0].commandLists.filter((list) => list.scopes.includes(scope));
      assert.equal(lists.length, 1, `one command list for ${scope}`);
      assert.deepEqual(lists[0].commands.map((c) => c.title), expected, scope);
      for (const command of lists[0].commands) {
        assert.ok(command.description && command.description.length <= 128, `"${command.title}" has a short description`);
      }
    }
  });

  it('offers audit export in the personal chat only, with its syntax: <from> and <to> are required', () => {
    // Anywhere else Countersign refuses it ("Audit exports are done in a personal chat with Countersign").
    const personal = (template.bots as Bot[])[0].commandLists.find((list) => list.scopes.includes('personal'))!;
    const exportCommand = personal.commands.find((c) => c.title === 'audit export');
    assert.match(exportCommand?.description ?? '', /^audit export <from> <to> \[csv\|jsonl\|ocsf\]: /);
  });

  it('explains the two-person rule in the description', () => {
    const description = template.description as { short: string; full: string };
    assert.match(description.short, /second person/);
    assert.match(description.full, /nobody approves their own request/);
    assert.match(String(template.accentColor), /^#[0-9A-Fa-f]{6}$/);
  });

  it('reports a schema violation with the manifest path that fails', async () => {
    const manifest = filledSample();
    (manifest.bots as Bot[])[0].botId = 'not-a-guid';
    manifest.accentColor = 'green';
    const problems = await validateManifest(manifest);
    assert.ok(problems.some((p) => p.startsWith('manifest.json /bots/0/botId:')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('manifest.json /accentColor:')), problems.join('\n'));
  });

  it('reports a manifestVersion that does not match $schema', async () => {
    const manifest = { ...filledSample(), manifestVersion: '1.17' };
    const problems = await validateManifest(manifest);
    assert.ok(problems.some((p) => p.startsWith('manifest.json /manifestVersion:')), problems.join('\n'));
  });

  it('refuses a $schema that is not bundled instead of fetching it', async () => {
    await assert.rejects(
      validateManifest({ ...filledSample(), $schema: schemaUrlFor('9.99') }),
      /v9\.99, which @microsoft\/app-manifest does not bundle/,
    );
    await assert.rejects(
      validateManifest({ ...filledSample(), $schema: 'https://example.com/schema.json' }),
      /\/\$schema must be/,
    );
  });

  it('names every placeholder that has no value and where it is', () => {
    assert.throws(
      () => fillTemplate({ bots: [{ botId: '${{BOT_ID}}' }], id: '${{TEAMS_APP_ID}}' }, { TEAMS_APP_ID: 'x' }),
      /\/bots\/0\/botId uses \$\{\{BOT_ID\}\}/,
    );
  });
});
