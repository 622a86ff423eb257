/**
 * The sale's buyers as a Bloom filter, published by the SaleItem object with its sold-out/ended verdict so
 * the edge can keep the replay promise (docs/api.md: a retry with the Idempotency-Key of an accepted purchase
 * gets its 202 again, sold out, ended or not) without giving up the cheap "no" (docs/design.md, "The edge's
 * sold-out verdict carries the buyers"). `has` never answers false for a shopper who holds an order; a false
 * positive only sends that attempt on to the object, which answers it as before.
 *
 * Bounds: 12 bits per expected buyer (about 0.3 % false positives with 8 hashes at that load), at least 1 KiB
 * and at most 128 KiB of bits, whatever the stock: past ~87,000 buyers the rate of false positives grows,
 * which costs calls to the object, never a wrong answer.
 */
const MIN_BYTES = 1024;
const MAX_BYTES = 128 * 1024;
const BITS_PER_BUYER = 12;
const HASHES = 8;

/** FNV-1a over the string's UTF-16 code units, with a second seed for double hashing. */
function fnv(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h >>> 0;
}

export class BuyersFilter {
  private constructor(private readonly bits: Uint8Array) {}

  /** A filter sized for about `expectedBuyers` shoppers. */
  static sized(expectedBuyers: number): BuyersFilter {
    const bytes = Math.min(MAX_BYTES, Math.max(MIN_BYTES, Math.ceil((expectedBuyers * BITS_PER_BUYER) / 8)));
    return new BuyersFilter(new Uint8Array(bytes));
  }

  /** Reads what `serialize` wrote; null for anything else (the edge then lets attempts through). */
  static parse(text: string): BuyersFilter | null {
    try {
      const binary = atob(text);
      if (binary.length < MIN_BYTES || binary.length > MAX_BYTES) return null;
      const bits = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bits[i] = binary.charCodeAt(i);
      return new BuyersFilter(bits);
    } catch {
      return null;
    }
  }

  add(userId: string): void {
    const m = this.bits.length * 8;
    const h1 = fnv(userId, 2166136261);
    const h2 = fnv(userId, 0x9747b28c) | 1;
    for (let i = 0; i < HASHES; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) % m;
      this.bits[bit >>> 3] |= 1 << (bit & 7);
    }
  }

  has(userId: string): boolean {
    const m = this.bits.length * 8;
    const h1 = fnv(userId, 2166136261);
    const h2 = fnv(userId, 0x9747b28c) | 1;
    for (let i = 0; i < HASHES; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) % m;
      if ((this.bits[bit >>> 3] & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }

  serialize(): string {
    let binary = "";
    for (let i = 0; i < this.bits.length; i += 8192) binary += String.fromCharCode(...this.bits.subarray(i, i + 8192));
    return btoa(binary);
  }
}

/** What the object publishes: the filter and its version (the number of buyers it holds; it only grows). */
export interface PublishedBuyers {
  version: number;
  filter: string;
}
