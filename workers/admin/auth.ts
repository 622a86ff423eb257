/**
 * The merchants' bearer token. Every admin route (and /metrics) needs `Authorization: Bearer $ADMIN_TOKEN`;
 * anything else is `401 UNAUTHENTICATED` with the contract's error body. In production the token is a
 * Wrangler secret (`wrangler secret put ADMIN_TOKEN --env production`); locally the documented default applies.
 */
import type { Context, Next } from "hono";
import { DEV_ADMIN_TOKEN, requireSecret } from "../../lib/server/env.ts";
import { type AdminEnv } from "./env.ts";
import { ApiError } from "../../lib/contract/errors.ts";
import { secretsMatch } from "../../lib/server/crypto.ts";

/**
 * Compares a presented token with the expected one in constant time (lib/server/crypto.ts `secretsMatch`: two
 * 32-byte digests compared by the runtime's `timingSafeEqual`).
 *
 * @example
 * if (!(await tokensMatch(given, env.ADMIN_TOKEN))) throw new ApiError("UNAUTHENTICATED", "…");
 */
export const tokensMatch = secretsMatch;

/** The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive, RFC 9110). */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  return match ? match[1] : null;
}

/**
 * Hono middleware that lets a request through only with the admin token.
 *
 * @example
 * app.use(requireAdminToken);
 */
export async function requireAdminToken(c: Context<{ Bindings: AdminEnv }>, next: Next): Promise<void> {
  const expected = requireSecret(c.env, c.env.ADMIN_TOKEN, "ADMIN_TOKEN", DEV_ADMIN_TOKEN);
  const given = bearerToken(c.req.header("Authorization"));
  if (given === null || !(await tokensMatch(given, expected))) {
    throw new ApiError("UNAUTHENTICATED", "A valid admin token is required", undefined, {
      "WWW-Authenticate": 'Bearer realm="minishop-admin"',
    });
  }
  await next();
}
