/**
 * This isolate's copy of the session revocation feed (durable-objects/account-guard.ts, instance `sessions`):
 * revoked session ids and shoppers' "signed out everywhere" times, each until it expires.
 *
 * The contract (docs/api.md "More"): a logged-out cookie is refused at once where the logout was answered — that
 * isolate adds the revocation to its copy before answering — and everywhere within 10 s. Every isolate keeps its
 * copy at most `HARD_STALE_MS` old: past `SOFT_STALE_MS` a request starts a pull in the background, past
 * `HARD_STALE_MS` the request waits for it, and when the feed cannot be read the session is not trusted (503).
 * A cookie revoked at time T is therefore refused everywhere by T + `HARD_STALE_MS` + one pull (< 10 s).
 *
 * Cost on the hot path: two map lookups; one feed read per isolate every few seconds, whatever the traffic.
 * Memory: one entry per logout (and per "sign out everywhere") in the last idle window, dropped at expiry.
 */
import { ApiError } from "../../lib/contract/errors.ts";
import type { GatewayEnv } from "./env.ts";

export const SOFT_STALE_MS = 3_000;
export const HARD_STALE_MS = 7_000;
const PULL_TIMEOUT_MS = 2_000;
/** Pages per pull (2,000 rows each); a gateway further behind than that catches up on the next pull. */
const MAX_PAGES = 20;

export class RevocationCopy {
  /** session id → expiry (ms) */
  private readonly sids = new Map<string, number>();
  /** user id → sessions started before this time (ms) are refused; with its expiry */
  private readonly notBefore = new Map<string, { at: number; expiresAt: number }>();
  private cursor = 0;
  private pulledAt = 0;
  private pulling: Promise<void> | null = null;
  private lastPrune = 0;

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.sids.size + this.notBefore.size;
  }

  /** Whether a session is revoked; pulls the feed first when this copy is too old to answer. */
  async isRevoked(
    env: GatewayEnv,
    ctx: ExecutionContext | undefined,
    sid: string,
    userId: string,
    startedAt: number,
  ): Promise<boolean> {
    const age = this.now() - this.pulledAt;
    if (age >= HARD_STALE_MS) {
      try {
        await this.pull(env);
      } catch (err) {
        console.error(JSON.stringify({ msg: "session feed unavailable", error: String(err) }));
        throw new ApiError("UNAVAILABLE", "Sessions cannot be checked right now, try again shortly", undefined, {
          "Retry-After": "2",
        });
      }
    } else if (age >= SOFT_STALE_MS && !this.pulling) {
      const pull = this.pull(env).catch((err: unknown) =>
        console.error(JSON.stringify({ msg: "session feed pull failed", error: String(err) })),
      );
      ctx?.waitUntil(pull);
    }
    if (this.sids.has(sid)) return true;
    const user = this.notBefore.get(userId);
    return user !== undefined && startedAt < user.at;
  }

  /** A revocation answered by this isolate: refused here at once, before the answer leaves. */
  addSession(sid: string, expiresAt: number): void {
    this.sids.set(sid, expiresAt);
  }

  addUser(userId: string, at: number, expiresAt: number): void {
    const seen = this.notBefore.get(userId);
    if (!seen || seen.at < at) this.notBefore.set(userId, { at, expiresAt });
  }

  private pull(env: GatewayEnv): Promise<void> {
    if (this.pulling) return this.pulling;
    const started = this.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const work = (async () => {
      for (let page = 0; page < MAX_PAGES; page++) {
        const { changes, last, more } = await env.SECKILL.sessionChanges(this.cursor);
        for (const change of changes) {
          if (change.kind === "sid") this.addSession(change.key, change.expiresAt);
          else this.addUser(change.key, change.at, change.expiresAt);
        }
        this.cursor = last;
        if (!more) break;
      }
      this.pulledAt = started;
      this.prune();
    })();
    this.pulling = Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`session feed read timed out after ${PULL_TIMEOUT_MS} ms`)),
          PULL_TIMEOUT_MS,
        );
      }),
    ]).finally(() => {
      if (timer !== undefined) clearTimeout(timer);
      this.pulling = null;
    });
    return this.pulling;
  }

  /** Drops what has expired (at most once a minute: a full pass over the maps). */
  private prune(): void {
    const now = this.now();
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    for (const [sid, until] of this.sids) if (until < now) this.sids.delete(sid);
    for (const [user, v] of this.notBefore) if (v.expiresAt < now) this.notBefore.delete(user);
  }
}

export const revocations = new RevocationCopy();
