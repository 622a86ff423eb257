/**
 * The proof of work a `challenge` sale's purchase and (in production) a sign-up cost (docs/api.md "Proof of
 * work"): fetch a challenge from `GET /api/challenge` (the signed-in shopper's own, by the session cookie), solve
 * it with altcha-lib's solver on the browser's WebCrypto, and return the `X-Altcha` header value.
 *
 * Loaded only when a shopper needs it (`import("./proof-of-work.ts")` from ./challenge.ts): altcha-lib and this
 * module are a chunk of their own, so the storefront's first load does not carry them.
 */
import { solveChallenge, type Challenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/web/pbkdf2";
import { apiRequest } from "./api.ts";

/** What one solve took: the header to send, and the work (PBKDF2 attempts) and time it cost. */
export interface Proof {
  header: string;
  attempts: number;
  ms: number;
}

/**
 * Fetches and solves one challenge. Throws the `ApiFailure` of the challenge request, an `AbortError` when
 * `signal` aborts, or an Error when the solver gives up (its own 90 s timeout).
 */
export async function solveProofOfWork(signal?: AbortSignal): Promise<Proof> {
  const { data: challenge } = await apiRequest<Challenge>("/api/challenge", { signal });
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const solution = await solveChallenge({ challenge, deriveKey, controller });
    if (signal?.aborted) throw new DOMException("aborted", "AbortError");
    if (!solution) throw new Error("The check took too long");
    return {
      header: btoa(JSON.stringify({ challenge, solution })),
      attempts: solution.counter + 1,
      ms: solution.time ?? 0,
    };
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
