/**
 * The load generator: autocannon against a bot's /api/messages, every request a distinct activity
 * (a distinct card click, or a distinct message). Latency is taken per response with sub-millisecond
 * resolution; a warm-up run first lets the JIT and the caches settle.
 */
import fs from 'node:fs';
import autocannon from 'autocannon';
import { serve, type Message } from '../lib/proc';
import { clickActivity, messageActivity, type ClickTarget } from '../lib/activities';

export interface LoadSpec extends Message {
  url: string;
  connectorUrl: string;
  kind: 'approve' | 'message';
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** For clicks: a JSON file holding ClickTarget[] (each used once). */
  poolFile?: string;
}

export interface LoadResult extends Message {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** Responses that were not 2xx, or not the expected answer, plus socket errors and timeouts. */
  bad: number;
  /** Pool entries used (warm-up included). */
  used: number;
  /** Answers by latency: how many took at most each bound (ms); the last bucket is everything slower. */
  histogram: Record<string, number>;
}

const BOUNDS = [10, 25, 50, 100, 250, 500, 1000, 2000];

function histogram(sorted: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  let i = 0;
  for (const bound of BOUNDS) {
    let n = 0;
    while (i < sorted.length && sorted[i] <= bound) {
      i++;
      n++;
    }
    out[`<=${bound}`] = n;
  }
  out[`>${BOUNDS[BOUNDS.length - 1]}`] = sorted.length - i;
  return out;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const pool: ClickTarget[] = spec.poolFile ? (JSON.parse(fs.readFileSync(spec.poolFile, 'utf8')) as ClickTarget[]) : [];
  let next = 0;
  const body = (): string => {
    const i = next++;
    if (spec.kind === 'message') return JSON.stringify(messageActivity(spec.connectorUrl, i));
    if (i >= pool.length) throw new Error(`the pool of ${pool.length} pending requests ran out: make it larger`);
    return JSON.stringify(clickActivity(spec.connectorUrl, pool[i], i));
  };
  const expected = spec.kind === 'approve' ? 'application/vnd.microsoft.card.adaptive' : undefined;

  const once = (seconds: number) =>
    new Promise<{ latencies: number[]; bad: number; elapsed: number }>((resolve, reject) => {
      const latencies: number[] = [];
      let bad = 0;
      const started = process.hrtime.bigint();
      const instance = autocannon(
        {
          url: spec.url,
          connections: spec.connections,
          duration: seconds,
          timeout: 10,
          requests: [
            {
              method: 'POST',
              path: '/api/messages',
              headers: { 'content-type': 'application/json' },
              setupRequest: (req) => ({ ...req, body: body() }),
              onResponse: (status, responseBody) => {
                if (status < 200 || status > 299 || (expected && !responseBody.includes(expected))) bad++;
              },
            },
          ],
        },
        (err, result) => {
          if (err) return reject(err);
          bad += result.errors + result.timeouts;
          resolve({ latencies, bad, elapsed: Number(process.hrtime.bigint() - started) / 1e9 });
        },
      );
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      });
    });

  if (spec.warmupSeconds > 0) await once(spec.warmupSeconds);
  const measured = await once(spec.seconds);
  const sorted = Float64Array.from(measured.latencies).sort();
  return {
    type: 'result',
    requests: sorted.length,
    seconds: measured.elapsed,
    rps: sorted.length / spec.seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    bad: measured.bad,
    used: next,
    histogram: histogram(sorted),
  };
}

serve({ run: (m) => run(m as LoadSpec) });
process.send?.({ type: 'ready' });
