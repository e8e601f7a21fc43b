import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from '../../src/config/duration';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load';
import { checkParameters, resolveOperation } from '../../src/domain/catalog';
import { sha256Hex } from '../../src/domain/canonical';
import { isChangeOperation } from '../../src/domain/operation';
import { defaultRisk } from '../../src/domain/risk';
import { alice, bob, channel, dave, erin } from '../support/requests';
import { fixture } from './fixtures';

const EXAMPLE = path.resolve(__dirname, '../../config/countersign.example.yaml');

describe('the shipped example config', () => {
  const config = loadConfig(EXAMPLE);

  it('loads, with the commands it documents', () => {
    assert.deepEqual(config.catalog.commands.map((c) => [c.name, c.sensitive]), [
      ['deploy', true],
      ['delete resource group', true],
      ['tag', true],
      ['resources', false],
      ['create resource group', true],
      ['untag', true],
      ['set group tags', true],
      ['tag vm', true],
      ['delete vm', true],
      ['delete storage account', true],
      ['app', true],
      ['vm', true],
      ['scale plan', true],
      ['scale pool', true],
      ['list groups', false],
      ['find type', false],
      ['find tag', false],
      ['show app', false],
      ['list deployments', false],
      ['list operations', false],
      ['what if', false],
    ]);
  });

  it('runs against the local sandbox with the default credential', () => {
    assert.deepEqual(config.azure, { subscriptionId: '', credential: { type: 'default' }, sandbox: true });
  });

  it('records as the policy version the SHA-256 over the file and the templates it names', () => {
    assert.equal(config.fileHash, sha256Hex(fs.readFileSync(EXAMPLE, 'utf8')));
    // As docs/configuration.md computes it with sha256sum.
    const template = (name: string) => `${sha256Hex(fs.readFileSync(path.join(path.dirname(EXAMPLE), name)))}  ${name}\n`;
    assert.equal(config.hash, sha256Hex(`${config.fileHash}\n${template('templates/api-service.json')}${template('templates/web-frontend.json')}`));
    assert.equal(config.file, EXAMPLE);
  });

  it('gives each sensitive command the policy it states, filling the rest from defaults', () => {
    const policy = (name: string) => config.catalog.find(name)?.policy;
    assert.deepEqual(policy('delete resource group'), {
      approvals: 1,
      approverRoles: ['platform-approvers'],
      requesterRoles: ['requesters'],
      ttlSeconds: 3600,
      conversationTypes: ['channel', 'groupChat', 'personal'],
      conversationIds: [],
      notify: { approvers: 'personal', channels: [] },
    });
    assert.equal(policy('deploy')?.ttlSeconds, 4 * 3600);
    assert.equal(policy('tag')?.ttlSeconds, 4 * 3600);
    assert.equal(policy('tag')?.approvals, 1);
    assert.equal(policy('resources'), undefined);
  });

  it('lets Alice ask and Bob approve, but not Erin the auditor', () => {
    const deploy = config.catalog.find('deploy');
    assert.ok(deploy?.policy);
    assert.equal(config.access.checkRequester(deploy, alice, channel), undefined);
    assert.equal(config.access.checkRequester(deploy, bob, channel)?.reason, 'not-allowed-to-request');
    assert.equal(config.access.isApproverFor(deploy.policy.approverRoles, bob), true);
    assert.equal(config.access.isApproverFor(deploy.policy.approverRoles, dave), true);
    assert.equal(config.access.isApproverFor(deploy.policy.approverRoles, erin), false);
    assert.deepEqual(config.auditorRoles, ['auditors']);
  });

  it('resolves "deploy production api-service" to a deployment of the api-service template file', () => {
    const parsed = config.catalog.parse('deploy production api-service reason: release 1.4');
    assert.ok(parsed);
    const check = checkParameters(parsed.command, parsed);
    assert.ok(check.ok);
    const op = resolveOperation(parsed.command, check.values, { subscriptionId: 'sub-1', requestId: 'req-9', loadTemplate: config.loadTemplate });
    const onDisk = JSON.parse(fs.readFileSync(path.resolve(path.dirname(EXAMPLE), 'templates/api-service.json'), 'utf8')) as unknown;
    assert.equal(op.kind, 'deployTemplate');
    assert.deepEqual(op.kind === 'deployTemplate' && op.template, onDisk);
    assert.equal(op.kind === 'deployTemplate' && op.resourceGroup, 'production-api-service');
    assert.equal(parsed.reason, 'release 1.4');
  });

  it('bands the production commands as docs/configuration.md promises (commands[].risk)', () => {
    const riskOf = (text: string) => {
      const parsed = config.catalog.parse(text);
      assert.ok(parsed, text);
      const check = checkParameters(parsed.command, parsed);
      assert.ok(check.ok, text);
      const op = resolveOperation(parsed.command, check.values, { subscriptionId: 'sub-1', requestId: 'req-9', loadTemplate: config.loadTemplate });
      assert.ok(isChangeOperation(op), text);
      return parsed.command.risk ?? defaultRisk(op, check.values);
    };
    const bands = ['app restart api-service', 'vm restart vm-web-01', 'scale plan 4', 'scale pool 5', 'deploy production api-service', 'deploy staging api-service', 'delete vm vm-web-01', 'delete storage account production-api-service stprod', 'delete storage account staging-api-service ststaging'].map((text) => [text, riskOf(text)]);
    assert.deepEqual(bands, [
      ['app restart api-service', 'high'],
      ['vm restart vm-web-01', 'high'],
      ['scale plan 4', 'high'],
      ['scale pool 5', 'high'],
      ['deploy production api-service', 'high'],
      ['deploy staging api-service', 'medium'],
      ['delete vm vm-web-01', 'critical'],
      ['delete storage account production-api-service stprod', 'critical'],
      ['delete storage account staging-api-service ststaging', 'high'],
    ]);
  });

  it('tags a resource group with a quoted value holding spaces', () => {
    const parsed = config.catalog.parse('tag rg-ops owner "Jane Doe"');
    assert.ok(parsed);
    assert.deepEqual(checkParameters(parsed.command, parsed), { ok: true, values: { group: 'rg-ops', key: 'owner', value: 'Jane Doe' } });
  });

  it('refuses a tag value with a character Azure does not allow in tags', () => {
    const parsed = config.catalog.parse('tag rg-ops owner a/b');
    assert.ok(parsed);
    assert.equal(checkParameters(parsed.command, parsed).ok, false);
  });
});

