/**
 * The discrete-event core of `npm run simulate`: a seeded random source, an event heap, and single-threaded
 * servers (a Durable Object serves one request at a time, first come first served). Nothing here knows about
 * sales; scripts/lib/sim/sale.ts builds the platform model on it.
 */

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Scheduled {
  at: number;
  order: number;
  run: () => void;
}

/** Events ordered by time, then by scheduling order (so equal times run deterministically). */
export class EventLoop {
  now = 0;
  private heap: Scheduled[] = [];
  private counter = 0;
  processed = 0;

  at(time: number, run: () => void): void {
    const item = { at: Math.max(time, this.now), order: this.counter++, run };
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = item;
  }

  after(delay: number, run: () => void): void {
    this.at(this.now + delay, run);
  }

  /** Runs until no event is left, `until` returns true, or the time limit (an explicit bound on the run). */
  run(limitMs: number, until: () => boolean = () => false): void {
    const heap = this.heap;
    while (heap.length > 0) {
      const top = heap[0];
      if (top.at > limitMs) break;
      const last = heap.pop() as Scheduled;
      if (heap.length > 0) {
        let i = 0;
        const n = heap.length;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= n) break;
          const r = l + 1;
          const c = r < n && before(heap[r], heap[l]) ? r : l;
          if (!before(heap[c], last)) break;
          heap[i] = heap[c];
          i = c;
        }
        heap[i] = last;
      }
      this.now = top.at;
      this.processed++;
      top.run();
      if (until()) break;
    }
  }

  get pending(): number {
    return this.heap.length;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

/**
 * A single-threaded server: jobs wait in FIFO order; a job's handler runs when the server takes it (so decisions
 * see the state left by every earlier job), returns its service time, and its `done` runs when that time is over.
 * Over `maxQueue` waiting jobs the platform refuses new ones at once (Durable Objects' "overloaded").
 */
export class Server {
  private queue: { arrived: number; job: () => { serviceMs: number; done?: () => void } }[] = [];
  private head = 0;
  private running = false;
  /** Per-second bins of busy milliseconds, and every queue wait (ms). */
  readonly busyMsPerSecond: number[] = [];
  readonly waits: number[] = [];
  busyMs = 0;
  refused = 0;
  peakQueue = 0;

  private readonly loop: EventLoop;
  private readonly maxQueue: number;

  constructor(loop: EventLoop, maxQueue: number) {
    this.loop = loop;
    this.maxQueue = maxQueue;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Offers a job; false when the platform refuses it (queue full). */
  submit(job: () => { serviceMs: number; done?: () => void }): boolean {
    if (this.queued >= this.maxQueue) {
      this.refused++;
      return false;
    }
    this.queue.push({ arrived: this.loop.now, job });
    this.peakQueue = Math.max(this.peakQueue, this.queued);
    if (!this.running) this.startNext();
    return true;
  }

  private startNext(): void {
    if (this.head >= this.queue.length) {
      this.running = false;
      this.queue = [];
      this.head = 0;
      return;
    }
    this.running = true;
    const { arrived, job } = this.queue[this.head++];
    if (this.head > 4096) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const start = this.loop.now;
    this.waits.push(start - arrived);
    const { serviceMs, done } = job();
    this.recordBusy(start, serviceMs);
    this.loop.after(serviceMs, () => {
      done?.();
      this.startNext();
    });
  }

  private recordBusy(start: number, serviceMs: number): void {
    this.busyMs += serviceMs;
    let t = start;
    let left = serviceMs;
    while (left > 0) {
      const second = Math.floor(t / 1000);
      const room = Math.min(left, (second + 1) * 1000 - t);
      this.busyMsPerSecond[second] = (this.busyMsPerSecond[second] ?? 0) + room;
      t += room;
      left -= room;
    }
  }
}

/** The q-quantile of `values` (sorted copy); 0 for an empty list. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
