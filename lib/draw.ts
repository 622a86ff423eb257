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
