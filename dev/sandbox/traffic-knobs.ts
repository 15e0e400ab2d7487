import { SeededRandom } from './seeded-random';

// Misbehaviour on demand for the verify endpoints, so tests and benchmarks can see how a backend
// copes with a slow, failing, rate-limited or silent Attesto. Draws use their own seeded PRNG, so a
// given seed fails the same requests every run.

export interface HangKnob {
  /** How many verify requests hang; null = every one until cleared. */
  remaining: number | null;
  /** Answer after this long; null = never answer (the connection stays open until the caller gives up). */
  afterMs: number | null;
}

export interface SandboxKnobs {
  latencyMs: number;
  /** Probability in [0, 1] that a verify answers 502 APPLE_API_ERROR / GOOGLE_API_ERROR. */
  errorRate: number;
  /** The next N verify requests answer 429 RATE_LIMITED. */
  burst429: number;
  retryAfterSeconds: number;
  hang: HangKnob | null;
}

export type KnobsUpdate = Partial<SandboxKnobs>;

export interface SandboxStats {
  verify: { apple: number; google: number; total: number };
  /** Verify answers by HTTP status. */
  byStatus: Record<string, number>;
  /** Verify answers by outcome: `valid`, a domain error code, or an error envelope code. */
  byOutcome: Record<string, number>;
  webhooks: { sent: number; delivered: number; failed: number };
  since: string;
}

export function validateKnobs(update: KnobsUpdate): string[] {
  const problems: string[] = [];
  const nonNegativeInt = (name: string, v: unknown) => {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0))
      problems.push(`${name} must be a non-negative integer`);
  };
  nonNegativeInt('latencyMs', update.latencyMs);
  nonNegativeInt('burst429', update.burst429);
  nonNegativeInt('retryAfterSeconds', update.retryAfterSeconds);
  if (
    update.errorRate !== undefined &&
    !(typeof update.errorRate === 'number' && update.errorRate >= 0 && update.errorRate <= 1)
  ) {
    problems.push('errorRate must be a number between 0 and 1');
  }
  if (update.hang) {
    nonNegativeInt('hang.remaining', update.hang.remaining ?? undefined);
    nonNegativeInt('hang.afterMs', update.hang.afterMs ?? undefined);
  }
  return problems;
}

export class TrafficKnobs {
  private current: SandboxKnobs;
  private readonly random: SeededRandom;
  private counters: SandboxStats;

  constructor(initial: KnobsUpdate, seed: number) {
    this.current = { latencyMs: 0, errorRate: 0, burst429: 0, retryAfterSeconds: 1, hang: null, ...initial };
    this.random = new SeededRandom(seed ^ 0x5eed);
    this.counters = emptyStats();
  }

  get knobs(): SandboxKnobs {
    return structuredClone(this.current);
  }

  update(update: KnobsUpdate): SandboxKnobs {
    const problems = validateKnobs(update);
    if (problems.length > 0) throw new RangeError(problems.join('; '));
    this.current = { ...this.current, ...update };
    return this.knobs;
  }

  /** Consumes one hang, if any is armed. */
  takeHang(): HangKnob | null {
    const hang = this.current.hang;
    if (!hang) return null;
    if (hang.remaining !== null) {
      if (hang.remaining <= 0) {
        this.current.hang = null;
        return null;
      }
      hang.remaining -= 1;
      if (hang.remaining === 0) this.current.hang = null;
    }
    return { ...hang };
  }

  /** Consumes one 429 of the burst; returns Retry-After seconds, or null when no burst is left. */
  take429(): number | null {
    if (this.current.burst429 <= 0) return null;
    this.current.burst429 -= 1;
    return this.current.retryAfterSeconds;
  }

  rollUpstreamError(): boolean {
    return this.current.errorRate > 0 && this.random.next() < this.current.errorRate;
  }

  countVerify(platform: 'apple' | 'google'): void {
    this.counters.verify[platform] += 1;
    this.counters.verify.total += 1;
  }

  countAnswer(status: number, outcome: string): void {
    this.counters.byStatus[status] = (this.counters.byStatus[status] ?? 0) + 1;
    this.counters.byOutcome[outcome] = (this.counters.byOutcome[outcome] ?? 0) + 1;
  }

  countDelivery(delivered: boolean): void {
    this.counters.webhooks.sent += 1;
    if (delivered) this.counters.webhooks.delivered += 1;
    else this.counters.webhooks.failed += 1;
  }

  get stats(): SandboxStats {
    return structuredClone(this.counters);
  }

  resetStats(): void {
    this.counters = emptyStats();
  }
}

function emptyStats(): SandboxStats {
  return {
    verify: { apple: 0, google: 0, total: 0 },
    byStatus: {},
    byOutcome: {},
    webhooks: { sent: 0, delivered: 0, failed: 0 },
    since: new Date().toISOString(),
  };
}