describe('a minimal valid config', () => {
  const config = loadConfig(fixture('valid-minimal.yaml'));

  it('makes a command that changes Azure sensitive without being told', () => {
    assert.equal(config.catalog.find('drop group')?.sensitive, true);
    assert.equal(config.catalog.find('groups')?.sensitive, false);
  });

  it('defaults to one approval, a 4h ttl and every conversation type', () => {
    assert.deepEqual(config.catalog.find('drop group')?.policy, {
      approvals: 1,
      approverRoles: ['approvers'],
      requesterRoles: [],
      ttlSeconds: 4 * 3600,
      conversationTypes: ['personal', 'groupChat', 'channel'],
      conversationIds: [],
      notify: { approvers: 'personal', channels: [] },
    });
  });

  it('keeps the approvals, ttl, requester roles and conversations a policy states', () => {
    assert.deepEqual(config.catalog.find('deploy app')?.policy, {
      approvals: 2,
      approverRoles: ['approvers'],
      requesterRoles: ['requesters'],
      ttlSeconds: 30 * 60,
      conversationTypes: ['channel'],
      conversationIds: ['19:ops@thread.tacv2'],
      notify: { approvers: 'personal', channels: [] },
    });
  });

  it('infers a parameter\'s type from what it declares', () => {
    const [group] = config.catalog.find('drop group')?.parameters ?? [];
    const { matches, ...declared } = group!;
    assert.deepEqual(declared, { name: 'group', type: 'string', pattern: '^[a-z0-9-]+$' });
    // The pattern compiled to run in linear time, found anywhere in the value as RegExp.test finds it.
    assert.deepEqual(['web-1', 'Web_1', ''].map((v) => matches?.(v)), [true, false, false]);
    assert.deepEqual(config.catalog.find('deploy app')?.parameters, [{ name: 'environment', type: 'enum', allowed: ['production', 'staging'] }]);
  });

  it('has no auditors and uses the default credential when it names none', () => {
    assert.deepEqual(config.auditorRoles, []);
    assert.deepEqual(config.azure.credential, { type: 'default' });
  });

  it('turns delegation on, for at most 14 days, when it says nothing of it; and keeps what a delegation block states', () => {
    assert.deepEqual(config.delegation, { enabled: true, maxDurationSeconds: 14 * 86400 });
    const text = fs.readFileSync(fixture('valid-minimal.yaml'), 'utf8');
    assert.deepEqual(parseConfig(`${text}\ndelegation:\n  enabled: false\n  maxDuration: 3d\n`, fixture('valid-minimal.yaml')).delegation, { enabled: false, maxDurationSeconds: 3 * 86400 });
  });

  it('loads templates relative to its own folder and refuses paths outside it', () => {
    assert.deepEqual(config.loadTemplate('templates/app.json').resources, []);
    assert.throws(() => config.loadTemplate('../../../package.json'), /template \.\.\/\.\.\/\.\.\/package.json is outside the config folder/);
  });

  it('refuses a template that is a link, inside the config folder, to a file outside it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-linked-'));
    try {
      fs.mkdirSync(path.join(dir, 'templates'));
      const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-outside-'));
      fs.writeFileSync(path.join(outside, 'prod.json'), '{"resources": []}');
      fs.symlinkSync(path.join(outside, 'prod.json'), path.join(dir, 'templates', 'app.json'));
      const file = path.join(dir, 'countersign.yaml');
      fs.writeFileSync(file, fs.readFileSync(fixture('valid-minimal.yaml'), 'utf8'));
      assert.throws(() => loadConfig(file), /template templates\/app\.json is outside the config folder: it is a link to .*prod\.json/);
      fs.rmSync(outside, { recursive: true, force: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file that is not UTF-8, naming the line, and hashes the bytes of one that is (a byte order mark kept)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-encoding-'));
    try {
      fs.mkdirSync(path.join(dir, 'templates'));
      fs.writeFileSync(path.join(dir, 'templates', 'app.json'), '{"resources": []}');
      const text = fs.readFileSync(fixture('valid-minimal.yaml'), 'utf8');
      const latin1 = path.join(dir, 'latin1.yaml');
      fs.writeFileSync(latin1, Buffer.from(`${text}# café\n`, 'latin1'));
      assert.throws(() => loadConfig(latin1), (err: Error) => new RegExp(`latin1\\.yaml:${text.split('\n').length}: the file is not UTF-8 text \\(a byte there is no UTF-8 character; Latin-1 or Windows-1252, say\\): save it as UTF-8`).test(err.message));
      const utf16 = path.join(dir, 'utf16.yaml');
      fs.writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
      assert.throws(() => loadConfig(utf16), /the file is not UTF-8 text \(it looks like UTF-16\)/);
      const bom = path.join(dir, 'bom.yaml');
      fs.writeFileSync(bom, `\uFEFF${text}# café\n`);
      assert.equal(loadConfig(bom).fileHash, sha256Hex(fs.readFileSync(bom)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a config file past 1 MiB before reading it as YAML, saying its size', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-size-'));
    try {
      const big = path.join(dir, 'big.yaml');
      fs.writeFileSync(big, `${fs.readFileSync(fixture('valid-minimal.yaml'), 'utf8')}# ${'x'.repeat(1024 * 1024)}\n`);
      assert.throws(() => loadConfig(big), /big\.yaml: \(top level\): the file is 1,04\d,\d{3} bytes; a config may be at most 1,048,576/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a config that is no regular file without reading it (a device, a named pipe, a folder), naming what it is', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-kind-'));
    try {
      const pipe = path.join(dir, 'pipe.yaml');
      execFileSync('mkfifo', [pipe]);
      // Read as a file, /dev/zero grows the process without end and a pipe waits for a writer.
      const refused = (file: string, kind: string) => (err: unknown) =>
        err instanceof ConfigError && err.file === file && err.problems.length === 1 && err.problems[0].problem === `it is ${kind}, not a file: a config is a file`;
      assert.throws(() => loadConfig('/dev/zero'), refused('/dev/zero', 'a character device'));
      assert.throws(() => loadConfig(pipe), refused(pipe, 'a named pipe'));
      assert.throws(() => loadConfig(dir), refused(dir, 'a folder'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves a file path given relative to the working directory', () => {
    const relative = path.relative(process.cwd(), fixture('valid-minimal.yaml'));
    assert.equal(loadConfig(relative).file, fixture('valid-minimal.yaml'));
  });
});

describe('durations', () => {
  it('reads seconds, minutes, hours and days', () => {
    assert.deepEqual(['45s', '30m', '4h', '2d'].map(parseDuration), [45, 1800, 14400, 172800]);
  });

  it('refuses anything else', () => {
    for (const bad of ['0h', '4 hours', '1.5h', 'h', '4w']) assert.throws(() => parseDuration(bad), new RegExp(`not a duration: ${bad}`));
  });
});
