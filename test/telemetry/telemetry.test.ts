/**
 * Telemetry with OpenTelemetry's in-memory exporters in place of Application Insights: the metrics an
 * operator alerts on are counted from real use of the bot (requests, decisions, refusals, executions,
 * audit append latency, Teams throttling), and requests, turns and ARM calls are traced.
 */
import { isInstrumented } from '../../src/telemetry/instrument-store';
import assert from 'node:assert/strict';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { readSettings } from '../../src/settings';
import { ConversationRateLimiter } from '../../src/teams/rate-limit';
import { METRIC, Telemetry } from '../../src/telemetry';
import type { AuditRecord } from '../../src/domain/audit';
import { requestVia, settled } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { people } from '../support/teams';

interface Point {
  attributes: Record<string, unknown>;
  value: number | { count: number; sum?: number };
}

class InMemoryTelemetry {
  readonly metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  readonly reader = new PeriodicExportingMetricReader({ exporter: this.metricExporter, exportIntervalMillis: 3_600_000 });
  readonly spans = new InMemorySpanExporter();
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });
  readonly tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.spans)] });
  readonly telemetry = new Telemetry({ meterProvider: this.meterProvider, tracerProvider: this.tracerProvider });

  /** The data points of one metric as last exported. */
  async points(name: string): Promise<Point[]> {
    this.metricExporter.reset();
    await this.reader.forceFlush();
    const exported: ResourceMetrics[] = this.metricExporter.getMetrics();
    const metric = exported.at(-1)?.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    return (metric?.dataPoints ?? []).map((p) => ({ attributes: p.attributes, value: p.value as Point['value'] }));
  }

  async count(name: string, attributes: Record<string, unknown> = {}): Promise<number> {
    const matching = (await this.points(name)).filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
    return matching.reduce((sum, p) => sum + (typeof p.value === 'number' ? p.value : p.value.count), 0);
  }

  async stop(): Promise<void> {
    await this.meterProvider.shutdown();
    await this.tracerProvider.shutdown();
  }
}

