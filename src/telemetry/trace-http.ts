/**
 * Traces of what reaches Countersign: one server span per HTTP request (named by its route, never by
 * its path, which may carry an audit download token) and one span per Bot Framework turn, the parent
 * of the ARM calls the turn makes.
 */
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type restify from 'restify';

/** Records a span for every request the server answered (probes included: their latency matters too). */
export function traceHttpRequests(server: restify.Server, tracer: Tracer): void {
  server.on('after', (req: restify.Request, res: restify.Response) => {
    const route = req.getRoute?.()?.path;
    const name = `${req.method} ${typeof route === 'string' ? route : route ? String(route) : '(no route)'}`;
    const span = tracer.startSpan(name, {
      kind: SpanKind.SERVER,
      startTime: req.time(),
      attributes: { 'http.request.method': req.method ?? '', 'http.route': typeof route === 'string' ? route : '', 'http.response.status_code': res.statusCode, 'countersign.request_id': req.getId() },
    });
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
}

export interface TurnActivity {
  activity: { type?: string; name?: string; channelId?: string };
}

/** Wraps a bot's turn handler so each activity runs inside a span of its own. */
export function traceTurns<C extends TurnActivity>(run: (context: C) => Promise<void>, tracer: Tracer): (context: C) => Promise<void> {
  return (context) => {
    const { type = 'unknown', name, channelId } = context.activity;
    return tracer.startActiveSpan(
      `activity ${type}${name ? ` ${name}` : ''}`,
      { kind: SpanKind.INTERNAL, attributes: { 'countersign.activity.type': type, 'countersign.activity.name': name ?? '', 'countersign.activity.channel': channelId ?? '' } },
      async (span) => {
        try {
          await run(context);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: String((err as Error)?.message ?? err) });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  };
}
