/**
 * Known devices: the browser a shopper signed in from before, so the sign-in throttle can tell the owner's own device
 * from everyone else at the same address (docs/design.md "Hardening", "A sign-in throttle that cannot be aimed").
 *
 * A successful sign-in or sign-up sets a long-lived, HttpOnly cookie — `__Host-minishop_device`, Secure, in
 * production — holding a random device id and the usernames (lower-case, the last few) that signed in on it, signed
 * with a key derived from the session secret (a session cookie is never a device cookie, nor the reverse). The
 * throttle counts a sign-in for a username the cookie lists under that device instead of the client's address, so
 * failures from another client — or from the same address, as every local client is (client-address.ts) — never
 * slow the owner's browser. The cookie grants nothing else: it is no session, and its own device has its own
 * budget of failures like any client. A forged, expired or other user's cookie counts as no device.
 */
import { getCookie, setCookie } from "hono/cookie";
import { sign, verify } from "hono/jwt";
import type { GatewayContext } from "./context.ts";
import { gatewayCookieName, gatewayCookieOptions, sessionSecret } from "./session.ts";

export const DEVICE_COOKIE = "minishop_device";
/** How long a device stays known without a sign-in on it. */
export const DEVICE_TTL_SECONDS = 180 * 24 * 3600;
/** Usernames one device remembers (the most recent). */
export const DEVICE_MAX_USERNAMES = 5;

export interface Device {
  id: string;
  usernames: string[];
}

/** Its own key: a session's signature never verifies as a device's. */
function deviceSecret(c: GatewayContext): string {
  return `${sessionSecret(c.env)}\u0000known-device`;
}

/** The device this request's cookie names, or null for none, a forged, expired or malformed one. */
export async function readDevice(c: GatewayContext): Promise<Device | null> {
  const token = getCookie(c, gatewayCookieName(c.env, DEVICE_COOKIE));
  if (!token || token.length > 2048) return null;
  try {
    const payload = await verify(token, deviceSecret(c), "HS256");
    const { typ, d, u } = payload as { typ?: unknown; d?: unknown; u?: unknown };
    if (typ !== "device" || typeof d !== "string" || !Array.isArray(u)) return null;
    return { id: d, usernames: u.filter((x): x is string => typeof x === "string") };
  } catch {
    return null;
  }
}

/** The throttle's client for a sign-in as `username` (lower-case) on `device`: the device, if it lists the username. */
export function deviceClient(device: Device | null, username: string): string | undefined {
  return device?.usernames.includes(username) ? `device:${device.id}` : undefined;
}

/**
 * After a successful sign-in or sign-up as `username` (lower-case) on `device` (this request's, read once by the
 * caller): this browser is one of the username's known devices.
 */
export async function rememberDevice(c: GatewayContext, username: string, device: Device | null): Promise<void> {
  const usernames = [username, ...(device?.usernames ?? []).filter((u) => u !== username)].slice(
    0,
    DEVICE_MAX_USERNAMES,
  );
  const now = Math.floor(Date.now() / 1000);
  const token = await sign(
    { typ: "device", d: device?.id ?? crypto.randomUUID(), u: usernames, iat: now, exp: now + DEVICE_TTL_SECONDS },
    deviceSecret(c),
    "HS256",
  );
  setCookie(c, gatewayCookieName(c.env, DEVICE_COOKIE), token, gatewayCookieOptions(c.env, DEVICE_TTL_SECONDS));
}
