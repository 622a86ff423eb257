/**
 * Shopper accounts and sessions.
 *
 * Passwords: PBKDF2-SHA256 with a per-user 16-byte salt and 100,000 iterations (the most Workers' WebCrypto
 * allows), compared in constant time. Sessions: an HS256 JWT (algorithm pinned on verify) in an HttpOnly,
 * SameSite=Lax cookie — `__Host-minishop_session`, Secure, in production — verified at the edge with no
 * database call. A session ends (docs/design.md "Hardening"):
 * - on logout: its id goes into the revocation feed, refused at once here and everywhere within 10 s
 *   (revocations.ts);
 * - on "sign out everywhere": every session of the shopper started before that moment is refused;
 * - after `SESSION_IDLE_SECONDS` without a request (default 12 h): the cookie's `exp` is the last use plus the
 *   idle time, renewed (a new cookie) at most every `REFRESH_AFTER_SECONDS`;
 * - at the latest `SESSION_TTL_SECONDS` (7 days) after sign-in, however active.
 */
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { sign } from "hono/jwt";
import { ApiError } from "../../lib/contract/errors.ts";
import { DEV_SESSION_SECRET, isProduction, requireSecret } from "../../lib/server/env.ts";
import { type GatewayEnv } from "./env.ts";
import type { User } from "../../lib/contract/schemas.ts";
import { fromBase64, timingSafeEqual, toBase64 } from "../../lib/server/crypto.ts";
import type { GatewayContext } from "./context.ts";
import { revocations } from "./revocations.ts";

/** The cookie's name in development (plain HTTP); production adds the `__Host-` prefix. */
export const SESSION_COOKIE = "minishop_session";
/** Present in the session cookie's name in every environment (for "does this request carry a session"). */
export const SESSION_COOKIE_MARK = SESSION_COOKIE;
/** The absolute limit of a session, from sign-in. */
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;
export const DEFAULT_IDLE_SECONDS = 12 * 3600;
/** A session's cookie is renewed (its idle deadline moved) at most this often. */
const REFRESH_AFTER_SECONDS = 600;
const PBKDF2_ITERATIONS = 100_000;

const encoder = new TextEncoder();

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return new Uint8Array(bits);
}

/** `pbkdf2-sha256$<iterations>$<salt>$<hash>`, base64. */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, PBKDF2_ITERATIONS);
  return `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${toBase64(salt)}$${toBase64(hash)}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iterations, salt, hash] = stored.split("$");
  if (scheme !== "pbkdf2-sha256" || !iterations || !salt || !hash) return false;
  const derived = await derive(password, fromBase64(salt), Number(iterations));
  return timingSafeEqual(derived, fromBase64(hash));
}

/** A hash to compare against when the username does not exist, so both paths cost the same. */
export const DUMMY_PASSWORD_HASH = `pbkdf2-sha256$${PBKDF2_ITERATIONS}$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;

export function sessionSecret(env: GatewayEnv): string {
  return requireSecret(env, env.SESSION_SECRET, "SESSION_SECRET", DEV_SESSION_SECRET);
}

/**
 * The name of a cookie the gateway sets: in production with the `__Host-` prefix — the browser keeps it only if
 * Secure, Path=/ and without Domain, so no subdomain can set or shadow it.
 */
export function gatewayCookieName(env: GatewayEnv, name: string): string {
  return isProduction(env) ? `__Host-${name}` : name;
}

/** How the gateway sets its cookies (session, known device): HttpOnly, SameSite=Lax, Path=/, Secure in production. */
export function gatewayCookieOptions(env: GatewayEnv, maxAge: number) {
  return { httpOnly: true, sameSite: "Lax", secure: isProduction(env), path: "/", maxAge } as const;
}

function cookieName(env: GatewayEnv): string {
  return gatewayCookieName(env, SESSION_COOKIE);
}

export function idleSeconds(env: GatewayEnv): number {
  const n = Number(env.SESSION_IDLE_SECONDS);
  return Number.isFinite(n) && n > 0 ? Math.min(n, SESSION_TTL_SECONDS) : DEFAULT_IDLE_SECONDS;
}

