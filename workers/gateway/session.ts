/**
 * Shopper accounts and sessions.
 *
 * Passwords: PBKDF2-SHA256 with a per-user 16-byte salt and 100,000 iterations (the most Workers' WebCrypto
 * allows), compared in constant time. Sessions: an HS256 JWT (algorithm pinned on verify) in an HttpOnly,
 * SameSite=Lax cookie, Secure in production; verified at the edge with no database call.
 */
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { sign } from "hono/jwt";
import { ApiError } from "../../lib/errors.ts";
import { DEV_SESSION_SECRET, isProduction, requireSecret, type GatewayEnv } from "../../lib/env.ts";
import type { User } from "../../lib/schemas.ts";
import { fromBase64, timingSafeEqual, toBase64 } from "../../lib/server/crypto.ts";
import type { GatewayContext } from "./context.ts";

export const SESSION_COOKIE = "minishop_session";
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;
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

function sessionSecret(env: GatewayEnv): string {
  return requireSecret(env, env.SESSION_SECRET, "SESSION_SECRET", DEV_SESSION_SECRET);
}

export async function startSession(c: GatewayContext, user: User): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const token = await sign(
    { sub: user.id, name: user.username, iat: now, exp: now + SESSION_TTL_SECONDS },
    sessionSecret(c.env),
    "HS256",
  );
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Lax",
    secure: isProduction(c.env),
    path: "/",
    maxAge: SESSION_TTL_SECONDS,
  });
}

export function endSession(c: GatewayContext): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: isProduction(c.env) });
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
      (!("typ" in header) || (typeof header.typ === "string" && header.typ.toLowerCase().replace(/^application\//, "") === "jwt"));
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

/** The signed-in shopper, or null for no cookie, a forged one, an expired one or one of another algorithm. */
export async function readSession(c: GatewayContext): Promise<User | null> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token || token.length > 4096) return null;
  try {
    const payload = await verifySessionToken(token, sessionSecret(c.env));
    if (!payload || typeof payload.sub !== "string" || typeof payload.name !== "string") return null;
    return { id: payload.sub, username: payload.name };
  } catch {
    // Malformed base64 or JSON: not a session.
    return null;
  }
}

export async function requireUser(c: GatewayContext): Promise<User> {
  const user = await readSession(c);
  if (!user) throw new ApiError("UNAUTHENTICATED", "Sign in first");
  return user;
}
