/**
 * Proof of work (the ALTCHA protocol, `altcha-lib`), the part without HTTP: issuing and checking challenges. The
 * gateway's routes use it through workers/gateway/challenge.ts (`requireChallenge`). What makes each sign-up, each purchase in a `challenge` sale
 * and each queue join cost the client measurable work (docs/api.md "Proof of work"; docs/design.md "Scalpers made
 * expensive").
 *
 * - `GET /api/challenge` issues a challenge: PBKDF2/SHA-256 at `CHALLENGE_COST_ITERATIONS` per attempt, in
 *   ALTCHA's deterministic mode — the gateway picks the winning counter uniformly in
 *   [`CHALLENGE_DIFFICULTY`/2, `CHALLENGE_DIFFICULTY`], so a solver makes on average 3/4 × difficulty attempts and
 *   never fewer than half — signed with HMAC (`CHALLENGE_HMAC_KEY`, a secret), expiring after
 *   `CHALLENGE_TTL_SECONDS`. A signed-in shopper's challenge names the shopper (`data.sub`): a purchase or a queue
 *   join accepts only the shopper's own, so one solution cannot be passed around accounts.
 * - A solution comes back (workers/gateway/challenge.ts) in the `X-Altcha` header (base64 of ALTCHA's `{challenge, solution}` payload) and is
 *   verified here with no storage and no key derivation: the challenge's HMAC, then the derived key's HMAC (the
 *   signed `keySignature`), then expiry; then it is spent (spent-challenges.ts, per isolate).
 * - `CHALLENGE = "off"` turns every check off for local load tests; it is honoured only outside production.
 */
import { createChallenge, randomInt, verifySolution, type Challenge, type Solution } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/web/pbkdf2";
import { z } from "zod";
import { DEV_CHALLENGE_HMAC_KEY, isProduction, requireSecret, type CommonEnv } from "./env.ts";
import { SpentChallenges } from "./spent-challenges.ts";

/** The Worker vars and secret the challenges read (the gateway's, workers/gateway/env.ts). */
export interface ChallengeEnv extends CommonEnv {
  CHALLENGE_HMAC_KEY?: string;
  CHALLENGE_DIFFICULTY?: string;
  CHALLENGE_TTL_SECONDS?: string;
  CHALLENGE?: string;
}

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
export function challengeSettings(env: ChallengeEnv): ChallengeSettings {
  return {
    off: !isProduction(env) && env.CHALLENGE === "off",
    difficulty: Math.max(2, positiveInt(env.CHALLENGE_DIFFICULTY, DEFAULT_CHALLENGE_DIFFICULTY)),
    ttlSeconds: positiveInt(env.CHALLENGE_TTL_SECONDS, DEFAULT_CHALLENGE_TTL_SECONDS),
  };
}

/** The HMAC key (a secret in production, the documented dev default locally) and the one for derived keys. */
function secrets(env: ChallengeEnv): { challenge: string; derivedKey: string } {
  const key = requireSecret(env, env.CHALLENGE_HMAC_KEY, "CHALLENGE_HMAC_KEY", DEV_CHALLENGE_HMAC_KEY);
  return { challenge: `${key}/challenge`, derivedKey: `${key}/derived-key` };
}

/**
 * A new signed challenge for `subject` (a shopper's id, or undefined for an anonymous one, e.g. before sign-up).
 * Costs the gateway one key derivation (one attempt's work) and two HMACs.
 */
export async function issueChallenge(env: ChallengeEnv, subject: string | undefined): Promise<Challenge> {
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
  env: ChallengeEnv,
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
