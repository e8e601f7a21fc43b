/**
 * Production telemetry: the Azure Monitor OpenTelemetry distro, sending to the Application Insights
 * resource named by the connection string (APPLICATIONINSIGHTS_CONNECTION_STRING, read by src/settings/azure.ts).
 * Loaded only when telemetry is on: the distro takes a second or two to load.
 */
import fs from 'node:fs';
import path from 'node:path';
import { metrics, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { Telemetry } from '../telemetry/index';

/** package.json's version; the file is two levels up from src/telemetry and from dist/telemetry alike. */
function serviceVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function startAzureMonitor(connectionString: string): Telemetry {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const distro = require('@azure/monitor-opentelemetry') as typeof import('@azure/monitor-opentelemetry');
  distro.useAzureMonitor({
    azureMonitorExporterOptions: { connectionString },
    // service.name becomes Application Insights' cloud role name.
    resource: resourceFromAttributes({ 'service.name': 'countersign', 'service.version': serviceVersion() }),
    // Incoming requests and turns are traced explicitly (src/http/trace-requests.ts): the distro's HTTP
    // instrumentation would have to load before restify does, and would count them twice. Its Azure
    // SDK instrumentation stays on, so ARM's HTTP calls appear beneath Countersign's ARM spans.
    instrumentationOptions: {
      http: { enabled: false },
      azureSdk: { enabled: true },
      mongoDb: { enabled: false },
      mySql: { enabled: false },
      redis: { enabled: false },
      redis4: { enabled: false },
      bunyan: { enabled: false },
      winston: { enabled: false },
    },
    enableLiveMetrics: false,
    // Every trace is sent. The distro's default keeps about five traces a second, adapting within a
    // tenth of a second: the spans of one approval (its click, then each ARM call of the execution)
    // come in a burst, and most were dropped. Countersign's traffic is small; OTEL_TRACES_SAMPLER and
    // OTEL_TRACES_SAMPLER_ARG, which the distro reads, still choose another sampler.
    tracesPerSecond: 0,
    samplingRatio: 1,
  });
  return new Telemetry({ meterProvider: metrics.getMeterProvider(), tracerProvider: trace.getTracerProvider(), shutdown: () => distro.shutdownAzureMonitor() });
}
