/**
 * The banner `npm run local` (scripts/local.ts) prints: what it runs with, and who the Playground's
 * page acts as, from the Playground config it hands the Playground.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localBanner, type LocalBannerInput } from '../../scripts/local-banner';
import { DEFAULT_CONFIG_PATH } from '../../src/settings';

const ROOT = path.resolve(__dirname, '..', '..');
const PLAYGROUND_CONFIG = path.join(ROOT, 'playground', '.m365agentsplayground.yml');

describe('npm run local: its banner', () => {
  let dir: string;
  let defaults: LocalBannerInput;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-local-banner-'));
    defaults = {
      configPath: path.resolve(DEFAULT_CONFIG_PATH),
      defaultConfigPath: DEFAULT_CONFIG_PATH,
      sandbox: true,
      subscriptionId: '00000000-0000-0000-0000-00000000c0de',
      botUrl: 'http://127.0.0.1:3978',
      playgroundPort: 56150,
      playgroundConfigPath: PLAYGROUND_CONFIG,
      defaultPlaygroundConfigPath: PLAYGROUND_CONFIG,
      dataDir: path.resolve('data'),
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('says embedded defaults and Alice Requester on the defaults', () => {
    const banner = localBanner(defaults);
    assert.match(banner, /Countersign is running on its embedded defaults \(SANDBOX\)\./);
    assert.match(banner, /playground: http:\/\/127\.0\.0\.1:56150 {2}\(open it in a browser; you are Alice Requester\)/);
  });

  it('names the config file when COUNTERSIGN_CONFIG chose another, and a subscription when it names one', () => {
    const config = path.join(dir, 'countersign.yaml');
    assert.match(localBanner({ ...defaults, configPath: config }), new RegExp(`Countersign is running with the config ${config.replace(/[.\\]/g, '\\$&')} \\(SANDBOX\\)\\.`));
    const azure = localBanner({ ...defaults, configPath: config, sandbox: false, subscriptionId: '11111111-2222-4333-8444-555555555555' });
    assert.match(azure, /\(Azure subscription 11111111-2222-4333-8444-555555555555: operations run in Azure\)\./);
    assert.doesNotMatch(azure, /embedded defaults|SANDBOX/);
  });

  it("names the Playground config's current user when M365_AGENTS_PLAYGROUND_CONFIG_PATH chose another config", () => {
    const file = path.join(dir, 'playground.yml');
    writeFileSync(file, readFileSync(PLAYGROUND_CONFIG, 'utf8').replace(/currentUser:\n {2}id: user-alice\n {2}name: Alice Requester/, 'currentUser:\n  id: user-bob2\n  name: Bob Second'));
    const banner = localBanner({ ...defaults, playgroundConfigPath: file });
    assert.ok(banner.includes(`(open it in a browser; you are Bob Second (user-bob2), the current user of ${file})`), banner);
    assert.doesNotMatch(banner, /Alice/);
  });

  it('says when the Playground config cannot be read, instead of naming someone', () => {
    const missing = path.join(dir, 'missing.yml');
    const banner = localBanner({ ...defaults, playgroundConfigPath: missing });
    assert.ok(banner.includes(`you are the current user of ${missing}, which cannot be read: ENOENT`), banner);
  });
});
