// A small seeded PRNG (mulberry32). The sandbox world draws every identifier from one of these so a
// given seed replays the same purchases; its state is a single number and persists with the world.

export class SeededRandom {
  private state: number;

  constructor(seedOrState: number) {
    this.state = seedOrState >>> 0;
  }

  /** The current state, to persist and later resume with `new SeededRandom(state)`. */
  get position(): number {
    return this.state;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chars(alphabet: string, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }
}