/** What a session cookie carries beyond the shopper. */
export interface SessionClaims {
  /** Session id: what a logout revokes. */
  sid: string;
  /** When the session started (sign-in), ms: what "sign out everywhere" compares with. */
  startedAt: number;
  /** When the cookie was signed, seconds. */
  iat: number;
  /** When it stops working, seconds. */
  exp: number;
}

function randomSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** Signs a cookie for `user`: a new session (`sid`, `startedAt` omitted) or the renewal of one. */
async function issueSession(
  c: GatewayContext,
  user: User,
  session?: { sid: string; startedAt: number },
): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const sid = session?.sid ?? randomSessionId();
  const startedAt = session?.startedAt ?? Date.now();
  const exp = Math.min(Math.floor(startedAt / 1000) + SESSION_TTL_SECONDS, now + idleSeconds(c.env));
  const token = await sign(
    { sub: user.id, name: user.username, sid, st: startedAt, iat: now, exp },
    sessionSecret(c.env),
    "HS256",
  );
  setCookie(c, cookieName(c.env), token, gatewayCookieOptions(c.env, Math.max(1, exp - now)));
}

export async function startSession(c: GatewayContext, user: User): Promise<void> {
  await issueSession(c, user);
}

export function endSession(c: GatewayContext): void {
  deleteCookie(c, cookieName(c.env), { path: "/", secure: isProduction(c.env) });
}

/**
 * Logout: the session's id goes into the revocation feed (refused here at once, everywhere within 10 s) and the
 * cookie is cleared. Without a valid session there is nothing to revoke: the cookie is cleared all the same.
 */
export async function revokeSession(c: GatewayContext): Promise<void> {
  const session = await readSessionClaims(c);
  endSession(c);
  if (!session) return;
  const expiresAt = Math.min(
    session.claims.startedAt + SESSION_TTL_SECONDS * 1000,
    Date.now() + idleSeconds(c.env) * 1000,
  );
  try {
    await c.env.SECKILL.revokeSession(session.claims.sid, expiresAt);
  } catch (err) {
    console.error(JSON.stringify({ msg: "logout: revocation failed", traceId: c.get("traceId"), error: String(err) }));
    throw new ApiError("UNAVAILABLE", "Could not end the session, try again shortly", undefined, {
      "Retry-After": "2",
    });
  }
  revocations.addSession(session.claims.sid, expiresAt);
}

/** "Sign out everywhere": every session of the shopper that started before now is refused. */
export async function revokeAllSessions(c: GatewayContext): Promise<void> {
  const session = await readSessionClaims(c);
  if (!session) throw new ApiError("UNAUTHENTICATED", "Sign in first");
  endSession(c);
  const expiresAt = Date.now() + idleSeconds(c.env) * 1000;
  let at: number;
  try {
    ({ at } = await c.env.SECKILL.revokeAllSessions(session.user.id, expiresAt));
  } catch (err) {
    console.error(
      JSON.stringify({ msg: "logout-all: revocation failed", traceId: c.get("traceId"), error: String(err) }),
    );
    throw new ApiError("UNAVAILABLE", "Could not end the sessions, try again shortly", undefined, {
      "Retry-After": "2",
    });
  }
  // The object's clock decides; a session started in the same millisecond elsewhere is one this logout saw.
  revocations.addUser(session.user.id, Math.max(at, Date.now()), expiresAt);
}

/**
 * The HMAC key of a secret, imported once per isolate: importing it costs as much as the verification itself,
 * and every purchase verifies a session.
 */
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    hmacKeys.set(secret, key);
  }
  return key;
}

const decoder = new TextDecoder();

/**
 * Every session this gateway signs has the same header, so the verdict on a header is kept (a few entries at
 * most: anything else is refused anyway, and the map is cleared if it grows).
 */
const headerVerdicts = new Map<string, boolean>();

