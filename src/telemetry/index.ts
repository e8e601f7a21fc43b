/**
 * Telemetry, an adapter at the edge: the composition root wraps the store, the Azure gateway, the bot's
 * turns and the HTTP server with it when it is on. Nothing inside domain/ or app/ knows it exists.
 * Built over OpenTelemetry providers: Azure Monitor's in production (src/azure/monitor-telemetry.ts), in-memory
 * exporters in tests.
 */
import { type MeterProvider, type TracerProvider, type Tracer } from '@opentelemetry/api';
import type { AzureGateway, Store } from '../app/ports';
import { instrumentStore } from './instrument-store';
import { CountersignMetrics } from './metrics';
import { traceAzure } from './trace-azure';
import { traceTurns, type TurnActivity } from './trace-turns';

export { METRIC } from './metrics';

export interface TelemetryProviders {
  meterProvider: MeterProvider;
  tracerProvider: TracerProvider;
  /** Flushes what is buffered and stops exporting. */
  shutdown?(): Promise<void>;
}

const SCOPE = 'countersign';

export class Telemetry {
  readonly metrics: CountersignMetrics;
  private readonly tracer: Tracer;

  constructor(private readonly providers: TelemetryProviders) {
    this.metrics = new CountersignMetrics(providers.meterProvider.getMeter(SCOPE));
    this.tracer = providers.tracerProvider.getTracer(SCOPE);
  }

  store<S extends Store>(store: S): S {
    return instrumentStore(store, this.metrics);
  }

  azure(azure: AzureGateway): AzureGateway {
    return traceAzure(azure, this.tracer);
  }

  turns<C extends TurnActivity>(run: (context: C) => Promise<void>): (context: C) => Promise<void> {
    return traceTurns(run, this.tracer);
  }

  /** For the HTTP edge: it traces each request it answers with this tracer. */
  get requestTracer(): Tracer {
    return this.tracer;
  }

  /** For the Teams notifier's rate limiter: a proactive send had to wait `waitMs` for room. */
  readonly sendThrottled = (_conversationId: string, waitMs: number): void => this.metrics.sendThrottled(waitMs);

  async shutdown(): Promise<void> {
    await this.providers.shutdown?.();
  }
}
