/**
 * The queue's fair draw (docs/design.md "The sale queue"): a Fisher-Yates shuffle driven by a source of random
 * 32-bit words. With a uniform source every permutation is equally likely: each index is drawn by rejection
 * sampling (no modulo bias). The Workers use `cryptoWords` (Web Crypto); tests pass a seeded source.
 */

/** Fills a buffer with random 32-bit words. */
export type WordSource = (buffer: Uint32Array) => void;

/** Web Crypto's generator (getRandomValues takes at most 65,536 bytes at a time: 16,384 words). */
export const cryptoWords: WordSource = (buffer) => {
  for (let i = 0; i < buffer.length; i += 16_384) crypto.getRandomValues(buffer.subarray(i, i + 16_384));
};

/** Draws uniform integers in [0, bound) from a word source, a batch of words at a time. */
export class RandomIntegers {
  private readonly words = new Uint32Array(4096);
  private next = this.words.length;

  constructor(private readonly source: WordSource) {}

  private word(): number {
    if (this.next === this.words.length) {
      this.source(this.words);
      this.next = 0;
    }
    return this.words[this.next++];
  }

  /** Uniform in [0, bound), 1 ≤ bound ≤ 2^32: words in the incomplete last block are rejected. */
  below(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > 2 ** 32) throw new RangeError(`bad bound ${bound}`);
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      const w = this.word();
      if (w < limit) return w % bound;
    }
  }
}

/** Shuffles `items` in place, every permutation equally likely for a uniform source; returns `items`. */
export function shuffleInPlace<T>(items: T[], source: WordSource = cryptoWords): T[] {
  const random = new RandomIntegers(source);
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}

/** A seeded word source (SplitMix32-style mixing), for reproducible tests of the shuffle's statistics. */
export function seededWords(seed: number): WordSource {
  let state = seed >>> 0;
  return (buffer) => {
    for (let i = 0; i < buffer.length; i++) {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      buffer[i] = (z ^ (z >>> 16)) >>> 0;
    }
  };
}
