/**
 * The gateway's proof-of-work guard (docs/api.md "Proof of work"): the `X-Altcha` header checked by
 * lib/server/pow.ts (no storage, single use per isolate, expiring), and its `403 CHALLENGE_REQUIRED`.
 */
import { ApiError } from "../../lib/contract/errors.ts";
import { challengeSettings, checkSolution, type ChallengeFailure } from "../../lib/server/pow.ts";
import type { GatewayContext } from "./context.ts";

/** The header a solution travels in: base64 of ALTCHA's `{challenge, solution}` payload. */
export const CHALLENGE_HEADER = "X-Altcha";

const FAILURE_MESSAGES: Record<ChallengeFailure, string> = {
  missing: "Solve a proof-of-work challenge first (GET /api/challenge)",
  invalid: "The proof-of-work solution is not valid",
  expired: "The proof-of-work challenge has expired: solve a new one",
  spent: "That proof-of-work solution was used already: solve a new one",
  not_yours: "That proof-of-work challenge was issued to another shopper",
};

/** `403 CHALLENGE_REQUIRED` with `details.reason` (docs/api.md "Proof of work"). */
export function challengeError(reason: ChallengeFailure): ApiError {
  return new ApiError("CHALLENGE_REQUIRED", FAILURE_MESSAGES[reason], { reason });
}

/**
 * The guard for any route that must cost the client a solved challenge: returns when the request carries a good,
 * unspent solution in `X-Altcha` (and spends it), or when challenges are off (`CHALLENGE = "off"`, locally
 * only); else throws `403 CHALLENGE_REQUIRED`. Pass the signed-in shopper's id as `subject` where there is one:
 * only a challenge issued to that shopper is accepted.
 *
 * @example
 * // the queue's join route, for a sale with `challenge: true`
 * const user = await requireUser(c);
 * if (sale.challenge) await requireChallenge(c, { subject: user.id });
 */
export async function requireChallenge(c: GatewayContext, options: { subject?: string } = {}): Promise<void> {
  if (challengeSettings(c.env).off) return;
  const failure = await checkSolution(c.env, c.req.header(CHALLENGE_HEADER), options.subject);
  if (failure) throw challengeError(failure);
}
