/**
 * Pre-registration (docs/api.md "Registration"; docs/design.md "Draws and registration"). Kept in the sale's
 * own object, the one that takes the shopper's purchase, so the purchase's check (`isRegistered`, called from
 * the synchronous check-and-reserve block in reserve.ts) needs no other object and no await.
 */
import { reject, type Rejection } from "../../lib/contract/errors.ts";
import type { Registration } from "../../lib/contract/draw.ts";
import type { SaleConfig } from "./lifecycle.ts";

export type RegisterResult = { ok: true; created: boolean; registration: Registration } | Rejection;

/** One indexed read (registrations is keyed by user id). */
export function isRegistered(sql: SqlStorage, userId: string): boolean {
  return sql.exec("SELECT 1 FROM registrations WHERE user_id = ?", userId).toArray().length > 0;
}

export function registrationOf(sql: SqlStorage, config: SaleConfig, userId: string): Registration | null {
  const row = sql
    .exec<{ created_at: number }>("SELECT created_at FROM registrations WHERE user_id = ?", userId)
    .toArray()[0];
  return row ? { saleId: config.id, userId, createdAt: new Date(row.created_at).toISOString() } : null;
}

export function countRegistrations(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM registrations").one().n;
}

/** Registers a shopper for a sale that requires it, before its start; a second call returns the first. */
export function register(sql: SqlStorage, config: SaleConfig, userId: string, now: number): RegisterResult {
  if (!config.registrationRequired) return reject("REGISTRATION_NOT_REQUIRED", "This sale does not need registration");
  const found = registrationOf(sql, config, userId);
  if (now >= config.startsAt) {
    return reject("REGISTRATION_CLOSED", "Registration closed when the sale started", { registered: found !== null });
  }
  if (found) return { ok: true, created: false, registration: found };
  sql.exec("INSERT INTO registrations (user_id, created_at) VALUES (?, ?)", userId, now);
  return {
    ok: true,
    created: true,
    registration: { saleId: config.id, userId, createdAt: new Date(now).toISOString() },
  };
}
