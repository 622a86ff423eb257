/**
 * PostgreSQL schema: the one source for every Worker and every Node script. Migrations in db/migrations
 * are generated from this file by drizzle-kit (`npm run db:generate`), never written by hand.
 */
import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

export const users = pgTable("users", {
  id: uuid("id").primaryKey(),
  username: text("username").notNull().unique(),
  passwordHash: text("password_hash").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const sales = pgTable("sales", {
  id: uuid("id").primaryKey(),
  title: text("title").notNull(),
  description: text("description").notNull().default(""),
  priceCents: integer("price_cents").notNull(),
  currency: text("currency").notNull().default("USD"),
  stock: integer("stock").notNull(),
  perUserLimit: integer("per_user_limit").notNull().default(1),
  startsAt: timestamp("starts_at", { withTimezone: true }).notNull(),
  endsAt: timestamp("ends_at", { withTimezone: true }).notNull(),
  paymentWindowSeconds: integer("payment_window_seconds").notNull().default(900),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * One row per order. The id is the object's order id; `version` is the object's version of the order,
 * so a late or duplicate message never moves an order back (`update … where version < excluded.version`).
 * unique (sale_id, user_id) is the second guard behind the object's one-order-per-shopper rule.
 */
export const orders = pgTable(
  "orders",
  {
    id: text("id").primaryKey(),
    saleId: uuid("sale_id")
      .notNull()
      .references(() => sales.id),
    userId: uuid("user_id").notNull(),
    quantity: integer("quantity").notNull(),
    priceCents: integer("price_cents").notNull(),
    status: text("status").notNull(),
    version: integer("version").notNull(),
    traceId: text("trace_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("orders_sale_user_unique").on(t.saleId, t.userId), index("orders_user_idx").on(t.userId)],
);

/** Messages the dead-letter consumer gave up on, with the last error: merchants replay them by hand. */
export const failedOrders = pgTable(
  "failed_orders",
  {
    id: uuid("id")
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    orderId: text("order_id").notNull(),
    saleId: uuid("sale_id").notNull(),
    payload: jsonb("payload").notNull(),
    error: text("error").notNull(),
    attempts: integer("attempts").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    replayedAt: timestamp("replayed_at", { withTimezone: true }),
  },
  (t) => [index("failed_orders_order_idx").on(t.orderId)],
);
