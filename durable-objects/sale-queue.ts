/**
 * SaleQueue: the queue in front of one queue sale (docs/api.md "Queue"; docs/design.md "The sale queue").
 *
 * What it promises (Q1–Q6, enforced here and in sale-queue/store.ts):
 * - Q1 one ticket per shopper: joining again returns the same ticket (unique index on the shopper).
 * - Q2 fair start: the tickets taken before `startsAt` are put in a uniformly random order (crypto-random
 *   Fisher-Yates, lib/server/shuffle.ts) exactly once — by the alarm at `startsAt`, or by the first call after it,
 *   whichever comes first — in one transaction with the `shuffled` flag, so a restart never shuffles again.
 * - Q3 after the start, tickets queue in arrival order, behind every pre-start ticket.
 * - Q4 admission follows the order: ranks are admitted from a cursor, so positions are `rank − cursor + 1`.
 * - Q5 stock-aware: admitted-but-unused tickets never exceed the stock left (as last read from the sale's
 *   object); admissions expire after the window and their place goes back to the pace of admission.
 * - Q6 an object never initialised writes nothing: unknown sale ids cost nothing.
 *
 * `sold_out` is derived, not stored: a waiting ticket reads `sold_out` while the sale's stock left is 0, and
 * `waiting` again when stock comes back — so stock that returns goes to the first tickets in queue order, and
 * nobody waits for nothing.
 *
 * Live updates: shoppers' WebSockets are accepted with hibernation (`fetch`); each tick that changes anything
 * pushes every socket its ticket, computed from the meta row and the rank the socket remembers (no query per
 * socket while the ticket is waiting).
 */
import { DurableObject } from "cloudflare:workers";
import { reject, type Rejection } from "../lib/contract/errors.ts";
import {
  MIN_ADMISSION_WINDOW_SECONDS,
  clampRefresh,
  type QueueStats,
  type QueueUpdate,
  type Ticket,
  type TicketState,
} from "../lib/contract/queue.ts";
import type { Sale } from "../lib/contract/schemas.ts";
import type { StubOf } from "../lib/server/env.ts";
import { shuffleInPlace, type WordSource, cryptoWords } from "../lib/server/shuffle.ts";
import type { ObjectEnv } from "./env.ts";
import type { SaleItem } from "./sale-item.ts";
import { AdmissionBucket, RateMeter, admissionsNow } from "./sale-queue/admission.ts";
import {
  admitRanks,
  assignRanks,
  createQueue,
  expireAdmissions,
  insertTicket,
  markPurchased,
  readMeta,
  saveMeta,
  ticketOf,
  unrankedSeqs,
  type QueueConfig,
  type QueueMeta,
  type TicketRow,
} from "./sale-queue/store.ts";

export type { QueueConfig } from "./sale-queue/store.ts";

/** How often the queue admits, expires and pushes while it has work. */
export const TICK_MS = 500;
/** While sold out with nothing admitted: returned stock reaches the queue within this. */
export const SOLD_OUT_TICK_MS = 2_000;
/** A waiting shopper's moved position is pushed at most this often (state changes go at once). */
export const POSITION_PUSH_MS = 2_000;
/** Sockets one queue object holds; beyond it the shopper polls (docs/design.md "Live updates"). */
export const MAX_SOCKETS = 20_000;
const DEFAULT_ADMIT_PER_SECOND = 200;
const DEFAULT_WINDOW_MS = 60_000;

/** The queue reaches its sale's object (both hosted by the seckill Worker) for the stock left. */
interface QueueEnv extends ObjectEnv {
  SALE_ITEM: DurableObjectNamespace<SaleItem>;
}

/** What a socket remembers of its shopper's ticket, so a push needs no query while the ticket waits. */
interface SocketNote {
  userId: string;
  rank: number | null;
  state: TicketRow["state"] | null;
  admittedUntil: number | null;
}

export type GateResult = { ok: true } | Rejection;

export class SaleQueue extends DurableObject<QueueEnv> {
  /** Overridable clock and randomness, so tests can move time and seed the shuffle. */
  clock: () => number = Date.now;
  words: WordSource = cryptoWords;

  private meta: QueueMeta | null = null;
  private bucket: AdmissionBucket | null = null;
  private readonly rate = new RateMeter();
  /** Changes since the last push (nothing is pushed on a tick that changed nothing). */
  private changed = true;
  /** What each socket was last sent, and when (memory only: after hibernation every socket is sent afresh). */
  private readonly sent = new WeakMap<WebSocket, { key: string; at: number }>();

