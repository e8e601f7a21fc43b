/**
 * With telemetry on, one server span per HTTP request the edge answered (named by its route, never by
 * its path, which may carry an audit download token). The tracer comes from src/telemetry.
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
