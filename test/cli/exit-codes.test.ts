/**
 * The command line's exit codes for what it refuses before running anything (docs/cli.md): 64 for
 * a usage error (no command, an unknown command or option, a missing option), 1 for a bad value, 0
 * for help asked for. Run as the `countersign` command is.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';

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
    [['audit', 'export', '--format', 'csv', '--from', 'notadate'], 1, /"notadate" is not an ISO-8601 date/],
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

    it('countersign start: one line, "did not start", naming the variable, exit 1', async () => {
      const r = await countersign(['start'], { ...missingCa, COUNTERSIGN_CONFIG: example, PORT: '0' });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^Countersign did not start: ARM_SANDBOX_URL: must be set with ARM_SANDBOX_CA_FILE=\/nonexistent\.pem.*\n$/);
    });
  });
});
