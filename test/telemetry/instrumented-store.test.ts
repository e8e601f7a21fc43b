/**
 * The store as telemetry wraps it keeps every promise of the store contract: the wrapper times and
 * counts, and passes on everything it is given (the break-glass limit of an insert among it).
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { instrumentStore } from '../../src/telemetry/instrument-store';
import { CountersignMetrics } from '../../src/telemetry/metrics';
import { MemoryStore } from '../support/memory-store';
import { storeContract, type StoreHarness } from '../store/store-contract';

storeContract('in memory, through the telemetry wrapper', async () => {
  const metrics = new CountersignMetrics(new MeterProvider().getMeter('test'));
  let inner = new MemoryStore();
  const harness: StoreHarness = {
    store: instrumentStore(inner, metrics),
    async reopen() {
      await inner.close();
      inner = inner.reopen();
      harness.store = instrumentStore(inner, metrics);
      return harness.store;
    },
    async cleanup() {
      await inner.close();
    },
  };
  return harness;
});