  constructor(ctx: DurableObjectState, env: QueueEnv) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.meta = readMeta(ctx.storage.sql);
    });
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  // ---------------------------------------------------------------- merchant side

  /** Creates the queue of a new queue sale (its first write); a second call with the same sale changes nothing. */
  async initialize(
    config: Omit<QueueConfig, "admissionWindowMs" | "admitPerSecond"> &
      Partial<Pick<QueueConfig, "admissionWindowMs" | "admitPerSecond">>,
    stock: number,
  ): Promise<void> {
    if (this.meta) {
      if (this.meta.config.saleId !== config.saleId) throw new Error("object already holds another queue");
      return;
    }
    const full: QueueConfig = {
      saleId: config.saleId,
      startsAt: config.startsAt,
      endsAt: config.endsAt,
      admissionWindowMs: Math.max(MIN_ADMISSION_WINDOW_SECONDS * 1000, config.admissionWindowMs ?? DEFAULT_WINDOW_MS),
      admitPerSecond: Math.max(1, config.admitPerSecond ?? DEFAULT_ADMIT_PER_SECOND),
    };
    this.meta = createQueue(this.ctx.storage, full, stock);
    await this.ctx.storage.setAlarm(full.startsAt);
  }

  /** The sale's times changed (a merchant's edit before the start, or an early end): the queue follows. */
  async configure(times: { startsAt?: number; endsAt?: number }): Promise<void> {
    const m = this.meta;
    if (!m) return;
    if (times.startsAt !== undefined && !m.shuffled) m.config.startsAt = times.startsAt;
    if (times.endsAt !== undefined) m.config.endsAt = times.endsAt;
    saveMeta(this.sql, m);
    this.changed = true;
    await this.ctx.storage.setAlarm(Math.max(this.clock(), Math.min(m.config.startsAt, m.config.endsAt)));
  }

  /**
   * Forgets everything (the sale was deleted): memory first, so a late join, purchase or tick finds no queue and
   * writes nothing, then the sockets, the alarm and every row. The object is as one never initialised (its tables
   * are made by `initialize` only, store.ts); destroying it again changes nothing.
   */
  async destroy(): Promise<void> {
    this.meta = null;
    for (const ws of this.ctx.getWebSockets()) ws.close(1001, "sale deleted");
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  /** Figures for merchants (admin stats, /metrics, dashboard); null for an unknown queue. */
  stats(): QueueStats | null {
    const m = this.meta;
    if (!m) return null;
    const used = m.purchased + m.expired;
    return {
      waiting: this.waitingCount(m),
      admitted: m.admitted,
      purchased: m.purchased,
      expired: m.expired,
      joined: m.joined,
      abandonRate: used === 0 ? 0 : m.expired / used,
      admitRatePerSecond: Math.round(this.rate.perSecond() * 10) / 10,
    };
  }

  // ---------------------------------------------------------------- shopper side

  /** Joins (Q1: once per shopper). A new ticket after the end is refused; an existing one is returned. */
  join(userId: string): { ok: true; ticket: Ticket } | Rejection {
    const m = this.meta;
    if (!m) return reject("NOT_FOUND", "No such sale");
    const now = this.clock();
    this.ensureShuffled(now);
    let row = ticketOf(this.sql, userId);
    if (!row) {
      if (now >= m.config.endsAt) return reject("ENDED", "The sale has ended");
      const rank = m.shuffled ? m.maxRank + 1 : null;
      this.ctx.storage.transactionSync(() => {
        row = insertTicket(this.sql, userId, rank);
        m.joined++;
        if (rank !== null) m.maxRank = rank;
        saveMeta(this.sql, m);
      });
      this.changed = true;
      this.armTick(now);
    }
    return { ok: true, ticket: this.toTicket(row!, now) };
  }

  /** The shopper's ticket, or null when they have not joined (or the queue is unknown). */
  ticket(userId: string): Ticket | null {
    if (!this.meta) return null;
    const now = this.clock();
    this.ensureShuffled(now);
    const row = ticketOf(this.sql, userId);
    return row ? this.toTicket(row, now) : null;
  }

  /**
   * The purchase's check (docs/api.md: `403 NOT_ADMITTED`): before the start NOT_STARTED, after the end ENDED,
   * else the shopper needs an admitted ticket whose window has not passed (or a used one: see below).
   */
  gate(userId: string): GateResult {
    const m = this.meta;
    if (!m) return reject("NOT_FOUND", "No such sale");
    const now = this.clock();
    if (now < m.config.startsAt) {
      return reject("NOT_STARTED", "The sale has not started", {
        startsAt: new Date(m.config.startsAt).toISOString(),
        secondsToStart: Math.ceil((m.config.startsAt - now) / 1000),
      });
    }
    if (now >= m.config.endsAt) return reject("ENDED", "The sale has ended");
    const row = ticketOf(this.sql, userId);
    if (row?.state === "admitted" && row.admitted_until !== null && row.admitted_until > now) return { ok: true };
    // A used ticket goes on too: the sale's object answers a retry of its purchase (the same order, by its
    // Idempotency-Key) or ALREADY_PURCHASED — it gives nobody a second order, so this admits no one new.
    if (row?.state === "purchased") return { ok: true };
    return reject("NOT_ADMITTED", "Join the queue and wait for your turn to buy", {
      queue: true,
      state: row ? this.toTicket(row, now).state : null,
    });
  }

  /** The shopper's purchase was accepted (after its 202): the ticket is `purchased`. Idempotent. */
  purchased(userId: string, orderId: string, saleRemaining?: number): void {
    const m = this.meta;
    if (!m) return;
    this.ctx.storage.transactionSync(() => {
      const was = markPurchased(this.sql, userId, orderId);
      if (was === "admitted") m.admitted--;
      if (was === "expired") m.expired--;
      if (was === "admitted" || was === "expired") m.purchased++;
      if (saleRemaining !== undefined) m.remaining = saleRemaining;
      saveMeta(this.sql, m);
    });
    this.changed = true;
  }

  // ---------------------------------------------------------------- the tick

  /** Admits, expires and pushes; re-arms itself while there is work (or waits for the start). */
  async alarm(): Promise<void> {
    const m = this.meta;
    if (!m) return;
    let now = this.clock();
    if (now < m.config.startsAt) {
      await this.ctx.storage.setAlarm(m.config.startsAt);
      return;
    }
    this.ensureShuffled(now);
    const sale = await this.readSale();
    if (this.meta !== m) return; // destroyed (the sale was deleted) while its object was asked
    now = this.clock();
    this.step(now, sale);
    this.push(now);
    const next = this.nextTick(now);
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  /**
   * One step of the queue at `now` with the sale as its object says (null: unchanged): expire, then admit (Q5).
   * Synchronous, so it is atomic with respect to joins, gates and purchases.
   */
  step(now: number, sale: Pick<Sale, "remaining" | "endsAt"> | null): void {
    const m = this.meta;
    if (!m || !m.shuffled) return;
    this.ctx.storage.transactionSync(() => {
      if (sale) {
        if (sale.remaining !== m.remaining) this.changed = true;
        m.remaining = sale.remaining;
        const endsAt = Date.parse(sale.endsAt);
        if (endsAt < m.config.endsAt) m.config.endsAt = endsAt;
      }
      const expired = expireAdmissions(this.sql, now);
      m.admitted -= expired;
      m.expired += expired;
      let admit = 0;
      if (now < m.config.endsAt) {
        const bucket = (this.bucket ??= new AdmissionBucket(m.config.admitPerSecond));
        admit = admissionsNow({
          tokens: bucket.available(now),
          waiting: this.waitingCount(m),
          remaining: m.remaining,
          admitted: m.admitted,
        });
        if (admit > 0) {
          const done = admitRanks(this.sql, m.nextRank, m.nextRank + admit, now, now + m.config.admissionWindowMs);
          if (done !== admit) throw new Error(`Q4 broken: ${done} of ${admit} ranks from ${m.nextRank} were waiting`);
          bucket.spend(admit);
          m.nextRank += admit;
          m.admitted += admit;
        }
      }
      if (expired > 0 || admit > 0) {
        saveMeta(this.sql, m);
        this.changed = true;
      } else if (sale) saveMeta(this.sql, m);
    });
    this.rate.record(now, m.admitted + m.purchased + m.expired);
  }

  // ---------------------------------------------------------------- live updates (WebSockets, hibernation)

  /** `GET …/queue/live` from the gateway (header `X-Queue-User`: the signed-in shopper). */
  async fetch(request: Request): Promise<Response> {
    const userId = request.headers.get("X-Queue-User");
    if (!this.meta || !userId) return new Response("not found", { status: 404 });
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket")
      return new Response("expected a WebSocket upgrade", { status: 426 });
    if (this.ctx.getWebSockets().length >= MAX_SOCKETS)
      return new Response("too many live connections: poll instead", { status: 503, headers: { "Retry-After": "5" } });
    const pair = new WebSocketPair();
    const [client, server] = Object.values(pair);
    this.ctx.acceptWebSocket(server);
    const note: SocketNote = { userId, rank: null, state: null, admittedUntil: null };
    this.refreshNote(note);
    server.serializeAttachment(note);
    server.send(JSON.stringify(this.update(note, this.clock())));
    this.armTick(this.clock());
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Any message asks for the current update at once (the client's "are you there"). */
  async webSocketMessage(ws: WebSocket): Promise<void> {
    const note = ws.deserializeAttachment() as SocketNote;
    this.refreshNote(note);
    ws.serializeAttachment(note);
    ws.send(JSON.stringify(this.update(note, this.clock())));
  }

  async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // 1005, 1006 and 1015 only report what happened; they may not be sent back.
    try {
      ws.close([1005, 1006, 1015].includes(code) ? 1000 : code, "bye");
    } catch {
      // Already closed.
    }
  }

  /**
   * Pushes every socket its update, when something changed since the last push: at once when the socket's ticket
   * state or the sale's status changed (an admission, a sell-out), else a moved position at most every
   * `POSITION_PUSH_MS` — what a waiting shopper needs, for a quarter of the sends.
   */
  private push(now: number): void {
    if (!this.changed) return;
    this.changed = false;
    const m = this.meta!;
    for (const ws of this.ctx.getWebSockets()) {
      const note = ws.deserializeAttachment() as SocketNote | null;
      if (!note) continue;
      // Read again: a waiting ticket whose rank the cursor has passed (or one without a rank yet, or no ticket),
      // and an admitted one (it may have been used or run out; admitted tickets are at most the stock left).
      const stale =
        note.state === null ||
        note.state === "admitted" ||
        (note.state === "waiting" && (note.rank === null ? m.shuffled : note.rank < m.nextRank));
      if (stale) {
        this.refreshNote(note);
        ws.serializeAttachment(note);
      }
      const update = this.update(note, now);
      const key = `${update.ticket?.state ?? "none"}|${update.status}`;
      const last = this.sent.get(ws);
      if (last && last.key === key && now - last.at < POSITION_PUSH_MS) {
        this.changed = true; // a position still to tell on a later tick
        continue;
      }
      this.sent.set(ws, { key, at: now });
      try {
        ws.send(JSON.stringify(update));
      } catch {
        // A socket that closed meanwhile: nothing to tell it.
      }
    }
  }

  private refreshNote(note: SocketNote): void {
    const row = ticketOf(this.sql, note.userId);
    note.rank = row?.rank ?? null;
    note.state = row?.state ?? null;
    note.admittedUntil = row?.admitted_until ?? null;
  }

  private update(note: SocketNote, now: number): QueueUpdate {
    const m = this.meta!;
    const row: TicketRow | null =
      note.state === null
        ? null
        : { seq: 0, user_id: note.userId, rank: note.rank, state: note.state, admitted_until: note.admittedUntil };
    return {
      type: "update",
      serverTime: new Date(now).toISOString(),
      remaining: m.remaining,
      status: this.saleStatus(now),
      ticket: row ? this.toTicket(row, now) : null,
    };
  }

  // ---------------------------------------------------------------- internals

  /** Q2: the one shuffle of the pre-start tickets, at or after the start; a no-op once done. */
  private ensureShuffled(now: number): void {
    const m = this.meta;
    if (!m || m.shuffled || now < m.config.startsAt) return;
    this.ctx.storage.transactionSync(() => {
      const seqs = shuffleInPlace(unrankedSeqs(this.sql), this.words);
      assignRanks(this.sql, seqs, 1);
      m.shuffled = true;
      m.nextRank = 1;
      m.maxRank = seqs.length;
      saveMeta(this.sql, m);
    });
    this.changed = true;
  }

  private waitingCount(m: QueueMeta): number {
    return m.shuffled ? m.maxRank - m.nextRank + 1 : m.joined;
  }

  private saleStatus(now: number): QueueUpdate["status"] {
    const m = this.meta!;
    if (now >= m.config.endsAt) return "ended";
    if (now < m.config.startsAt) return "scheduled";
    return m.remaining <= 0 ? "sold_out" : "live";
  }

  private toTicket(row: TicketRow, now: number): Ticket {
    const m = this.meta!;
    const c = m.config;
    const saleId = c.saleId;
    const queueNumber = m.shuffled && row.rank !== null ? row.rank : null;
    const ended = now >= c.endsAt;
    if (row.state === "purchased")
      return { saleId, state: "purchased", position: 0, queueNumber, estimatedWaitSeconds: 0, refreshAfterSeconds: 30 };
    if (row.state === "expired" || (row.state === "admitted" && ((row.admitted_until ?? 0) <= now || ended))) {
      return { saleId, state: "expired", position: 0, queueNumber, estimatedWaitSeconds: 0, refreshAfterSeconds: 30 };
    }
    if (row.state === "admitted") {
      const until = row.admitted_until!;
      return {
        saleId,
        state: "admitted",
        position: 0,
        queueNumber,
        estimatedWaitSeconds: 0,
        refreshAfterSeconds: clampRefresh(Math.min(10, (until - now) / 1000 / 2)),
        admittedUntil: new Date(until).toISOString(),
      };
    }
    // Waiting (stored): before the start it has no place yet; after the end it is over.
    if (!m.shuffled || row.rank === null) {
      const toStart = Math.max(0, (c.startsAt - now) / 1000);
      return {
        saleId,
        state: ended ? "expired" : "waiting",
        position: null,
        queueNumber: null,
        estimatedWaitSeconds: Math.ceil(toStart),
        refreshAfterSeconds: clampRefresh(toStart / 2),
      };
    }
    if (ended)
      return { saleId, state: "expired", position: 0, queueNumber, estimatedWaitSeconds: 0, refreshAfterSeconds: 30 };
    const position = row.rank - m.nextRank + 1;
    const state: TicketState = m.remaining <= 0 ? "sold_out" : "waiting";
    if (state === "sold_out") {
      return { saleId, state, position: 0, queueNumber, estimatedWaitSeconds: 0, refreshAfterSeconds: 5 };
    }
    const wait = this.estimateSeconds(position, m);
    return {
      saleId,
      state,
      position,
      queueNumber,
      estimatedWaitSeconds: wait,
      refreshAfterSeconds: clampRefresh(Math.min(10, wait / 4)),
    };
  }

  /**
   * An honest estimate for a waiting position: while stock is free to admit, the capacity-limited pace; when the
   * admitted tickets hold all the stock left, the measured rate (returns included), else one admission window
   * (the longest until an unused admission gives its place back).
   */
  private estimateSeconds(position: number, m: QueueMeta): number {
    const free = m.remaining - m.admitted;
    if (free >= position) return Math.ceil(position / m.config.admitPerSecond);
    const measured = this.rate.perSecond();
    if (measured > 0) return Math.ceil(position / measured);
    return Math.ceil(m.config.admissionWindowMs / 1000);
  }

  /** The stock left and the times, from the sale's object (the system of record); null if it cannot answer. */
  private async readSale(): Promise<Sale | null> {
    const m = this.meta!;
    try {
      const stub = this.env.SALE_ITEM.get(
        this.env.SALE_ITEM.idFromName(m.config.saleId),
      ) as unknown as StubOf<SaleItem>;
      return (await stub.getSale()) as Sale | null;
    } catch (err) {
      console.error(JSON.stringify({ msg: "queue: sale unreadable", saleId: m.config.saleId, error: String(err) }));
      return null;
    }
  }

  /** The next tick: soon while started and not ended with anyone waiting, admitted or listening; else none. */
  private nextTick(now: number): number | null {
    const m = this.meta;
    if (!m) return null;
    const c = m.config;
    if (now < c.startsAt) return c.startsAt;
    if (now < c.endsAt && (this.waitingCount(m) > 0 || m.admitted > 0 || this.ctx.getWebSockets().length > 0))
      // Sold out with nobody admitted, only a return can change anything: the stock is read less often.
      return now + (m.remaining <= 0 && m.admitted === 0 ? SOLD_OUT_TICK_MS : TICK_MS);
    // Ended: admissions still run out (the merchant's counts), then the queue sleeps for good.
    return m.admitted > 0 ? now + TICK_MS : null;
  }

  /** Arms the next tick unless an earlier one is armed already. */
  private armTick(now: number): void {
    const at = this.nextTick(now);
    if (at === null) return;
    void this.ctx.storage.getAlarm().then((current) => {
      // Destroyed while the alarm was read (the sale was deleted): no alarm for a queue that is gone.
      if (!this.meta) return;
      if (current === null || current > at) return this.ctx.storage.setAlarm(at);
    });
  }
}
