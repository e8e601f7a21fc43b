/**
 * The deployment package as App Service runs it: built by `npm run package:deploy`, started from its
 * own folder with plain node (the web app's start command), no TypeScript loader and no dev
 * dependency in it; and its `npm start`, whose SIGTERM must reach node.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { spawnCountersign, REPO_ROOT, type CountersignProcess } from '../ops/child';
import { cardActions, cardOf, cardText, FakeConnector } from '../support/connector';
import { FakeIngestion } from '../support/ingestion';
import { eventually, opsChannel, people, TeamsDriver } from '../support/teams';

const run = promisify(execFile);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process under `pid` (children, grandchildren, ...), read from /proc: the package runs on Linux. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (command) state ppid ...": the command may hold spaces and parentheses, so read after the last ')'.
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended while the list was read
    }
  }
  const under = (parent: number): number[] => [...parents].filter(([, ppid]) => ppid === parent).flatMap(([child]) => [child, ...under(child)]);
  return under(pid);
}

describe('the deployment package (compiled, production dependencies only)', function () {
  this.timeout(600_000);
  let workDir: string;
  let pkg: string;
  let report: string;
  let connector: FakeConnector;
  let ingestion: FakeIngestion;
  let countersign: CountersignProcess | undefined;

  before(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-package-'));
    const built = await run(process.execPath, ['--import', 'tsx', 'scripts/package-deploy.ts', '--no-zip', '--out', workDir], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
    report = built.stdout;
    pkg = path.join(workDir, 'countersign');
    connector = await new FakeConnector().start();
    ingestion = await new FakeIngestion().start();
  });
  after(async () => {
    countersign?.kill();
    await countersign?.exited;
    await connector?.stop();
    await ingestion?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('reports its size and holds compiled code and production dependencies only', () => {
    assert.match(report, /Package folder .*: \d+ files, [\d.]+ MB/);
    const manifest = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(manifest.scripts, { start: 'exec node --max-semi-space-size=16 --enable-source-maps dist/main.js' });
    assert.equal(manifest.devDependencies, undefined);
    assert.ok(fs.existsSync(path.join(pkg, 'dist', 'main.js')) && fs.existsSync(path.join(pkg, 'cards')));
    assert.ok(!fs.existsSync(path.join(pkg, 'src')), 'no TypeScript sources');
    for (const dev of ['tsx', 'typescript', 'mocha', 'playwright-core', '@microsoft/m365agentsplayground']) {
      assert.ok(!fs.existsSync(path.join(pkg, 'node_modules', dev)), `${dev} is a dev dependency and is not packaged`);
    }
    assert.ok(fs.existsSync(path.join(pkg, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')));
  });

  it('starts with plain node: /healthz answers, a request goes through Teams to an approved execution, telemetry reaches Application Insights', async () => {
    const dataDir = path.join(workDir, 'data');
    const telemetry = {
      APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString(),
      NODE_EXTRA_CA_CERTS: ingestion.caFile,
      // The SDK's own usage reports go to a fixed Microsoft endpoint, out of this machine's reach.
      APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
    };
    countersign = await spawnCountersign({ COUNTERSIGN_DATA_DIR: dataDir, ...telemetry }, { cwd: pkg, args: ['--max-semi-space-size=16', '--enable-source-maps', 'dist/main.js'] });
    const health = await fetch(`${countersign.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'alive' });

    const teams = new TeamsDriver(countersign.url, connector);
    await teams.say(people.alice, 'tag staging-old owner platform reason: inventory');
    const posted = connector.sent.find((s) => cardActions(cardOf(s.activity)).length > 0);
    assert.ok(posted, 'the request card reached the Bot Connector');
    assert.equal((await teams.click(people.bob, posted.id, 'approve')).status, 200);
    await eventually('the card shows the execution succeeded', () => /SUCCEEDED/.test(cardText(connector.card(posted.id))) || undefined, 20_000);
    assert.ok(connector.texts(opsChannel.id).some((t) => /succeeded/.test(t)), 'the requester was told');
    // Spans go out in batches every few seconds: give the first batches time before the process is stopped.
    await eventually('spans reached the ingestion endpoint', () => (ingestion.named('RequestData').length > 0 && ingestion.named('RemoteDependencyData').some((n) => n.startsWith('ARM '))) || undefined, 20_000);

    countersign.child.kill('SIGTERM');
    assert.deepEqual(await countersign.exited, { code: 0, signal: null });
    const output = countersign.stdout.join('\n') + countersign.stderr.join('');
    // A loader shows as its own path or flag, or as a stack frame in a .ts file. Not a bare "tsx": the
    // output holds base64 signatures and random ids, where those three letters turn up by chance.
    const loaded = /node_modules[\\/]tsx\b|--(?:import|require|loader)[ =]tsx\b|\.tsx?:\d+/.exec(output);
    assert.equal(loaded?.[0], undefined, `nothing ran through a TypeScript loader: ${loaded ? output.slice(Math.max(0, loaded.index - 200), loaded.index + 200) : ''}`);

    // Flushed at shutdown: the business metrics and the spans, through the Azure Monitor distro.
    for (const metric of ['countersign.requests.created', 'countersign.decisions', 'countersign.executions', 'countersign.audit.append.duration']) {
      assert.ok(ingestion.metricNames().includes(metric), `${metric} reached the ingestion endpoint: ${ingestion.metricNames().join(', ')}`);
    }
    // The distro delivers both kinds of span from the packaged bot (which spans, exactly, test/telemetry checks).
    assert.ok(ingestion.named('RequestData').some((n) => /^(GET|POST) \//.test(n)), ingestion.named('RequestData').join(', '));
    assert.ok(ingestion.named('RemoteDependencyData').some((n) => n.startsWith('ARM ')), ingestion.named('RemoteDependencyData').join(', '));

    // The `countersign` bin of the package runs dist/ too, and verifies what the bot recorded.
    const verified = await run(process.execPath, ['bin/countersign.js', 'audit', 'verify', '--data-dir', dataDir], { cwd: pkg });
    assert.match(verified.stdout, /Audit chain intact: \d+ records/);
  });

  it('stops gracefully when `npm start` is sent SIGTERM: the signal reaches node, nothing is left running', async () => {
    // npm passes the signal to the shell that runs the start script; without `exec` there that shell
    // died of it and node, orphaned, kept serving: no drain, no lease released, no shutdown checkpoint.
    const npm = await spawnCountersign(
      { COUNTERSIGN_DATA_DIR: path.join(workDir, 'data-npm'), PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` },
      { cwd: pkg, command: 'npm', args: ['start'] },
    );
    const started = descendants(npm.child.pid!);
    assert.ok(started.length > 0, 'npm runs Countersign as its child');
    try {
      npm.child.kill('SIGTERM');
      const exited = await npm.exited;
      await npm.waitForLog('Countersign stopped', 5_000).catch(() => undefined);
      const messages = npm.lines().map((l) => l.msg);
      assert.ok(messages.includes('stopping') && messages.includes('Countersign stopped'), `Countersign logged its graceful stop: ${messages.join(' | ')}`);
      assert.deepEqual(exited, { code: 0, signal: null }, npm.stderr.join(''));
      await eventually('nothing npm started is still running', () => !started.some(alive) || undefined, 5_000);
      assert.equal((await fetch(`${npm.url}/healthz`).catch(() => undefined))?.status, undefined, 'nothing answers on its port');
    } finally {
      npm.kill();
      for (const pid of started.filter(alive)) process.kill(pid, 'SIGKILL');
    }
  });

  it('starts worker threads on compiled modules with plain node', async () => {
    const script = `
      const { startModuleWorker } = require('./dist/module-worker.js');
      const worker = startModuleWorker('parentPort.postMessage(typeof require(workerData.module).checkRangeOpened)', require.resolve('./dist/audit/verify/verify-range-fast.js'), {});
      worker.once('message', (m) => { console.log(m); process.exit(0); });
      worker.once('error', (e) => { console.error(e.message); process.exit(1); });
    `;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: pkg });
    assert.equal(stdout.trim(), 'function');
  });
});
