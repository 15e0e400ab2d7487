import { describe, expect, it } from 'vitest';
import { attestoDeadline, requestStartedAt } from '../../shared/purchases/deadlines';

const NOW = 1_795_000_000_000;

describe('request deadlines', () => {
  it('counts from when API Gateway received the request, so a cold start spends the same budget', () => {
    expect(requestStartedAt(NOW - 1_200, NOW)).toBe(NOW - 1_200);
  });

  it('falls back to now for a request time from the future or from long ago (replayed events)', () => {
    expect(requestStartedAt(NOW + 5_000, NOW)).toBe(NOW);
    expect(requestStartedAt(NOW - 60_000, NOW)).toBe(NOW);
  });

  it('leaves Attesto the Lambda time minus what the write and the answer need', () => {
    expect(attestoDeadline({ getRemainingTimeInMillis: () => 10_000 }, NOW)).toBe(NOW + 8_500);
    expect(attestoDeadline({ getRemainingTimeInMillis: () => 1_000 }, NOW)).toBe(NOW);
  });
});
