/**
 * Accounts: register, login, logout, me. Accounts live in PostgreSQL; sessions do not (see session.ts).
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { users } from "../../../db/schema.ts";
import { isUniqueViolation, withDatabase, withDatabaseOrUnavailable } from "../../../lib/server/db.ts";
import type { LoginLimits } from "../../../durable-objects/account-guard.ts";
import { ApiError } from "../../../lib/contract/errors.ts";
import { credentialsSchema } from "../../../lib/contract/schemas.ts";
import { getGuards, type GatewayApp, type GatewayContext } from "../context.ts";
import {
  DUMMY_PASSWORD_HASH,
  hashPassword,
  requireUser,
  revokeAllSessions,
  revokeSession,
  startSession,
  verifyPassword,
} from "../session.ts";
import { validate } from "../../../lib/server/http.ts";
import { limitByIp } from "../limits.ts";
import { clientAddressKey } from "../client-address.ts";
import { deviceClient, readDevice, rememberDevice } from "../device.ts";
import { requireChallenge } from "../challenge.ts";
import { isProduction } from "../../../lib/server/env.ts";

/** Sign-in and sign-up never hang on a hung database: a clear 503 after this long. */
export const ACCOUNTS_DB_TIMEOUT_MS = 4_000;

/** Accounts live in PostgreSQL: while it is down or hung, sign-in and sign-up answer 503 (lib/server/db.ts). */
function withAccounts<T>(c: GatewayContext, work: Parameters<typeof withDatabase<T>>[1]): Promise<T> {
  return withDatabaseOrUnavailable(c.env.HYPERDRIVE, work, {
    worker: "gateway",
    message: "Accounts are unavailable, try again shortly",
    passUniqueViolation: true,
    timeoutMs: ACCOUNTS_DB_TIMEOUT_MS,
    what: "accounts database",
  });
}

/**
 * The client a sign-in comes from: client-address.ts's key (IPv6 per /64); "unknown" when there is none (every
 * such client is one).
 */
function clientKey(c: GatewayContext): string {
  return clientAddressKey(c.env, c.req.raw.headers) ?? "unknown";
}

function loginLimits(c: GatewayContext): LoginLimits {
  const g = getGuards(c.env);
  return { perUsername: g.loginFailures.limit, perClient: g.loginClientFailures, windowMs: g.loginFailures.windowMs };
}

/** The throttle's object failing must not lock everyone out: sign-in goes on, unthrottled, and it is logged. */
async function throttle<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    console.error(JSON.stringify({ msg: "sign-in throttle unavailable", error: String(err) }));
    return undefined;
  }
}

export const auth = new Hono<GatewayApp>()
  .post("/register", limitByIp("AUTH_LIMITER"), validate("json", credentialsSchema), async (c) => {
    // Production: a new account costs a solved challenge (docs/api.md "Proof of work"), so fifty accounts cost
    // fifty solves. Locally sign-up stays free (tests, the bench and `npm start` register freely).
    if (isProduction(c.env)) await requireChallenge(c);
    const { username, password } = c.req.valid("json");
    const user = { id: crypto.randomUUID(), username };
    const passwordHash = await hashPassword(password);
    try {
      await withAccounts(c, (db) => db.insert(users).values({ ...user, passwordHash }));
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ApiError("USERNAME_TAKEN", "That username is taken", [
          { path: ["username"], message: "That username is taken" },
        ]);
      throw err;
    }
    await startSession(c, user);
    await rememberDevice(c, username.toLowerCase(), await readDevice(c));
    return c.json({ user }, 201);
  })
  .post("/login", limitByIp("AUTH_LIMITER"), validate("json", credentialsSchema), async (c) => {
    const { username, password } = c.req.valid("json");
    // Failed sign-ins slow down per (username, this client) and per client, counted in the client's AccountGuard
    // object (one for every isolate): someone else's failures never slow the owner's own device. The client is the
    // browser when it is a known device of this username (device.ts), else the address.
    const key = username.toLowerCase();
    const device = await readDevice(c);
    const client = deviceClient(device, key) ?? clientKey(c);
    const limits = loginLimits(c);
    const retryAfter = await throttle(() => c.env.SECKILL.loginRetryAfter(client, key, limits));
    if (retryAfter && retryAfter > 0) {
      throw new ApiError("RATE_LIMITED", "Too many failed sign-ins from here, try again later", undefined, {
        "Retry-After": String(retryAfter),
      });
    }
    const row = await withAccounts(
      c,
      async (db) => (await db.select().from(users).where(eq(users.username, username)).limit(1))[0],
    );
    // Verify against a dummy hash for unknown usernames: the answer takes as long either way.
    const ok = await verifyPassword(password, row?.passwordHash ?? DUMMY_PASSWORD_HASH);
    const recorded = throttle(() => c.env.SECKILL.loginResult(client, key, Boolean(row && ok), limits));
    if (!row || !ok) {
      await recorded;
      throw new ApiError("INVALID_CREDENTIALS", "Wrong username or password");
    }
    c.executionCtx.waitUntil(recorded);
    const user = { id: row.id, username: row.username };
    await startSession(c, user);
    await rememberDevice(c, key, device);
    return c.json({ user });
  })
  .post("/logout", async (c) => {
    await revokeSession(c);
    return c.body(null, 204);
  })
  // "Sign out everywhere": every session of the shopper, on every device (docs/api.md "Hardening").
  .post("/logout-all", async (c) => {
    await revokeAllSessions(c);
    return c.body(null, 204);
  });

export const me = new Hono<GatewayApp>().get("/", async (c) => c.json({ user: await requireUser(c) }));
