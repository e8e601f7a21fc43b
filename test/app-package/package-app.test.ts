import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import JSZip from 'jszip';
import { AppPackageError, buildAppPackage } from '../../scripts/app-package/build-app-package';
import { SettingsError } from '../../src/settings';
import {
  deriveTeamsAppId,
  readManifestValues,
  uuidV5,
} from '../../scripts/app-package/package-settings';

const root = path.resolve(__dirname, '../..');
const appPackageDir = path.join(root, 'appPackage');
const botId = '0b8f3a52-6c1d-4e7a-9f20-3d5b7c9e1a44';
const env = { MicrosoftAppId: botId, COUNTERSIGN_PUBLIC_URL: 'https://bot.example.org/' };

describe('Teams app packaging', () => {
  let workDir: string;
  beforeEach(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-package-'));
  });
  afterEach(() => fs.rmSync(workDir, { recursive: true, force: true }));

  it('writes a zip holding manifest.json, color.png and outline.png at its root', async () => {
    const outFile = path.join(workDir, 'out', 'countersign.zip');
    await buildAppPackage({ appPackageDir, outFile, env, packageVersion: '0.1.0' });

    const zip = await JSZip.loadAsync(fs.readFileSync(outFile));
    const names = Object.keys(zip.files).sort();
    assert.deepEqual(names, ['color.png', 'manifest.json', 'outline.png']);
    const manifest = JSON.parse(await zip.file('manifest.json')!.async('string'));
    assert.equal(manifest.bots[0].botId, botId);
    assert.equal(manifest.id, deriveTeamsAppId(botId));
    assert.deepEqual(manifest.validDomains, ['bot.example.org']);
    assert.equal(manifest.developer.privacyUrl, 'https://bot.example.org/');
    const zippedColor = await zip.file('color.png')!.async('nodebuffer');
    assert.ok(zippedColor.equals(fs.readFileSync(path.join(appPackageDir, 'color.png'))));
  });

  it('builds byte-identical packages from the same inputs', async () => {
    const first = path.join(workDir, 'a.zip');
    const second = path.join(workDir, 'b.zip');
    await buildAppPackage({ appPackageDir, outFile: first, env, packageVersion: '0.1.0' });
    await buildAppPackage({ appPackageDir, outFile: second, env, packageVersion: '0.1.0' });
    assert.ok(fs.readFileSync(first).equals(fs.readFileSync(second)));
  });

  it('refuses to build without a bot id, naming MicrosoftAppId, and writes nothing', async () => {
    const outFile = path.join(workDir, 'countersign.zip');
    await assert.rejects(
      buildAppPackage({ appPackageDir, outFile, env: { COUNTERSIGN_PUBLIC_URL: 'https://bot.example.org' }, packageVersion: '0.1.0' }),
      (error: unknown) =>
        error instanceof SettingsError && error.variable === 'MicrosoftAppId' && /is required/.test(error.message),
    );
    assert.equal(fs.existsSync(outFile), false);
  });

  it('names the setting that is missing or malformed', () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ MicrosoftAppId: 'countersign-bot', COUNTERSIGN_PUBLIC_URL: 'https://a.b' }, 'MicrosoftAppId', /must be a GUID/],
      [{ MicrosoftAppId: botId }, 'COUNTERSIGN_PUBLIC_URL', /is required/],
      [{ MicrosoftAppId: botId, COUNTERSIGN_PUBLIC_URL: 'http://a.b' }, 'COUNTERSIGN_PUBLIC_URL', /must use https/],
      // What the bot would refuse to start with is refused here too, in the bot's words.
      [{ MicrosoftAppId: botId, COUNTERSIGN_PUBLIC_URL: 'https://bot.example.org/?tenant=x' }, 'COUNTERSIGN_PUBLIC_URL', /must have no query, fragment or credentials/],
      [{ MicrosoftAppId: botId, COUNTERSIGN_PUBLIC_URL: 'https://bot.example.org/#top' }, 'COUNTERSIGN_PUBLIC_URL', /must have no query, fragment or credentials/],
      [{ MicrosoftAppId: botId, COUNTERSIGN_PUBLIC_URL: 'https://user:pw@bot.example.org' }, 'COUNTERSIGN_PUBLIC_URL', /must have no query, fragment or credentials/],
      [{ ...env, TEAMS_APP_ID: 'abc' }, 'TEAMS_APP_ID', /must be a GUID/],
      [{ ...env, TEAMS_APP_VERSION: '1.0' }, 'TEAMS_APP_VERSION', /must look like 1\.2\.3/],
      [{ ...env, TEAMS_PRIVACY_URL: 'privacy' }, 'TEAMS_PRIVACY_URL', /absolute https URL/],
    ];
    for (const [settings, variable, reason] of cases) {
      assert.throws(
        () => readManifestValues(settings, '0.1.0'),
        (error: unknown) => error instanceof SettingsError && error.variable === variable && reason.test(error.message),
        `${variable} for ${JSON.stringify(settings)}`,
      );
    }
  });

  it('derives a stable Teams app id from the bot id unless TEAMS_APP_ID is set', () => {
    // RFC 9562 / RFC 4122 test vector for name-based SHA-1 UUIDs.
    assert.equal(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
    assert.equal(deriveTeamsAppId(botId), deriveTeamsAppId(botId.toUpperCase()));
    assert.notEqual(deriveTeamsAppId(botId), deriveTeamsAppId('1b8f3a52-6c1d-4e7a-9f20-3d5b7c9e1a44'));
    const explicit = '9d0f2c1e-8a7b-4c6d-9e5f-102938475610';
    assert.equal(readManifestValues({ ...env, TEAMS_APP_ID: explicit }, '0.1.0').TEAMS_APP_ID, explicit);
  });

  it('refuses an app package whose icon is missing, listing the problem', async () => {
    const brokenDir = path.join(workDir, 'appPackage');
    fs.mkdirSync(brokenDir);
    fs.copyFileSync(path.join(appPackageDir, 'manifest.json'), path.join(brokenDir, 'manifest.json'));
    fs.copyFileSync(path.join(appPackageDir, 'color.png'), path.join(brokenDir, 'color.png'));
    await assert.rejects(
      buildAppPackage({ appPackageDir: brokenDir, outFile: path.join(workDir, 'x.zip'), env, packageVersion: '0.1.0' }),
      (error: unknown) => error instanceof AppPackageError && error.problems.some((p) => p.startsWith('outline.png: not found')),
    );
  });

  it('runs as a command that exits 1 and says which setting is missing', async () => {
    const run = promisify(execFile);
    const childEnv = { PATH: process.env.PATH ?? '', COUNTERSIGN_PUBLIC_URL: 'https://bot.example.org' };
    await assert.rejects(
      run(process.execPath, ['--import', 'tsx', 'scripts/package-app.ts', '--out', path.join(workDir, 'c.zip')], {
        cwd: root,
        env: childEnv,
      }),
      (error: { code?: number; stderr?: string }) => error.code === 1 && /^MicrosoftAppId: is required/.test(error.stderr ?? ''),
    );
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/package-app.ts', '--out', path.join(workDir, 'c.zip')],
      { cwd: root, env: { ...childEnv, MicrosoftAppId: botId } },
    );
    assert.match(stdout, /Wrote .*c\.zip \(manifest\.json, color\.png, outline\.png\)/);
    assert.ok(fs.existsSync(path.join(workDir, 'c.zip')));
  });
});
