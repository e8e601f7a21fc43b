import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { traceTurns } from '../../src/telemetry/trace-turns';

describe('spans around work (a turn, an ARM call)', () => {
  it('records an error the work throws on its span, marks it failed, throws it on, and ends the span', async () => {
    const spans = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const turn = traceTurns(async () => {
      throw new Error('Teams said no');
    }, provider.getTracer('test'));
    await assert.rejects(turn({ activity: { type: 'invoke', name: 'adaptiveCard/action' } }), /Teams said no/);
    const [span] = spans.getFinishedSpans();
    assert.equal(span?.name, 'activity invoke adaptiveCard/action');
    assert.equal(span?.kind, SpanKind.INTERNAL);
    assert.deepEqual(span?.status, { code: SpanStatusCode.ERROR, message: 'Teams said no' });
    assert.deepEqual(span?.events.map((e) => [e.name, e.attributes?.['exception.message']]), [['exception', 'Teams said no']]);
    await provider.shutdown();
  });
});
