/**
 * A V8 profile of one phase of a child (the load, not the start-up), written where
 * BENCH_PROFILE_DIR says: how the causes of a missed target are found.
 *
 * - By default a CPU profile (`<name>-<pid>.cpuprofile`).
 * - With BENCH_PROFILE_HEAP=promoted, a sampling heap profile of the objects that outlived a
 *   scavenge (promoted, then freed by a full GC, or still live): what makes the young-generation
 *   collections long. With BENCH_PROFILE_HEAP=live, of the objects still live when it stops.
 *   (`<name>-<pid>.heapprofile`, readable in Chrome DevTools' Memory tab.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector';

let session: Session | undefined;
const heap = process.env.BENCH_PROFILE_HEAP === 'promoted' || process.env.BENCH_PROFILE_HEAP === 'live';

function post(method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) => session!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
}

export async function startProfile(): Promise<void> {
  if (!process.env.BENCH_PROFILE_DIR || session) return;
  session = new Session();
  session.connect();
  if (heap) {
    await post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: process.env.BENCH_PROFILE_HEAP === 'promoted', includeObjectsCollectedByMinorGC: false });
    return;
  }
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
}

export async function stopProfile(name: string): Promise<string | undefined> {
  if (!session) return undefined;
  const { profile } = (await post(heap ? 'HeapProfiler.stopSampling' : 'Profiler.stop')) as { profile: unknown };
  session.disconnect();
  session = undefined;
  const file = path.join(process.env.BENCH_PROFILE_DIR!, `${name}-${process.pid}.${heap ? 'heapprofile' : 'cpuprofile'}`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(profile));
  return file;
}
