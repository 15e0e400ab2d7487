// The restore's bounded worker pool with a deadline. Bounded, to respect Attesto's per-tenant
// rate limit; a deadline, because the SDK re-sends the whole batch when its attempt times out, so
// a late answer is worse than a partial one.

export interface PoolLimits<R> {
  concurrency: number;
  /** Epoch ms: items not started by then are answered `late` without running. */
  deadline: number;
  /** Past the deadline, work already under way gets this long to land before the pool returns. */
  landingMs: number;
  now: () => number;
  late: R;
}

/**
 * Runs `work` over the items, at most `concurrency` at a time, and returns the results that are
 * in by the deadline plus the landing time, in the order they finished. Work still running then
 * is not waited for: whatever it returns later is not part of the results.
 */
export async function runUntilDeadline<T, R>(
  items: readonly T[],
  limits: PoolLimits<R>,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      if (limits.now() >= limits.deadline) {
        results.push(limits.late);
        continue;
      }
      results.push(await work(item));
    }
  };
  const workers = Array.from({ length: Math.min(limits.concurrency, items.length) }, worker);
  let timer: NodeJS.Timeout | undefined;
  const landing = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.max(0, limits.deadline + limits.landingMs - limits.now()));
  });
  await Promise.race([Promise.all(workers), landing]);
  clearTimeout(timer);
  // Copied now: whatever lands after this is not part of the results.
  return [...results];
}
