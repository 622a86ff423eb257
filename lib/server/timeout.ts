/**
 * The one timeout race of the Workers: a promise, or a rejection after `ms`. Used wherever a call may hang
 * longer than its caller can wait (postgres.js on a dead server despite `connect_timeout`, an RPC to a
 * Worker that does not answer). The timer is always cleared, so a settled race leaves nothing pending.
 *
 * @example
 * await withTimeout(c.env.SECKILL.ping(), 1_500, "seckill"); // rejects "seckill timed out after 1500 ms"
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, rejectPromise) => {
      timer = setTimeout(() => rejectPromise(new TimeoutError(what, ms)), ms);
    }),
  ]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/** What `withTimeout` rejects with: the caller can tell a timeout from the call's own failure. */
export class TimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} timed out after ${ms} ms`);
    this.name = "TimeoutError";
  }
}
