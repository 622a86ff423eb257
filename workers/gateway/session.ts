/**
 * Shopper accounts and sessions.
 *
 * Passwords: PBKDF2-SHA256 with a per-user 16-byte salt and 100,000 iterations (the most Workers' WebCrypto
 * allows), compared in constant time. Sessions: an HS256 JWT (algorithm pinned on verify) in an HttpOnly,
 * SameSite=Lax cookie, Secure in production; verified at the edge with no database call.
 */
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { sign, verify } from "hono/jwt";
import { ApiError } from "../../lib/errors.ts";
import { DEV_SESSION_SECRET, isProduction, requireSecret, type GatewayEnv } from "../../lib/env.ts";
import type { User } from "../../lib/schemas.ts";
import type { GatewayContext } from "./context.ts";

export const SESSION_COOKIE = "minishop_session";
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;
const PBKDF2_ITERATIONS = 100_000;

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

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

/** Compares in time that depends only on the length, never on where the bytes differ. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
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

/** The signed-in shopper, or null for no cookie, a forged one, an expired one or one of another algorithm. */
export async function readSession(c: GatewayContext): Promise<User | null> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token || token.length > 4096) return null;
  try {
    const payload = await verify(token, sessionSecret(c.env), "HS256");
    if (typeof payload.sub !== "string" || typeof payload.name !== "string") return null;
    return { id: payload.sub, username: payload.name };
  } catch {
    return null;
  }
}

export async function requireUser(c: GatewayContext): Promise<User> {
  const user = await readSession(c);
  if (!user) throw new ApiError("UNAUTHENTICATED", "Sign in first");
  return user;
}
