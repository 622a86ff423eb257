/**
 * Proof of work (the ALTCHA protocol, `altcha-lib`): what makes each sign-up, each purchase in a `challenge` sale
 * and each queue join cost the client measurable work (docs/api.md "Proof of work"; docs/design.md "Scalpers made
 * expensive").
 *
 * - `GET /api/challenge` issues a challenge: PBKDF2/SHA-256 at `CHALLENGE_COST_ITERATIONS` per attempt, in
 *   ALTCHA's deterministic mode — the gateway picks the winning counter uniformly in
 *   [`CHALLENGE_DIFFICULTY`/2, `CHALLENGE_DIFFICULTY`], so a solver makes on average 3/4 × difficulty attempts and
 *   never fewer than half — signed with HMAC (`CHALLENGE_HMAC_KEY`, a secret), expiring after
 *   `CHALLENGE_TTL_SECONDS`. A signed-in shopper's challenge names the shopper (`data.sub`): a purchase or a queue
 *   join accepts only the shopper's own, so one solution cannot be passed around accounts.
 * - A solution comes back in the `X-Altcha` header (base64 of ALTCHA's `{challenge, solution}` payload) and is
 *   verified here with no storage and no key derivation: the challenge's HMAC, then the derived key's HMAC (the
 *   signed `keySignature`), then expiry; then it is spent (spent-challenges.ts, per isolate).
 * - `CHALLENGE = "off"` turns every check off for local load tests; it is honoured only outside production.
 */
import { createChallenge, randomInt, verifySolution, type Challenge, type Solution } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/web/pbkdf2";
import { z } from "zod";
import { ApiError } from "../../lib/contract/errors.ts";
import { DEV_CHALLENGE_HMAC_KEY, isProduction, requireSecret } from "../../lib/server/env.ts";
import type { GatewayContext } from "./context.ts";
import type { GatewayEnv } from "./env.ts";
import { SpentChallenges } from "./spent-challenges.ts";

/** The header a solution travels in. */
export const CHALLENGE_HEADER = "X-Altcha";
/** The key derivation of one attempt. */
export const CHALLENGE_ALGORITHM = "PBKDF2/SHA-256";
/** PBKDF2 iterations per attempt: enough that the hashing, not the loop around it, is the work. */
export const CHALLENGE_COST_ITERATIONS = 100;
/** Default counter ceiling: ~7,500 attempts on average (the solve cost is in docs/design.md). */
export const DEFAULT_CHALLENGE_DIFFICULTY = 10_000;
export const DEFAULT_CHALLENGE_TTL_SECONDS = 300;
/** A header longer than this is not a payload of ours (a real one is ~0.7 KB). */
const MAX_HEADER_CHARS = 4096;

/** Why a request was refused: `details.reason` of `403 CHALLENGE_REQUIRED` (docs/api.md "Proof of work"). */
export type ChallengeFailure = "missing" | "invalid" | "expired" | "spent" | "not_yours";

/** The challenge settings of this Worker, read from its vars. */
export interface ChallengeSettings {
  off: boolean;
  difficulty: number;
  ttlSeconds: number;
}

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
}

/** The settings of `env`; `CHALLENGE = "off"` counts only outside production. */
export function challengeSettings(env: GatewayEnv): ChallengeSettings {
  return {
    off: !isProduction(env) && env.CHALLENGE === "off",
    difficulty: Math.max(2, positiveInt(env.CHALLENGE_DIFFICULTY, DEFAULT_CHALLENGE_DIFFICULTY)),
    ttlSeconds: positiveInt(env.CHALLENGE_TTL_SECONDS, DEFAULT_CHALLENGE_TTL_SECONDS),
  };
}

/** The HMAC key (a secret in production, the documented dev default locally) and the one for derived keys. */
function secrets(env: GatewayEnv): { challenge: string; derivedKey: string } {
  const key = requireSecret(env, env.CHALLENGE_HMAC_KEY, "CHALLENGE_HMAC_KEY", DEV_CHALLENGE_HMAC_KEY);
  return { challenge: `${key}/challenge`, derivedKey: `${key}/derived-key` };
}

/**
 * A new signed challenge for `subject` (a shopper's id, or undefined for an anonymous one, e.g. before sign-up).
 * Costs the gateway one key derivation (one attempt's work) and two HMACs.
 */
export async function issueChallenge(env: GatewayEnv, subject: string | undefined): Promise<Challenge> {
  const settings = challengeSettings(env);
  const { challenge, derivedKey } = secrets(env);
  return createChallenge({
    algorithm: CHALLENGE_ALGORITHM,
    cost: CHALLENGE_COST_ITERATIONS,
    counter: randomInt(settings.difficulty, Math.floor(settings.difficulty / 2)),
    deriveKey,
    expiresAt: Math.floor(Date.now() / 1000) + settings.ttlSeconds,
    hmacSignatureSecret: challenge,
    hmacKeySignatureSecret: derivedKey,
    ...(subject ? { data: { sub: subject } } : {}),
  });
}

/** ALTCHA's v2 payload, as far as this gateway's challenges go (anything else is `invalid`). */
const payloadSchema = z.object({
  challenge: z.object({
    parameters: z
      .object({
        algorithm: z.literal(CHALLENGE_ALGORITHM),
        nonce: z.string().max(128),
        salt: z.string().max(128),
        cost: z.literal(CHALLENGE_COST_ITERATIONS),
        keyLength: z.number().int(),
        keyPrefix: z.string().max(128),
        keySignature: z.string().max(256),
        expiresAt: z.number(),
        data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
      })
      .passthrough(),
    signature: z.string().max(256),
  }),
  solution: z.object({ counter: z.number(), derivedKey: z.string().max(256), time: z.number().optional() }),
});

function decodePayload(header: string): z.infer<typeof payloadSchema> | null {
  if (header.length > MAX_HEADER_CHARS) return null;
  try {
    const parsed = payloadSchema.safeParse(JSON.parse(atob(header.trim())));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** This isolate's spent challenges (spent-challenges.ts). */
let spent = new SpentChallenges();

/** Tests start from an isolate that has spent nothing. */
export function resetSpentChallenges(): void {
  spent = new SpentChallenges();
}

/**
 * Checks the solution in `header`: null when it is good and now spent, else why not. `subject`, when given, must
 * be the shopper the challenge was issued to. Pure computation and memory: no storage, no call.
 */
export async function checkSolution(
  env: GatewayEnv,
  header: string | undefined,
  subject?: string,
): Promise<ChallengeFailure | null> {
  if (header === undefined || header.trim() === "") return "missing";
  const payload = decodePayload(header);
  if (!payload) return "invalid";
  const { challenge, derivedKey } = secrets(env);
  let result;
  try {
    result = await verifySolution({
      challenge: payload.challenge as Challenge,
      solution: payload.solution as Solution,
      deriveKey,
      hmacSignatureSecret: challenge,
      hmacKeySignatureSecret: derivedKey,
    });
  } catch {
    return "invalid";
  }
  if (result.expired) return "expired";
  if (!result.verified) return "invalid";
  if (subject !== undefined && payload.challenge.parameters.data?.sub !== subject) return "not_yours";
  const expiresAtMs = payload.challenge.parameters.expiresAt * 1000;
  return spent.spend(payload.challenge.signature, expiresAtMs) ? null : "spent";
}

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
