/**
 * `DATABASE_URL=postgres://… npm run db:migrate`: applies db/migrations (drizzle-kit generated) to that
 * PostgreSQL. Safe to run again: drizzle records what it applied (drizzle.__drizzle_migrations) and applies
 * only what is new, each migration in a transaction.
 *
 * In production this is the direct URL of the database behind Hyperdrive (with `?sslmode=require` when the
 * server wants TLS), not Hyperdrive itself. `npm run deploy` runs the same step before any Worker.
 */
import { applyMigrations } from "./lib/postgres.ts";

/** postgres://user:secret@host/db → postgres://user:***@host/db, for logs. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable DATABASE_URL)";
  }
}

export async function migrateDatabase(url: string | undefined): Promise<void> {
  if (!url)
    throw new Error("DATABASE_URL is not set: DATABASE_URL=postgres://user:pass@host:5432/db npm run db:migrate");
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error("DATABASE_URL must be a postgres:// (or postgresql://) URL");
  const started = Date.now();
  console.log(`db:migrate: applying db/migrations to ${redactDatabaseUrl(url)}`);
  await applyMigrations(url);
  console.log(`db:migrate: up to date (${Date.now() - started} ms)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await migrateDatabase(process.env.DATABASE_URL);
  } catch (err) {
    // drizzle wraps the driver's error (the one that says why) as `cause`.
    const cause = err instanceof Error && err.cause ? `\n  cause: ${String(err.cause)}` : "";
    console.error(`db:migrate failed: ${err instanceof Error ? err.message : String(err)}${cause}`);
    process.exit(1);
  }
}
