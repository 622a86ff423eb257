/**
 * Draw sales and pre-registration (docs/api.md "Draw" and "Registration"; docs/design.md "Draws and
 * registration"): the shapes every side shares, the rank key, the entry routing, and the k-way merge of the
 * entry shards' ranked lists. The rank key is computed with Web Crypto (crypto.subtle), the same code in the
 * Workers and in the browser's "verify this draw" page: `DRAW_ALGORITHM` is sha256hex(seed + ":" + userId) over
 * UTF-8, ascending.
 */

export const DRAW_ALGORITHM = "sha256-rank-v1";

export const ENTRY_STATES = ["entered", "won", "waitlisted", "lost"] as const;
export type EntryState = (typeof ENTRY_STATES)[number];

/** `Entry` of docs/api.md. */
export interface Entry {
  saleId: string;
  userId: string;
  state: EntryState;
  orderId?: string;
  waitlistPosition?: number;
}

/** `GET /api/sales/:id/draw`: the commitment before the draw, everything needed to recompute it after. */
export type PublicDraw =
  | { commitment: string }
  | {
      commitment: string;
      seed: string;
      algorithm: typeof DRAW_ALGORITHM;
      entries: string[];
      winners: string[];
      waitlist: string[];
    };

export interface Registration {
  saleId: string;
  userId: string;
  createdAt: string;
}

/** Lower-case hex SHA-256 of the UTF-8 text. */
export async function sha256hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const bytes = new Uint8Array(digest);
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += bytes[i].toString(16).padStart(2, "0");
  return hex;
}

