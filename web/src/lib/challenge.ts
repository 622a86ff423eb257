/**
 * The storefront's side of the proof of work (docs/api.md "Proof of work"), small enough for the first load:
 * the header name, how to tell a `CHALLENGE_REQUIRED` refusal, and `proveWork`, which loads the solver
 * (./proof-of-work.ts, altcha-lib) the first time it is needed.
 */
import { ApiFailure } from "./api.ts";

/** The request header a solution travels in. */
export const CHALLENGE_HEADER = "X-Altcha";

/** Whether `err` is the server asking for (another) solved challenge. */
export function needsChallenge(err: unknown): err is ApiFailure {
  return err instanceof ApiFailure && err.code === "CHALLENGE_REQUIRED";
}

/**
 * Solves one challenge and returns the `X-Altcha` header value. The solver's chunk is fetched on first use.
 *
 * @example
 * const proof = await proveWork(signal);
 * await purchase(sale.id, 1, key, signal, proof);
 */
export async function proveWork(signal?: AbortSignal): Promise<string> {
  const { solveProofOfWork } = await import("./proof-of-work.ts");
  return (await solveProofOfWork(signal)).header;
}
