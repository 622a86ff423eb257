/**
 * Config and lifecycle of a sale in its object: the schema, the sale row, the sale's status as shoppers see
 * it, and the merchant's changes. An object that was never initialised has no tables and writes nothing
 * (docs/design.md, "SaleItem invariants", S7): the schema is created by `initialize` only, and an object looks
 * for it with a read of `sqlite_master` — the mechanism the draw objects share (durable-objects/object-schema.ts).
 */
import type { Sale, SaleMode, SaleStatus } from "../../lib/contract/schemas.ts";
import { ObjectSchema, configText, parseConfig } from "../object-schema.ts";

/** The sale as the object keeps it: times in epoch milliseconds. */
export interface SaleConfig {
  id: string;
  title: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  perUserLimit: number;
  startsAt: number;
  endsAt: number;
  paymentWindowSeconds: number;
  paused: boolean;
  /** Draw sales and pre-registration (docs/api.md "Draw", "Registration"; docs/design.md "Draws and registration"). */
  mode?: SaleMode;
  drawAt?: number;
  drawCommitment?: string;
  registrationRequired?: boolean;
  /** Buying needs a proof of work, verified at the edge (docs/api.md "Proof of work"); the object checks the flag. */
  challenge?: boolean;
  /** A queue sale (docs/api.md "Queue"): a purchase needs the queue's admission (reserve.ts). Set at creation. */
  queue?: boolean;
  /** The product photo's URL (docs/api.md "Product image"); the bytes live in R2, not here. */
  imageUrl?: string;
}

/** Pre-registered shoppers (registration.ts); keyed by user id, so the purchase's check is one indexed read. */
const REGISTRATIONS = `
  CREATE TABLE IF NOT EXISTS registrations (
    user_id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

const SCHEMA = new ObjectSchema(
  "sale",
  `
  CREATE TABLE IF NOT EXISTS sale (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config TEXT NOT NULL,
    remaining INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    counters TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    price_cents INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    persisted_version INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    trace_id TEXT
  );
  CREATE INDEX IF NOT EXISTS orders_by_status_expiry ON orders (status, expires_at);
  CREATE TABLE IF NOT EXISTS outbox (
    order_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    next_send_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS outbox_by_due ON outbox (next_send_at);
  ${REGISTRATIONS}
`,
);

/** Whether this object was ever initialised: a read only (an empty database stays empty; object-schema.ts). */
export function hasSchema(sql: SqlStorage): boolean {
  return SCHEMA.exists(sql);
}

export interface StoredSale {
  config: SaleConfig;
  remaining: number;
  sequence: number;
  counters: string;
}

export function readSale(sql: SqlStorage): StoredSale | null {
  if (!hasSchema(sql)) return null;
  const row = sql
    .exec<{ config: string; remaining: number; sequence: number; counters: string }>(
      "SELECT config, remaining, sequence, counters FROM sale WHERE id = 1",
    )
    .toArray()[0];
  if (!row) return null;
  return {
    config: parseConfig<SaleConfig>(row),
    remaining: row.remaining,
    sequence: row.sequence,
    counters: row.counters,
  };
}

/**
 * An initialised object whose schema predates the registrations table gets it (idempotent). Called only when
 * `readSale` found a sale, so an uninitialised object still writes nothing (S7).
 */
export function upgradeSchema(sql: SqlStorage): void {
  sql.exec(REGISTRATIONS);
}

/** The first write an object ever makes: its schema and its sale row, in one transaction. */
export function createSale(storage: DurableObjectStorage, config: SaleConfig, counters: string): void {
  storage.transactionSync(() => {
    SCHEMA.create(storage.sql);
    storage.sql.exec(
      "INSERT INTO sale (id, config, remaining, sequence, counters) VALUES (1, ?, ?, 0, ?)",
      configText(config),
      config.stock,
      counters,
    );
  });
}

/** The config only: `remaining` is written with the orders that move it (stock.ts), never from here. */
export function saveConfig(sql: SqlStorage, config: SaleConfig): void {
  sql.exec("UPDATE sale SET config = ? WHERE id = 1", configText(config));
}

/** A stock change before the start: config and remaining together (nothing can be reserved then). */
export function saveConfigAndRemaining(storage: DurableObjectStorage, config: SaleConfig, remaining: number): void {
  storage.sql.exec("UPDATE sale SET config = ?, remaining = ? WHERE id = 1", configText(config), remaining);
}

/** The draw and registration rules of a change before the start (`update`); null when the change is valid. */
export function drawPatchError(config: SaleConfig, patch: Partial<SaleConfig>, next: SaleConfig): string | null {
  if (patch.mode !== undefined && patch.mode !== (config.mode ?? "first_come"))
    return "A sale's mode is chosen when it is created";
  if (patch.queue !== undefined && patch.queue !== (config.queue ?? false))
    return "A sale's queue is chosen when it is created";
  if (
    next.mode === "draw" &&
    !(next.drawAt !== undefined && next.startsAt < next.drawAt && next.drawAt < next.endsAt)
  ) {
    return "drawAt must be after startsAt and before endsAt";
  }
  if (next.mode !== "draw" && patch.drawAt !== undefined) return "drawAt is for draw sales only";
  if (next.mode === "draw" && next.registrationRequired) return "registration is for first-come sales only";
  return null;
}

export function saleStatus(config: SaleConfig, available: number, now: number): SaleStatus {
  if (now >= config.endsAt) return "ended";
  if (config.paused) return "paused";
  if (available <= 0) return "sold_out";
  if (now < config.startsAt) return "scheduled";
  return "live";
}

export function toSale(config: SaleConfig, available: number, now: number): Sale {
  return {
    id: config.id,
    title: config.title,
    description: config.description,
    priceCents: config.priceCents,
    currency: config.currency,
    stock: config.stock,
    remaining: available,
    perUserLimit: config.perUserLimit,
    startsAt: new Date(config.startsAt).toISOString(),
    endsAt: new Date(config.endsAt).toISOString(),
    status: saleStatus(config, available, now),
    paymentWindowSeconds: config.paymentWindowSeconds,
    mode: config.mode ?? "first_come",
    registrationRequired: config.registrationRequired ?? false,
    challenge: config.challenge ?? false,
    queue: config.queue ?? false,
    ...(config.mode === "draw"
      ? { drawAt: new Date(config.drawAt!).toISOString(), drawCommitment: config.drawCommitment }
      : {}),
    ...(config.imageUrl ? { imageUrl: config.imageUrl } : {}),
  };
}
