/**
 * Accounts: register, login, logout, me. Accounts live in PostgreSQL; sessions do not (see session.ts).
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { users } from "../../../db/schema.ts";
import { isUniqueViolation, withDatabase, withDatabaseOrUnavailable } from "../../../lib/db.ts";
import { ApiError } from "../../../lib/errors.ts";
import { credentialsSchema } from "../../../lib/schemas.ts";
import { getGuards, type GatewayApp, type GatewayContext } from "../context.ts";
import {
  DUMMY_PASSWORD_HASH,
  endSession,
  hashPassword,
  requireUser,
  startSession,
  verifyPassword,
} from "../session.ts";
import { validate } from "../validate.ts";
import { limitByIp } from "../limits.ts";

/** Accounts live in PostgreSQL: while it is down, sign-in and sign-up answer 503 (lib/db.ts). */
function withAccounts<T>(c: GatewayContext, work: Parameters<typeof withDatabase<T>>[1]): Promise<T> {
  return withDatabaseOrUnavailable(c.env.HYPERDRIVE, work, {
    worker: "gateway",
    message: "Accounts are unavailable, try again shortly",
    passUniqueViolation: true,
  });
}

export const auth = new Hono<GatewayApp>()
  .post("/register", limitByIp("AUTH_LIMITER"), validate("json", credentialsSchema), async (c) => {
    const { username, password } = c.req.valid("json");
    const user = { id: crypto.randomUUID(), username };
    const passwordHash = await hashPassword(password);
    try {
      await withAccounts(c, (db) => db.insert(users).values({ ...user, passwordHash }));
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError("USERNAME_TAKEN", "That username is taken", [
        { path: ["username"], message: "That username is taken" },
      ]);
      throw err;
    }
    await startSession(c, user);
    return c.json({ user }, 201);
  })
  .post("/login", limitByIp("AUTH_LIMITER"), validate("json", credentialsSchema), async (c) => {
    const { username, password } = c.req.valid("json");
    const failures = getGuards(c.env).loginFailures;
    const key = username.toLowerCase();
    if (failures.isLimited(key)) {
      throw new ApiError("RATE_LIMITED", "Too many failed sign-ins for this username, try again later", undefined, {
        "Retry-After": String(Math.ceil(failures.windowMs / 1000)),
      });
    }
    const row = await withAccounts(c, async (db) => (await db.select().from(users).where(eq(users.username, username)).limit(1))[0]);
    // Verify against a dummy hash for unknown usernames: the answer takes as long either way.
    const ok = await verifyPassword(password, row?.passwordHash ?? DUMMY_PASSWORD_HASH);
    if (!row || !ok) {
      failures.record(key);
      throw new ApiError("INVALID_CREDENTIALS", "Wrong username or password");
    }
    failures.reset(key);
    const user = { id: row.id, username: row.username };
    await startSession(c, user);
    return c.json({ user });
  })
  .post("/logout", (c) => {
    endSession(c);
    return c.body(null, 204);
  });

export const me = new Hono<GatewayApp>().get("/", async (c) => c.json({ user: await requireUser(c) }));
