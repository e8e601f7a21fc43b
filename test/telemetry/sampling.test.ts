/**
 * Every trace goes to Application Insights: the Azure Monitor distro's default sampler keeps about
 * five traces a second and adapts within a tenth of a second, so the spans of one approval (the
 * click, then each ARM call of its execution) came in a burst and most were dropped. Run through the
 * real distro in a process of its own, against the local stand-in for the ingestion endpoint.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../ops/child';
import { FakeIngestion } from '../support/ingestion';

const run = promisify(execFile);

describe('telemetry through the Azure Monitor distro: sampling', function () {
  this.timeout(60_000);
  let ingestion: FakeIngestion;
  before(async () => {
    ingestion = await new FakeIngestion().start();
  });
  after(async () => ingestion?.stop());

  it('sends every span of a burst of traces, none sampled away', async () => {
    const script = `
      const { startAzureMonitor } = require('./src/azure/monitor-telemetry');
      const { trace, SpanKind } = require('@opentelemetry/api');
      const telemetry = startAzureMonitor(process.env.CONNECTION);
      const tracer = trace.getTracer('sampling-test');
      for (let i = 0; i < 40; i++) tracer.startSpan('ARM burst ' + i, { kind: SpanKind.CLIENT }).end();
      telemetry.shutdown().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
    `;
    await run(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, CONNECTION: ingestion.connectionString(), NODE_EXTRA_CA_CERTS: ingestion.caFile, APPLICATION_INSIGHTS_NO_STATSBEAT: 'true' },
    });
    const burst = ingestion.named('RemoteDependencyData').filter((n) => n.startsWith('ARM burst '));
    assert.equal(burst.length, 40, `${burst.length} of 40 spans reached the ingestion endpoint`);
  });
});
