/**
 * A V8 CPU profile of one phase of a child (the load, not the start-up), written where
 * BENCH_PROFILE_DIR says: how the causes of a missed target are found.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector';

let session: Session | undefined;

function post(method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) => session!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
}

export async function startProfile(): Promise<void> {
  if (!process.env.BENCH_PROFILE_DIR || session) return;
  session = new Session();
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
}

export async function stopProfile(name: string): Promise<string | undefined> {
  if (!session) return undefined;
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  session.disconnect();
  session = undefined;
  const file = path.join(process.env.BENCH_PROFILE_DIR!, `${name}-${process.pid}.cpuprofile`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(profile));
  return file;
}
