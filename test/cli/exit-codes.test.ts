/**
 * The command line's exit codes for what it refuses before running anything (docs/cli.md): 64 for
 * a usage error (no command, an unknown command or option, a missing option), 1 for a bad value, 0
 * for help asked for. Run as the `countersign` command is.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/free-port';

const BIN = path.join(__dirname, '..', '..', 'bin', 'countersign.js');

function countersign(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, COUNTERSIGN_DATA_DIR: path.join(__dirname, 'no-such-dir'), ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('countersign exit codes', function () {
  this.timeout(60_000);

  const cases: [string[], number, RegExp][] = [
    [[], 64, /Usage: countersign/],
    [['audit'], 64, /Usage: countersign audit/],
    [['no-such-command'], 64, /unknown command 'no-such-command'/],
    [['audit', 'verify', '--no-such-option'], 64, /unknown option '--no-such-option'/],
    [['audit', 'export'], 64, /required option '--format <format>' not specified/],
    [['audit', 'accept-loss'], 64, /required option '--reason <text>' not specified/],
    [['audit', 'export', '--format', 'xlsx'], 1, /argument 'xlsx' is invalid/],
    [['audit', 'export', '--format', 'csv', '--from', 'notadate'], 1, /"notadate" is not a date Countersign reads/],
    // An option that takes one value, given twice: commander kept the last (a signed export of the second request alone).
    [['audit', 'export', '--format', 'csv', '--request', 'CS-AAAAAAAA', '--request=CS-BBBBBBBB'], 64, /error: --request was given 2 times: it takes one value \(give it once\)/],
    [['audit', 'accept-loss', '--reason', 'the disk was restored', '--reason', 'x'], 64, /error: --reason was given 2 times/],
    // An empty value (an unset shell variable) is not "no filter": it exported everything.
    [['audit', 'export', '--format', 'csv', '--request', ''], 1, /error: --request was given an empty value: give a value, or leave --request out/],
    [['audit', 'export', '--format', 'csv', '--type', ','], 1, /error: --type was given an empty value/],
    [['audit', 'export', '--format', 'csv', '--type', 'audit.exported,'], 1, /error: --type was given an empty value/],
    [['audit', 'export', '--format', 'csv', '--out', ' '], 1, /error: --out was given an empty value/],
    // An option taken as the value of the one before it: it wrote a file named --force.
    [['audit', 'export', '--format', 'csv', '--out', '--force'], 64, /error: --out was given "--force", which is one of its command's options/],
    // As the refusal advises, --out=--force names a file "--force" (here refused for the data directory that does not exist).
    [['audit', 'export', '--format', 'csv', '--out=--force'], 1, /no-such-dir/],
    // Words left over are named (commander only counted them), a time after a date with the one word meant.
    [['audit', 'export', '--format', 'csv', '--from', '2026-12-06', '9:30'], 64, /^error: unexpected word "9:30" for 'export' \(it takes no arguments\)\. A date and its time are one word, joined by T \(2026-12-06T09:30\)\./],
    [['audit', 'evidence', 'CS-AAAAAAAA', 'CS-BBBBBBBB'], 64, /^error: unexpected word "CS-BBBBBBBB" for 'evidence' \(it takes <request-id>\)\. A value with spaces is written in quotes\./],
  ];
  for (const [args, code, said] of cases) {
    it(`countersign ${args.join(' ') || '(nothing)'}: exit ${code}`, async () => {
      const r = await countersign(args);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, said);
    });
  }

  it('countersign --help: the help on standard output, exit 0', async () => {
    const r = await countersign(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: countersign/);
  });

  describe('a config file that is not there, no file given', () => {
    const elsewhere = os.tmpdir();
    function inOtherFolder(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
      return new Promise((resolve) => {
        execFile(process.execPath, [BIN, ...args], { cwd: elsewhere, env: { ...process.env, COUNTERSIGN_CONFIG: '', ...env } }, (err, _stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }));
      });
    }

    it('says the default was taken, under which working directory, and how to name the file: exit 1', async () => {
      for (const command of ['config', 'azure']) {
        const r = await inOtherFolder([command, 'check'], {});
        assert.equal(r.code, 1, r.stderr);
        assert.ok(r.stderr.includes(`the file is missing (ENOENT)\nNo file was given and COUNTERSIGN_CONFIG is not set, so the config is the default, config/countersign.example.yaml, under the working directory ${fs.realpathSync(elsewhere)}: give the file (countersign ${command} check <file>), or set COUNTERSIGN_CONFIG.\n`), r.stderr);
      }
    });

    it('says COUNTERSIGN_CONFIG named it; nothing more for a file given', async () => {
      const fromEnv = await inOtherFolder(['config', 'check'], { COUNTERSIGN_CONFIG: '/nonexistent/countersign.yaml' });
      assert.equal(fromEnv.code, 1);
      assert.match(fromEnv.stderr, /No file was given, so the config is the one COUNTERSIGN_CONFIG names: check that variable/);
      const given = await inOtherFolder(['config', 'check', '/nonexistent/countersign.yaml'], {});
      assert.equal(given.code, 1);
      assert.doesNotMatch(given.stderr, /No file was given/);
    });
  });

  describe('with half an ARM sandbox pair set', () => {
    const urlOnly = { ARM_SANDBOX_URL: 'https://127.0.0.1:1', ARM_SANDBOX_CA_FILE: '' };
    const missingCa = { ARM_SANDBOX_URL: '', ARM_SANDBOX_CA_FILE: '/nonexistent.pem' };
    const example = path.join(__dirname, '..', '..', 'config', 'countersign.example.yaml');

    it('countersign --help still shows the help, exit 0', async () => {
      const r = await countersign(['--help'], missingCa);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Usage: countersign/);
      assert.equal(r.stderr, '');
    });

    it('countersign config check, which talks to no Azure, is unaffected, exit 0', async () => {
      const r = await countersign(['config', 'check', example], urlOnly);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /ARM_SANDBOX/);
    });

    it('countersign audit verify reports on the database, not on the sandbox variables', async () => {
      const r = await countersign(['audit', 'verify'], urlOnly);
      assert.doesNotMatch(r.stderr, /ARM_SANDBOX|SettingsError|\n\s+at /);
    });

    it('countersign azure check: one line naming the variable missing, exit 1', async () => {
      const r = await countersign(['azure', 'check', example], urlOnly);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^ARM_SANDBOX_CA_FILE: must name the certificate PEM of the sandbox at ARM_SANDBOX_URL=https:\/\/127\.0\.0\.1:1 .*\n$/);
      assert.equal(r.stdout, '');
    });

    it('countersign start: stops with exit 1 once the store can no longer write, as npm start does; 0 on SIGTERM', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-start-'));
      try {
        for (const fault of ['shm', 'sigterm'] as const) {
          const port = await freePort();
          const child = spawn(process.execPath, [BIN, 'start'], {
            env: { ...process.env, COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_CONFIG: example, PORT: String(port), COUNTERSIGN_HOST: '127.0.0.1' },
            stdio: 'ignore',
          });
          const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
          const url = `http://127.0.0.1:${port}`;
          for (let i = 0; i < 150 && !(await fetch(`${url}/healthz`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 200));
          if (fault === 'shm') {
            fs.rmSync(path.join(dataDir, 'countersign.db-shm'));
            // The bot finds it at its next write or readiness probe.
            await fetch(`${url}/readyz`).catch(() => undefined);
          } else {
            child.kill('SIGTERM');
          }
          const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 40_000))]);
          if (code === 'still running') child.kill('SIGKILL');
          assert.equal(code, fault === 'shm' ? 1 : 0, fault);
        }
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('countersign start: one line, "did not start", naming the variable, exit 1', async () => {
      const r = await countersign(['start'], { ...missingCa, COUNTERSIGN_CONFIG: example, PORT: '0' });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^Countersign did not start: ARM_SANDBOX_URL: must be set with ARM_SANDBOX_CA_FILE=\/nonexistent\.pem.*\n$/);
    });

    it('countersign start: a data directory that is a file is named as COUNTERSIGN_DATA_DIR, exit 1', async () => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-start-')), 'countersign.yaml');
      fs.writeFileSync(file, 'x');
      try {
        const r = await countersign(['start'], { COUNTERSIGN_DATA_DIR: file, COUNTERSIGN_CONFIG: example, PORT: '0' });
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stderr, `Countersign did not start: COUNTERSIGN_DATA_DIR: ${file} is a file, not a directory: name the directory that holds (or is to hold) Countersign's database and audit signing key\n`);
      } finally {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
      }
    });

    it('countersign start: a port in use is named as PORT, an address this machine does not have as COUNTERSIGN_HOST, exit 1', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-start-'));
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const { port } = taken.address() as net.AddressInfo;
      try {
        const inUse = await countersign(['start'], { COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_CONFIG: example, PORT: String(port), COUNTERSIGN_HOST: '127.0.0.1' });
        assert.equal(inUse.code, 1, inUse.stderr);
        assert.equal(inUse.stderr, `Countersign did not start: PORT: ${port} on 127.0.0.1 is already in use by another program (EADDRINUSE): stop it, or set PORT to a free port\n`);
        // Only with an app id may the bot listen beyond loopback; this name is no address at all.
        const identity = { MicrosoftAppId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', MicrosoftAppPassword: 'secret' };
        const noHost = await countersign(['start'], { ...identity, COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_CONFIG: example, PORT: '0', COUNTERSIGN_HOST: 'no-such-host.invalid' });
        assert.equal(noHost.code, 1, noHost.stderr);
        assert.match(noHost.stderr, /^Countersign did not start: COUNTERSIGN_HOST: "no-such-host\.invalid" is not an address of this machine to listen on \((ENOTFOUND|EAI_AGAIN)\): give one of its IP addresses, 0\.0\.0\.0 \(every IPv4 address\), :: or 127\.0\.0\.1\n$/);
      } finally {
        taken.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
