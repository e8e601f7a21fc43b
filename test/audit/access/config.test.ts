/** The audit keys of the config: checkpoint interval and the HTTP export API, checked like every other key. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, parseConfig } from '../../../src/config/load';
import { EXAMPLE_CONFIG } from '../../support/people';
import { tempDir } from '../../store/fixtures';

/** The example config, its own checkpointInterval taken out so a test can set one. */
const example = fs.readFileSync(EXAMPLE_CONFIG, 'utf8').replace(/^ {2}checkpointInterval: .*\n/m, '');
const withAudit = (lines: string) => example.replace('  auditorRoles: [auditors]\n', `  auditorRoles: [auditors]\n${lines}`);

/** Where the config under test is, beside its key set file and a copy of the example's templates (set per test). */
let configFile = EXAMPLE_CONFIG;

function problems(text: string): string {
  try {
    parseConfig(text, configFile);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  assert.fail('the config was accepted');
}

describe('the audit keys of the config', () => {
  let tmp: ReturnType<typeof tempDir>;
  let jwks: string;
  beforeEach(() => {
    tmp = tempDir();
    fs.cpSync(path.join(path.dirname(EXAMPLE_CONFIG), 'templates'), path.join(tmp.dir, 'templates'), { recursive: true });
    configFile = path.join(tmp.dir, 'countersign.yaml');
    jwks = path.join(tmp.dir, 'jwks.json');
    fs.writeFileSync(jwks, JSON.stringify({ keys: [{ kty: 'RSA', kid: 'k1', n: 'AQAB', e: 'AQAB' }] }));
  });
  afterEach(() => {
    configFile = EXAMPLE_CONFIG;
    tmp.remove();
  });

  it('signs checkpoints every 15 minutes unless audit.checkpointInterval says otherwise, and has no HTTP API by default', () => {
    const c = parseConfig(example, EXAMPLE_CONFIG);
    assert.deepEqual(c.audit, { checkpointIntervalSeconds: 900, checkpointEveryRecords: 1000 });
    const everyRecords = (n: string) => example.replace(/^ {2}checkpointEveryRecords: .*$/m, `  checkpointEveryRecords: ${n}`);
    assert.equal(parseConfig(everyRecords('50'), EXAMPLE_CONFIG).audit.checkpointEveryRecords, 50);
    assert.match(problems(everyRecords('0')), /audit\.checkpointEveryRecords: must be from 1 to 1000000 \(got 0\)/);
    assert.equal(parseConfig(withAudit('  checkpointInterval: 2h\n'), EXAMPLE_CONFIG).audit.checkpointIntervalSeconds, 7200);
    assert.match(problems(withAudit('  checkpointInterval: often\n')), /audit\.checkpointInterval: `checkpointInterval` must be a duration such as 5m, 15m or 1h/);
  });

  it('reads audit.http with a key set from a file', () => {
    const c = parseConfig(withAudit(`  http:\n    issuer: https://login.microsoftonline.com/t/v2.0\n    audience: api://countersign\n    role: Audit.Export\n    jwksFile: jwks.json\n`), configFile);
    assert.deepEqual(c.audit.http, {
      issuer: 'https://login.microsoftonline.com/t/v2.0',
      audience: 'api://countersign',
      role: 'Audit.Export',
      jwks: { keys: [{ kty: 'RSA', kid: 'k1', n: 'AQAB', e: 'AQAB' }] },
    });
    const remote = parseConfig(withAudit('  http:\n    issuer: https://i.example/v2.0\n    audience: a\n    role: r\n    jwksUri: https://i.example/keys\n'), EXAMPLE_CONFIG);
    assert.deepEqual(remote.audit.http?.jwks, { uri: 'https://i.example/keys' });
  });

  it('names what is wrong with audit.http, with its line', () => {
    const line = example.split('\n').findIndex((l) => l.includes('auditorRoles: [auditors]')) + 2;
    assert.match(problems(withAudit('  http:\n    issuer: https://i.example\n    audience: a\n    role: r\n')), new RegExp(`:${line}: audit\\.http: needs exactly one of jwksUri .* and jwksFile`));
    assert.match(problems(withAudit(`  http:\n    issuer: https://i.example\n    audience: a\n    role: r\n    jwksUri: https://i.example/k\n    jwksFile: ${jwks}\n`)), /audit\.http: needs exactly one of/);
    assert.match(problems(withAudit('  http:\n    issuer: http://i.example\n    audience: a\n    role: r\n    jwksUri: https://k\n')), /audit\.http\.issuer: must be an https URL such as https:\/\/login\.microsoftonline\.com\/<tenant-id>\/v2\.0/);
    assert.match(problems(withAudit('  http:\n    issuer: https://i.example\n    audience: a\n    jwksUri: https://k\n')), /audit\.http\.role: is required/);
    assert.match(problems(withAudit('  http:\n    issuer: https://i.example\n    audience: a\n    role: r\n    jwksUri: https://k\n    secret: x\n')), /audit\.http\.secret: unknown key/);
    fs.writeFileSync(jwks, '{"keys": "none"}');
    assert.match(problems(withAudit(`  http:\n    issuer: https://i.example\n    audience: a\n    role: r\n    jwksFile: ${jwks}\n`)), /audit\.http\.jwksFile: .*jwks\.json is not a JSON Web Key Set: it has no "keys" list/);
    assert.match(problems(withAudit('  http:\n    issuer: https://i.example\n    audience: a\n    role: r\n    jwksFile: missing.json\n')), /audit\.http\.jwksFile: cannot read .*missing\.json \(ENOENT\)/);
  });

  it('reads the key set only from the config folder, as templates, and never quotes a file that is not one', () => {
    const http = (file: string) => withAudit(`  http:\n    issuer: https://i.example\n    audience: a\n    role: r\n    jwksFile: ${file}\n`);
    const outside = tempDir();
    try {
      const secret = path.join(outside.dir, 'shadow');
      fs.writeFileSync(secret, 'root:*:20200:0:99999:7:::\n');
      const relative = path.relative(tmp.dir, secret);
      const refused = problems(http(relative));
      assert.match(refused, new RegExp(`audit\\.http\\.jwksFile: the key set ${relative.replace(/[./]/g, '\\$&')} is outside the config folder \\(a key set is read from the config's folder, as templates are\\)`));
      assert.match(problems(http(secret)), /audit\.http\.jwksFile: the key set .*shadow is outside the config folder/);
      fs.symlinkSync(secret, path.join(tmp.dir, 'linked.json'));
      assert.match(problems(http('linked.json')), /audit\.http\.jwksFile: the key set linked\.json is outside the config folder: it is a link to .*shadow/);
      // Inside the folder, a file that is no JSON is named, its text never quoted.
      fs.copyFileSync(secret, path.join(tmp.dir, 'keys.json'));
      fs.writeFileSync(path.join(tmp.dir, 'near.json'), '{\n  "keys": [\n    {"kty": "RSA", "n": "SECRET-MODULUS" oops}\n  ]\n}\n');
      for (const [file, line] of [['keys.json', ''], ['near.json', ' \\(line 3\\)']]) {
        const text = problems(http(file));
        assert.match(text, new RegExp(`audit\\.http\\.jwksFile: .*${file.replace('.', '\\.')} is not a JSON Web Key Set: it is not valid JSON${line}$`, 'm'));
        assert.doesNotMatch(text, /root:|SECRET|oops/);
      }
    } finally {
      outside.remove();
    }
  });
});
