/** The longest the event loop went without running a 10 ms timer while `work` ran. */
export async function longestStall<T>(work: Promise<T>): Promise<{ value: PromiseSettledResult<T>; stallMs: number }> {
  let last = Date.now();
  let stallMs = 0;
  const ticker = setInterval(() => {
    const now = Date.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 10);
  const [value] = await Promise.allSettled([work]);
  clearInterval(ticker);
  // The gap since the last tick counts too (a stall at the very start may leave no tick before the end).
  return { value, stallMs: Math.max(stallMs, Date.now() - last) };
}
