import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSandboxSettings } from '../../src/settings';
import { armRequest } from '../support/sandbox-http';

describe('ARM sandbox: running as its own process', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGTERM');
    child = undefined;
  });

  it('reads its port and CA file from the environment, refusing a bad port', () => {
    assert.deepEqual(readSandboxSettings({ ARM_SANDBOX_PORT: '8443', ARM_SANDBOX_CA_FILE: 'tmp/ca.pem' }), {
      port: 8443,
      host: '127.0.0.1',
      caFile: path.resolve('tmp/ca.pem'),
    });
    assert.throws(() => readSandboxSettings({ ARM_SANDBOX_PORT: 'http' }), /ARM_SANDBOX_PORT: must be a port number/);
  });

  it('prints its URL, writes its certificate where told, and answers ARM calls', async () => {
    const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'arm-sandbox-')), 'ca.pem');
    child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/sandbox/main.ts')], {
      env: { ...process.env, ARM_SANDBOX_PORT: '0', ARM_SANDBOX_CA_FILE: caFile },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const printed = await new Promise<Record<string, string>>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('ARM_SANDBOX_CA_FILE=')) resolve(Object.fromEntries(out.trim().split('\n').map((l) => l.split('=', 2) as [string, string])));
      });
      child!.once('exit', (code) => reject(new Error(`sandbox exited with ${code} before printing its URL: ${out}`)));
    });
    assert.match(printed.ARM_SANDBOX_URL, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(printed.ARM_SANDBOX_CA_FILE, caFile);
    const target = { url: printed.ARM_SANDBOX_URL, caPem: fs.readFileSync(caFile, 'utf8') };
    const groups = await armRequest(target, 'GET', `/subscriptions/${printed.ARM_SANDBOX_SUBSCRIPTION_ID}/resourcegroups`);
    assert.equal(groups.status, 200);
    assert.ok(groups.body.value.some((g: { name: string }) => g.name === 'production-api-service'));
  });
});
