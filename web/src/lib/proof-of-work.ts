/**
 * The solver of the proof of work (docs/api.md "Proof of work"): altcha-lib's `solveChallenge` on the browser's
 * WebCrypto (PBKDF2/SHA-256), as the gateway verifies it.
 *
 * Loaded only when a shopper needs it (a dynamic import in ./challenge.ts): altcha-lib and this
 * module are a chunk of their own that imports nothing of the app's, so the storefront's first load carries none of it.
 */
import { solveChallenge, type Challenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/web/pbkdf2";

/** What one solve took: the header to send, and the work (PBKDF2 attempts) and time it cost. */
export interface Proof {
  header: string;
  attempts: number;
  ms: number;
}

/**
 * Solves `challenge` (as `GET /api/challenge` answered it). Throws an `AbortError` when `signal` aborts, or an
 * Error when the solver gives up (its own 90 s timeout).
 */
export async function solveProofOfWork(challenge: Challenge, signal?: AbortSignal): Promise<Proof> {
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
