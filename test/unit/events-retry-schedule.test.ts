import { describe, expect, it } from 'vitest';
import {
  attemptsToCover,
  DEFAULT_RETRY_SCHEDULE,
  RETRY_HORIZON_SECONDS,
  retryDelaySeconds,
} from '../../shared/events/retry-schedule';

const totalDelay = (attempts: number, schedule = DEFAULT_RETRY_SCHEDULE) =>
  Array.from({ length: attempts - 1 }, (_, i) => retryDelaySeconds(i + 1, schedule)).reduce(
    (a, b) => a + b,
    0,
  );

describe('webhook retry schedule', () => {
  it('doubles from 30 s and stops growing at 1 h', () => {
    expect([1, 2, 3, 4, 7, 8, 9, 30].map((n) => retryDelaySeconds(n))).toEqual([
      30, 60, 120, 240, 1920, 3600, 3600, 3600,
    ]);
  });

  it('retries for at least 24 hours before the dead-letter queue, and not a whole attempt longer', () => {
    const attempts = attemptsToCover();
    expect(totalDelay(attempts)).toBeGreaterThanOrEqual(RETRY_HORIZON_SECONDS);
    expect(totalDelay(attempts - 1)).toBeLessThan(RETRY_HORIZON_SECONDS);
    expect(attempts).toBeLessThanOrEqual(1000);
  });

  it('shortened for the local runtime, a failed delivery comes back within about 10 s', () => {
    const local = { baseSeconds: 1, maxSeconds: 5 };
    expect(Array.from({ length: 6 }, (_, i) => retryDelaySeconds(i + 1, local))).toEqual([1, 2, 4, 5, 5, 5]);
  });
});
