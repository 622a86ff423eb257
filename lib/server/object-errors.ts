/**
 * The flags the runtime puts on a failed Durable Object call (`.overloaded`, `.retryable`), read in one place.
 */

/** A Durable Object call that failed because the object is overloaded: answer 503, never retry (it adds load). */
export function isOverloaded(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { overloaded?: boolean }).overloaded === true;
}

/** A Durable Object call that the runtime says may be repeated (safe only when the call is idempotent). */
export function isRetryable(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { retryable?: boolean }).retryable === true;
}
