/** Running work inside an active span of its own, as every span Countersign starts around work does. */
import { SpanStatusCode, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';

/** Runs `work` in an active span named `name`: an error it throws is recorded on the span and thrown on; the span ends either way. */
export function inSpan<T>(tracer: Tracer, name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: String((err as Error)?.message ?? err) });
      throw err;
    } finally {
      span.end();
    }
  });
}
