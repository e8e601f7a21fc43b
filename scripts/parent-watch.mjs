/**
 * Preloaded (`node --import`) into the Agents Playground that `npm run local` starts: ends it when
 * `npm run local` is gone, also when that died without a chance to stop it (`kill -9`, an out-of-memory
 * kill), which would otherwise leave it serving on its port. Linux's PR_SET_PDEATHSIG is not reachable
 * from Node; instead the parent hands this child one end of a pipe as file descriptor 3 and never
 * writes to it: the kernel closes the parent's end when the parent ends, however it ends, and this
 * end then reads end-of-file. Plain JavaScript, so the Playground's node loads it without tsx.
 */
import net from 'node:net';

let watch;
try {
  watch = new net.Socket({ fd: 3, readable: true, writable: false });
} catch {
  // No descriptor 3 (started some other way): nothing to watch.
}
if (watch) {
  let gone = false;
  const parentGone = () => {
    if (gone) return;
    gone = true;
    // As a graceful stop of `npm run local` would (SIGTERM), then sure.
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), 3000).unref();
  };
  watch.on('end', parentGone);
  watch.on('close', parentGone);
  watch.on('error', parentGone);
  watch.resume();
  // The watch never keeps the Playground alive by itself.
  watch.unref();
}