describe('telemetry (in-memory exporters in place of Application Insights)', function () {
  this.timeout(30000);
  let h: Harness;
  let otel: InMemoryTelemetry;
  beforeEach(async () => {
    otel = new InMemoryTelemetry();
    h = await startHarness({ telemetry: otel.telemetry });
  });
  afterEach(async () => {
    await h.stop();
    await otel.stop();
  });

  it('counts break-glass uses, reviews and overdue reviews by event and command', async () => {
    const record = (type: AuditRecord['type']) => ({ type, request: { command: 'delete resource group' }, outcome: { result: 'ok' } }) as AuditRecord;
    otel.telemetry.metrics.appended([record('breakglass.used'), record('breakglass.review_overdue'), record('breakglass.ratified')]);
    assert.equal(await otel.count(METRIC.breakGlass, { event: 'used', command: 'delete resource group' }), 1);
    assert.equal(await otel.count(METRIC.breakGlass, { event: 'review_overdue' }), 1);
    assert.equal(await otel.count(METRIC.breakGlass, { event: 'flagged' }), 0);
  });

  it("counts each refusal a minute's repeated summary counted, by its reason, as those recorded one by one", async () => {
    const refused = (reason: string, data?: Record<string, unknown>) => ({ type: 'click.refused', outcome: { result: 'refused', reason }, ...(data ? { data } : {}) }) as AuditRecord;
    otel.telemetry.metrics.appended([refused('not-an-approver'), refused('repeated', { repeated: { count: 45, from: '', to: '', reasons: { 'not-an-approver': 40, 'unknown-request': 5 }, perMinute: 30 } })]);
    assert.equal(await otel.count(METRIC.refusals, { event: 'click.refused', reason: 'not-an-approver' }), 41);
    assert.equal(await otel.count(METRIC.refusals, { event: 'click.refused', reason: 'unknown-request' }), 5);
    assert.equal(await otel.count(METRIC.refusals, { event: 'click.refused' }), 46);
  });

  it('counts requests, decisions, refusals by reason and executions by outcome from what the bot did', async () => {
    assert.equal(isInstrumented(h.bot.deps.store), true, 'the use cases write through the instrumented store');
    const first = await requestVia(h, 'deploy production api-service reason: release 2.4');
    await h.teams.click(people.alice, first.cardId, 'approve'); // the requester: refused
    await h.teams.click(people.bob, first.cardId, 'approve');
    await settled(h); // the first card's updates are sent before the second request is typed
    const second = await requestVia(h, 'deploy production api-service reason: not today');
    await h.teams.click(people.bob, second.cardId, 'reject');
    await settled(h);

    assert.equal(await otel.count(METRIC.requestsCreated, { command: 'deploy' }), 2);
    assert.equal(await otel.count(METRIC.decisions, { decision: 'approve' }), 1);
    assert.equal(await otel.count(METRIC.decisions, { decision: 'reject' }), 1);
    assert.equal(await otel.count(METRIC.refusals, { event: 'click.refused', reason: 'self-approval' }), 1);
    assert.equal(await otel.count(METRIC.executions, { outcome: 'succeeded', command: 'deploy' }), 1);
    assert.equal(await otel.count(METRIC.executions, { outcome: 'failed' }), 0);

    const appends = await otel.points(METRIC.auditAppendDuration);
    assert.ok(appends.some((p) => p.attributes.operation === 'insert' && p.attributes.result === 'ok'), 'request inserts are timed');
    assert.ok(appends.some((p) => p.attributes.operation === 'update'), 'request updates are timed');
    assert.ok(appends.some((p) => p.attributes.operation === 'append'), 'plain appends are timed');
    for (const p of appends) assert.ok(typeof p.value === 'object' && p.value.count > 0 && (p.value.sum ?? 0) >= 0);
  });

  it('counts the people a request could not be brought to, by occasion', async () => {
    h.connector.notInstalledFor.set(people.dave.aadObjectId, 404);
    await requestVia(h, 'delete resource group staging-old');
    await settled(h);
    assert.equal(await otel.count(METRIC.approversUnreachable, { occasion: 'created', command: 'delete resource group' }), 1);
  });

  it('traces incoming requests by route, each turn, and the ARM calls with their outcome', async () => {
    const { cardId } = await requestVia(h, 'deploy production api-service reason: release 2.4');
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    await fetch(`${h.bot.url}/api/audit/download/${'x'.repeat(40)}`);

    const spans = otel.spans.getFinishedSpans();
    const names = spans.map((s) => s.name);
    assert.ok(names.includes('POST /api/messages'), names.join(', '));
    assert.ok(names.includes('activity message'));
    assert.ok(names.includes('activity invoke adaptiveCard/action'));
    assert.ok(names.includes('ARM whatIf deployTemplate'));
    const execute = spans.find((s) => s.name === 'ARM execute deployTemplate');
    assert.equal(execute?.attributes['countersign.execution.outcome'], 'succeeded');
    const download = spans.find((s) => s.name.startsWith('GET /api/audit/download'));
    assert.equal(download?.attributes['http.route'], '/api/audit/download/:token', 'the route, never the token, names the span');
    assert.ok(!JSON.stringify(spans.map((s) => [s.name, s.attributes])).includes('x'.repeat(40)), 'no span carries the download token');
  });

  it('counts proactive sends held back by the Teams rate limiter, and how long they waited', async () => {
    let now = 0;
    const limiter = new ConversationRateLimiter([{ max: 1, perMs: 1000 }], () => now, async (ms) => void (now += ms), otel.telemetry.sendThrottled);
    await limiter.acquire('19:ops');
    await limiter.acquire('19:ops');
    await limiter.acquire('19:other');
    assert.equal(await otel.count(METRIC.sendsThrottled), 1);
    const waits = await otel.points(METRIC.throttleWait);
    assert.deepEqual(waits.map((p) => (p.value as { sum?: number }).sum), [1000]);
  });
});

describe('telemetry off', () => {
  it('is off unless APPLICATIONINSIGHTS_CONNECTION_STRING is set, and the bot then uses its store unwrapped', async function () {
    this.timeout(30000);
    assert.equal(readSettings({}).applicationInsightsConnectionString, '');
    assert.equal(readSettings({ APPLICATIONINSIGHTS_CONNECTION_STRING: ' InstrumentationKey=abc ' }).applicationInsightsConnectionString, 'InstrumentationKey=abc');
    const h = await startHarness();
    try {
      assert.equal(isInstrumented(h.bot.deps.store), false, 'no telemetry wrapper around the store');
    } finally {
      await h.stop();
    }
  });
});
