/**
 * A wall clock a test steps, as NTP or an operator does: Date.now jumps while timers and the
 * monotonic clock (performance.now) run on, as `faketime` with FAKETIME_DONT_FAKE_MONOTONIC does to
 * a whole process. Installed before the code under test starts (code that kept a reference to
 * Date.now sees the steps too); `restore()` puts the real one back.
 */
export function steppableWallClock(): { step(ms: number): void; restore(): void } {
  const real = Date.now;
  let offset = 0;
  Date.now = () => real() + offset;
  return {
    step(ms) {
      offset += ms;
    },
    restore() {
      Date.now = real;
    },
  };
}
