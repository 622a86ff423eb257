/**
 * The storefront's side of the proof of work (docs/api.md "Proof of work"), small enough for the first load:
 * the header name, how to tell a `CHALLENGE_REQUIRED` refusal, and `proveWork`, which loads the solver
 * (./proof-of-work.ts, altcha-lib) the first time it is needed.
 */
import type { Challenge } from "altcha-lib";
import { ApiFailure, apiRequest } from "./api.ts";

/** The request header a solution travels in. */
export const CHALLENGE_HEADER = "X-Altcha";

/** Whether `err` is the server asking for (another) solved challenge. */
export function needsChallenge(err: unknown): err is ApiFailure {
  return err instanceof ApiFailure && err.code === "CHALLENGE_REQUIRED";
}

/**
 * Fetches a challenge, solves it and returns the `X-Altcha` header value. The solver's chunk is fetched on first
 * use. Throws the challenge request's `ApiFailure`, an `AbortError`, or an Error when the solver gives up.
 *
 * @example
 * const proof = await proveWork(signal);
 * await purchase(sale.id, 1, key, signal, proof);
 */
export async function proveWork(signal?: AbortSignal): Promise<string> {
  // The challenge (the signed-in shopper's own, by the session cookie) and the solver's chunk, at once.
  const [{ data: challenge }, { solveProofOfWork }] = await Promise.all([
    apiRequest<Challenge>("/api/challenge", { signal }),
    import("./proof-of-work.ts"),
  ]);
  return (await solveProofOfWork(challenge, signal)).header;
}