/** The rank key of docs/api.md "Draw": sha256hex(seed + ":" + userId). */
export function rankKey(seed: string, userId: string): Promise<string> {
  return sha256hex(`${seed}:${userId}`);
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const W = new Uint32Array(64);
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const utf8 = new TextEncoder();

/**
 * SHA-256 (FIPS 180-4) of the UTF-8 text, synchronously, in lower-case hex. The draw hashes every entry: at
 * 200,000 entries one Web Crypto call (a promise) per entry cost most of the draw's time, while a short message is
 * one or two blocks of plain arithmetic. The tests check it against Web Crypto (`sha256hex`), which the verify
 * page and every recomputation use: two independent implementations of the one algorithm.
 */
export function sha256hexSync(text: string): string {
  const bytes = utf8.encode(text);
  const bitLength = bytes.length * 8;
  const blocks = Math.ceil((bytes.length + 9) / 64);
  const padded = new Uint8Array(blocks * 64);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLength / 0x100000000));
  view.setUint32(padded.length - 4, bitLength >>> 0);
  let h0 = 0x6a09e667,
    h1 = 0xbb67ae85,
    h2 = 0x3c6ef372,
    h3 = 0xa54ff53a;
  let h4 = 0x510e527f,
    h5 = 0x9b05688c,
    h6 = 0x1f83d9ab,
    h7 = 0x5be0cd19;
  for (let block = 0; block < blocks; block++) {
    for (let i = 0; i < 16; i++) W[i] = view.getUint32(block * 64 + i * 4);
    for (let i = 16; i < 64; i++) {
      const w15 = W[i - 15];
      const w2 = W[i - 2];
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let a = h0,
      b = h1,
      c = h2,
      d = h3,
      e = h4,
      f = h5,
      g = h6,
      h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[i] + W[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  let hex = "";
  for (const word of [h0, h1, h2, h3, h4, h5, h6, h7]) {
    hex += HEX[(word >>> 24) & 0xff] + HEX[(word >>> 16) & 0xff] + HEX[(word >>> 8) & 0xff] + HEX[word & 0xff];
  }
  return hex;
}

/** `rankKey`, synchronously (`sha256hexSync`): what the entry shards rank with. */
export function rankKeySync(seed: string, userId: string): string {
  return sha256hexSync(`${seed}:${userId}`);
}

/** Where a draw is: entries open, the draw's steps (each resumable after a restart), done. */
export const DRAW_PHASES = ["open", "ranking", "merging", "allocating", "drawn"] as const;
export type DrawPhase = (typeof DRAW_PHASES)[number];

/** What merchants see of a draw (admin `GET /admin/api/sales/:id/draw`). */
export interface DrawStats {
  phase: DrawPhase;
  drawAt: string;
  commitment: string;
  entryShards: number;
  /** Entries taken so far (before the draw: the shards' counts; after: the ranked total). */
  entries: number;
  /** Ranks 1..`awarded` hold a unit (an order); the first `stock` are the draw's winners, the rest promoted. */
  awarded: number;
  winners: number;
  waitlisted: number;
  promoted: number;
  /** How long the draw took, from its alarm to the last winner's order (null before it ends). */
  drawMs: number | null;
  drawnAt: string | null;
  /** The latest promotions (newest first, at most 50): whose unit passed to whom. */
  promotions: { rank: number; userId: string; orderId: string; at: string }[];
}

/** One ranked entry of a draw: `rankKey` = sha256hex(seed + ":" + userId). */
export interface RankedEntry {
  rankKey: string;
  userId: string;
}

/** Entry shards of a draw sale when the sale has no shards of its own (docs/design.md "Draws and registration"). */
export const DEFAULT_ENTRY_SHARDS = 8;

/**
 * A shopper's home shard: FNV-1a of the user id, modulo the shard count. Stable (a shopper always lands on
 * the same shard, so entering twice finds the first entry) and spread evenly over random UUIDs.
 */
export function homeShard(userId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** Orders ranked entries: rank key ascending, user id on a (practically impossible) tie. */
export function compareRanked(a: RankedEntry, b: RankedEntry): number {
  if (a.rankKey !== b.rankKey) return a.rankKey < b.rankKey ? -1 : 1;
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}

/** A sorted stream read a page at a time: the page after `after` (null: from the start), at most `limit` long. */
export type RankedPageSource = (after: RankedEntry | null, limit: number) => Promise<RankedEntry[]>;

/**
 * k-way merge of sorted streams, a page at a time: each source is read in pages of `pageSize` only when its
 * buffered page runs out, and a binary heap of the sources' heads gives the next entry in O(log k). Memory is
 * k pages whatever the total, so a draw over 200,000 entries never holds them all, and the merge can stop after
 * any `take` and resume later from `cursors()` (the last entry taken from each source).
 */
export class RankedMerge {
  private readonly buffers: RankedEntry[][];
  private readonly positions: number[];
  private readonly exhausted: boolean[];
  private readonly lastTaken: (RankedEntry | null)[];
  /** Source indexes ordered by their head entry (a binary min-heap). */
  private heap: number[] = [];
  private started = false;

  constructor(
    private readonly sources: RankedPageSource[],
    cursors: (RankedEntry | null)[] = sources.map(() => null),
    private readonly pageSize = 2_000,
  ) {
    if (cursors.length !== sources.length) throw new Error("one cursor per source");
    this.buffers = sources.map(() => []);
    this.positions = sources.map(() => 0);
    this.exhausted = sources.map(() => false);
    this.lastTaken = [...cursors];
  }

  /** The last entry taken from each source: where a later merge resumes. */
  cursors(): (RankedEntry | null)[] {
    return [...this.lastTaken];
  }

  /** The next entries in global rank order, at most `limit`; fewer only when every source is exhausted. */
  async take(limit: number): Promise<{ entry: RankedEntry; source: number }[]> {
    if (!this.started) {
      this.started = true;
      await Promise.all(this.sources.map((_, i) => this.refill(i)));
      this.heap = this.sources.map((_, i) => i).filter((i) => this.head(i) !== undefined);
      for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
    }
    const out: { entry: RankedEntry; source: number }[] = [];
    while (out.length < limit && this.heap.length > 0) {
      const source = this.heap[0];
      const entry = this.buffers[source][this.positions[source]++];
      // The invariant of a merge: what comes out is in order (a source that breaks its order is a bug).
      const previous = out.length > 0 ? out[out.length - 1].entry : null;
      if (previous && compareRanked(previous, entry) > 0) throw new Error("ranked source out of order");
      out.push({ entry, source });
      this.lastTaken[source] = entry;
      if (this.head(source) === undefined) await this.refill(source);
      if (this.head(source) === undefined) {
        // The source is done: the heap's last index takes its place at the root (source sits at index 0).
        const last = this.heap.pop()!;
        if (this.heap.length > 0) this.heap[0] = last;
      }
      if (this.heap.length > 0) this.siftDown(0);
    }
    return out;
  }

  private head(source: number): RankedEntry | undefined {
    return this.buffers[source][this.positions[source]];
  }

  private async refill(source: number): Promise<void> {
    if (this.exhausted[source]) return;
    const page = await this.sources[source](this.lastTaken[source], this.pageSize);
    this.buffers[source] = page;
    this.positions[source] = 0;
    // A short page is the source's last one: it is not asked again.
    if (page.length < this.pageSize) this.exhausted[source] = true;
  }

  private less(a: number, b: number): boolean {
    return compareRanked(this.head(a)!, this.head(b)!) < 0;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
