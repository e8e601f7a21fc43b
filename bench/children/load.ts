/**
 * The load generator against a bot's /api/messages, every request a distinct activity (a distinct
 * card click, or a distinct message). Two ways: closed-loop at saturation (autocannon, `connections`
 * kept busy), and, given `rate`, open-loop (openLoop below): requests leave on a fixed schedule
 * whatever the answers, and latency counts from the scheduled send time, so queueing in the bot is
 * not hidden by a generator that waits for answers before sending more. Latency is taken per response
 * with sub-millisecond resolution; a warm-up run first lets the JIT and the caches settle.
 */
import fs from 'node:fs';
import http from 'node:http';
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
  /** Open-loop: requests a second, sent on schedule (`connections` is then unused). */
  rate?: number;
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
  /** Open-loop runs: the offered rate (requests a second). */
  offered?: number;
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

  const run = (seconds: number) => (spec.rate ? openLoop(spec.url, spec.rate, seconds, body, expected) : once(seconds));
  if (spec.warmupSeconds > 0) await run(spec.warmupSeconds);
  const measured = await run(spec.seconds);
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
    ...(spec.rate ? { offered: spec.rate } : {}),
  };
}

/**
 * Sends `rate` requests a second for `seconds`, each at its scheduled time (start + i / rate) over
 * keep-alive connections opened as needed; a request's latency runs from its scheduled time to the
 * end of its answer. Resolves when every request has been answered (or failed, after 10 s).
 */
function openLoop(url: string, rate: number, seconds: number, body: () => string, expected: string | undefined): Promise<{ latencies: number[]; bad: number; elapsed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2048 });
  const target = new URL('/api/messages', url);
  const interval = 1000 / rate;
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  let bad = 0;
  let done = 0;
  let sent = 0;
  const start = performance.now();
  return new Promise((resolve) => {
    const answered = (latency: number | undefined) => {
      if (latency === undefined) bad++;
      else latencies.push(latency);
      if (++done === total) {
        agent.destroy();
        resolve({ latencies, bad, elapsed: (performance.now() - start) / 1000 });
      }
    };
    const send = (scheduled: number) => {
      const payload = body();
      let settled = false;
      const settle = (latency: number | undefined) => {
        if (settled) return;
        settled = true;
        answered(latency);
      };
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, timeout: 10_000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const good = status >= 200 && status <= 299 && (!expected || Buffer.concat(chunks).toString().includes(expected));
            settle(good ? performance.now() - scheduled : undefined);
          });
          res.on('error', () => settle(undefined));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', () => settle(undefined));
      req.end(payload);
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) send(start + sent++ * interval);
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    tick();
  });
}

serve({ run: (m) => run(m as LoadSpec) });
process.send?.({ type: 'ready' });