function acceptableHeader(headerPart: string): boolean {
  const known = headerVerdicts.get(headerPart);
  if (known !== undefined) return known;
  let ok = false;
  try {
    const header = JSON.parse(decoder.decode(fromBase64(headerPart))) as { alg?: unknown; typ?: unknown } | null;
    ok =
      typeof header === "object" &&
      header !== null &&
      header.alg === "HS256" &&
      !("crit" in header) &&
      (!("typ" in header) ||
        (typeof header.typ === "string" && header.typ.toLowerCase().replace(/^application\//, "") === "jwt"));
  } catch {
    ok = false;
  }
  if (headerVerdicts.size >= 64) headerVerdicts.clear();
  headerVerdicts.set(headerPart, ok);
  return ok;
}

/**
 * Verifies an HS256 JWT as hono/jwt's `verify(token, secret, "HS256")` does — the header must name HS256 (so
 * `none` and every other algorithm are refused), the signature must match, and `exp`, `nbf` and `iat` must hold
 * now — with the key imported once instead of on every call. Returns the payload, or null.
 */
async function verifySessionToken(token: string, secret: string): Promise<Record<string, unknown> | null> {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [headerPart, payloadPart, signaturePart] = parts;
  if (!acceptableHeader(headerPart)) return null;
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(signaturePart)) return null;
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    fromBase64(signaturePart),
    encoder.encode(`${headerPart}.${payloadPart}`),
  );
  if (!valid) return null;
  const payload = JSON.parse(decoder.decode(fromBase64(payloadPart))) as Record<string, unknown> | null;
  if (typeof payload !== "object" || payload === null) return null;
  const now = Math.floor(Date.now() / 1000);
  const time = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
  if (payload.exp !== undefined && (!time(payload.exp) || payload.exp <= now)) return null;
  if (payload.nbf !== undefined && (!time(payload.nbf) || payload.nbf > now)) return null;
  if (payload.iat !== undefined && (!time(payload.iat) || now < payload.iat)) return null;
  return payload;
}

/** The session's shopper and claims, or null for no cookie, a forged, expired, revoked one or one of another algorithm. */
async function readSessionClaims(
  c: GatewayContext,
): Promise<{ user: User; claims: SessionClaims; token: string } | null> {
  const token = getCookie(c, cookieName(c.env));
  if (!token || token.length > 4096) return null;
  let payload: Record<string, unknown> | null;
  try {
    payload = await verifySessionToken(token, sessionSecret(c.env));
  } catch {
    // Malformed base64 or JSON: not a session.
    return null;
  }
  if (!payload || typeof payload.sub !== "string" || typeof payload.name !== "string") return null;
  const iat = typeof payload.iat === "number" ? payload.iat : 0;
  const exp = typeof payload.exp === "number" ? payload.exp : 0;
  // Every session has an end: a cookie without one is not a session of ours.
  if (exp === 0) return null;
  // A cookie signed without a session id (tools that mint their own) is its own session: its signature.
  const sid = typeof payload.sid === "string" ? payload.sid : token.slice(token.lastIndexOf(".") + 1);
  const startedAt = typeof payload.st === "number" ? payload.st : iat * 1000;
  const user = { id: payload.sub, username: payload.name };
  const executionCtx = (() => {
    try {
      return c.executionCtx as ExecutionContext;
    } catch {
      return undefined;
    }
  })();
  if (await revocations.isRevoked(c.env, executionCtx, sid, user.id, startedAt)) return null;
  return { user, claims: { sid, startedAt, iat, exp }, token };
}

/** The signed-in shopper, or null (see `readSessionClaims`). Renews the cookie when its idle deadline is due. */
export async function readSession(c: GatewayContext): Promise<User | null> {
  const session = await readSessionClaims(c);
  if (!session) return null;
  const now = Math.floor(Date.now() / 1000);
  const { claims } = session;
  if (
    now - claims.iat >= REFRESH_AFTER_SECONDS &&
    claims.exp < Math.floor(claims.startedAt / 1000) + SESSION_TTL_SECONDS
  ) {
    await issueSession(c, session.user, claims);
  }
  return session.user;
}

export async function requireUser(c: GatewayContext): Promise<User> {
  const user = await readSession(c);
  if (!user) throw new ApiError("UNAUTHENTICATED", "Sign in first");
  return user;
}
