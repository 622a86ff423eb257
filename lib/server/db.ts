/**
 * PostgreSQL through Hyperdrive, as Cloudflare's Hyperdrive + Drizzle page does it: a postgres.js client per
 * request (Hyperdrive pools the real connections).
 *
 * The client is not `end()`ed: on workerd, postgres.js 3.4.9's `sql.end()` always leaves an unhandled
 * rejection ("Stream was cancelled", porsager/postgres#1202), one per request. Its sockets belong to the
 * request's I/O context and the runtime closes them when the request is done; Hyperdrive keeps the pool.
 */
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { openSocket } from "./pg-socket.ts";
import * as schema from "../../db/schema.ts";
import { ApiError } from "../contract/errors.ts";
import { withTimeout } from "./timeout.ts";

function wantsTls(url: string): boolean {
  const mode = new URL(url).searchParams.get("sslmode");
  return mode !== null && mode !== "disable";
}

export function connect(hyperdrive: Hyperdrive, options: { connectTimeoutSeconds?: number } = {}) {
  const sql = postgres(hyperdrive.connectionString, {
    max: 5,
    fetch_types: false,
    // Unnamed statements only: the embedded PostgreSQL (pglite-socket) runs every connection in one backend
    // session, where two connections' named statements and portals collide ("portal … does not exist").
    prepare: false,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    onnotice: () => {},
    // Our socket: the same as postgres.js's own on workerd, without its unhandled rejections (lib/server/pg-socket.ts).
    ...(wantsTls(hyperdrive.connectionString) ? {} : ({ socket: openSocket } as object)),
  });
  return { sql, db: drizzle(sql, { schema }) };
}

export type Database = ReturnType<typeof connect>["db"];

/**
 * Runs `work` with a fresh client (see above for why it is not ended). With `timeoutMs`, a PostgreSQL that
 * accepts the connection and then answers nothing (hung, frozen) fails the call after that long instead of
 * holding it for ever.
 */
export async function withDatabase<T>(
  hyperdrive: Hyperdrive,
  work: (db: Database, sql: postgres.Sql) => Promise<T>,
  options?: { connectTimeoutSeconds?: number; timeoutMs?: number; what?: string },
): Promise<T> {
  if (options?.timeoutMs === undefined) {
    const { sql, db } = connect(hyperdrive, options);
    return await work(db, sql);
  }
  const { sql, db } = connect(hyperdrive, options);
  return await withTimeout(work(db, sql), options.timeoutMs, options.what ?? "PostgreSQL");
}

/** drizzle wraps the driver's error; the cause is what PostgreSQL (or the socket) said. */
export function databaseCause(err: unknown): unknown {
  return typeof err === "object" && err !== null && "cause" in err && err.cause ? err.cause : err;
}

/** An error PostgreSQL raised for a statement (it has a severity), as opposed to a connection failure. */
export function isStatementError(err: unknown): boolean {
  const cause = databaseCause(err);
  return typeof cause === "object" && cause !== null && "severity" in cause;
}

/** PostgreSQL's unique_violation. */
export function isUniqueViolation(err: unknown): boolean {
  const cause = databaseCause(err);
  return typeof cause === "object" && cause !== null && (cause as { code?: string }).code === "23505";
}

export function describeDatabaseError(err: unknown): string {
  const cause = databaseCause(err);
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * "PostgreSQL is down → 503", once for every Worker: runs `work` with a fresh client; a failure that is not
 * already the contract's (an `ApiError`) or a unique violation the caller answers itself (`passUniqueViolation`)
 * is logged and becomes `503 UNAVAILABLE` with `Retry-After: 5`.
 *
 * @example
 * const rows = await withDatabaseOrUnavailable(c.env.HYPERDRIVE, (db) => db.select().from(sales), { worker: "admin" });
 */
export async function withDatabaseOrUnavailable<T>(
  hyperdrive: Hyperdrive,
  work: (db: Database, sql: postgres.Sql) => Promise<T>,
  options: {
    worker: string;
    message?: string;
    passUniqueViolation?: boolean;
    connectTimeoutSeconds?: number;
    timeoutMs?: number;
    what?: string;
  },
): Promise<T> {
  try {
    return await withDatabase(hyperdrive, work, {
      connectTimeoutSeconds: options.connectTimeoutSeconds ?? 3,
      timeoutMs: options.timeoutMs,
      what: options.what,
    });
  } catch (err) {
    throw databaseUnavailable(err, options);
  }
}

/** The error to throw for a failed database call (see `withDatabaseOrUnavailable`); logs what it replaces. */
export function databaseUnavailable(
  err: unknown,
  options: { worker: string; message?: string; passUniqueViolation?: boolean },
): unknown {
  if (err instanceof ApiError) return err;
  if (options.passUniqueViolation && isUniqueViolation(err)) return err;
  console.error(
    JSON.stringify({ worker: options.worker, msg: "database unavailable", error: describeDatabaseError(err) }),
  );
  return new ApiError("UNAVAILABLE", options.message ?? "PostgreSQL is unavailable, try again shortly", undefined, {
    "Retry-After": "5",
  });
}
