/**
 * One span per call Countersign makes to Azure Resource Manager (what-if, execute, resume, snapshot,
 * cancel, query), named for the operation kind. The SDK's own HTTP calls, when the Azure Monitor
 * distro instruments them, appear beneath it.
 */
import { SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import type { AzureGateway } from '../app/ports';
import type { ExecutionOutcome } from '../domain/operation';
import { inSpan } from './in-span';

function traced<T>(tracer: Tracer, method: string, kind: string, sandbox: boolean, work: () => Promise<T>, describe?: (result: T, span: Span) => void): Promise<T> {
  return inSpan(tracer, `ARM ${method} ${kind}`, { kind: SpanKind.CLIENT, attributes: { 'countersign.arm.method': method, 'countersign.operation.kind': kind, 'countersign.sandbox': sandbox } }, async (span) => {
    const result = await work();
    describe?.(result, span);
    return result;
  });
}

function outcome(result: ExecutionOutcome, span: Span): void {
  span.setAttribute('countersign.execution.outcome', result.status);
  if (result.status !== 'succeeded') {
    span.setAttribute('countersign.arm.error_code', result.error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${result.error.code}: ${result.error.message}` });
  }
}

export function traceAzure(azure: AzureGateway, tracer: Tracer): AzureGateway {
  const sandbox = azure.sandbox;
  return {
    sandbox,
    whatIf: (op) => traced(tracer, 'whatIf', op.kind, sandbox, () => azure.whatIf(op)),
    execute: (op, hooks) => traced(tracer, 'execute', op.kind, sandbox, () => azure.execute(op, hooks), outcome),
    resume: (op, ref, hooks) => traced(tracer, 'resume', op.kind, sandbox, () => azure.resume(op, ref, hooks), outcome),
    snapshot: (op) => traced(tracer, 'snapshot', op.kind, sandbox, () => azure.snapshot(op)),
    cancel: (op) => traced(tracer, 'cancel', op.kind, sandbox, () => azure.cancel(op)),
    query: (op) => traced(tracer, 'query', op.kind, sandbox, () => azure.query(op)),
  };
}
