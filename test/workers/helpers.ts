/**
 * Helpers for tests that run in workerd: requests through the gateway's default export, sales through the
 * admin API, shoppers through the auth API, and PostgreSQL through Hyperdrive.
 */
import { env, exports } from "cloudflare:workers";
import postgres from "postgres";
import type { Order, Sale } from "../../lib/contract/schemas.ts";

export const ADMIN = { Authorization: "Bearer dev-admin-token" };
export const BASE = "http://shop.test";

export function call(path: string, init: RequestInit & { cookie?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("Cookie", init.cookie);
  if (init.body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  return exports.default.fetch(new Request(BASE + path, { ...init, headers }));
}

export function json(body: unknown): string {
  return JSON.stringify(body);
}

export interface SaleOptions {
  stock?: number;
  perUserLimit?: number;
  startsInSeconds?: number;
  durationSeconds?: number;
  paymentWindowSeconds?: number;
  title?: string;
  /** docs/api.md "Hot sales": the sale's shard count (absent: the default for its stock). */
  shards?: number;
  /** Buying needs a solved proof-of-work challenge (docs/api.md "Proof of work"). */
  challenge?: boolean;
  /** A queue in front of the sale (docs/api.md "Queue"). */
  queue?: boolean;
}

export async function createSale(options: SaleOptions = {}): Promise<Sale> {
  const start = Date.now() + (options.startsInSeconds ?? -1) * 1000;
  const res = await call("/admin/api/sales", {
    method: "POST",
    headers: ADMIN,
    body: json({
      title: options.title ?? "Test phone",
      priceCents: 49_900,
      stock: options.stock ?? 10,
      perUserLimit: options.perUserLimit,
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(start + (options.durationSeconds ?? 3600) * 1000).toISOString(),
      paymentWindowSeconds: options.paymentWindowSeconds,
      shards: options.shards,
      challenge: options.challenge,
      queue: options.queue,
    }),
  });
  if (res.status !== 201) throw new Error(`create sale: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { sale: Sale }).sale;
}

let shopperCount = 0;

/** Registers a new shopper and returns the session cookie. */
export async function shopper(prefix = "shopper"): Promise<{ cookie: string; userId: string; username: string }> {
  const username = `${prefix}${++shopperCount}_${crypto.randomUUID().slice(0, 8)}`;
  const res = await call("/api/auth/register", { method: "POST", body: json({ username, password: "correct horse" }) });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get("Set-Cookie")!.split(";")[0];
  const { user } = (await res.json()) as { user: { id: string } };
  return { cookie, userId: user.id, username };
}

export async function purchase(saleId: string, cookie: string, init: RequestInit = {}) {
  const res = await call(`/api/sales/${saleId}/purchase`, { method: "POST", cookie, ...init });
  return { status: res.status, body: (await res.json()) as { order?: Order; error?: { code: string } } };
}

export function saleObject(saleId: string) {
  return env.SALE_ITEM.get(env.SALE_ITEM.idFromName(saleId));
}

/**
 * Tables and the alarm of an object's storage: what it would keep (and cost) if left behind. A deleted sale's
 * objects, and objects never initialised, have `{tables: [], alarm: null}`.
 */
export async function leftovers(state: DurableObjectState): Promise<{ tables: string[]; alarm: number | null }> {
  const tables = state.storage.sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master ORDER BY name")
    .toArray()
    .map((r) => r.name);
  return { tables, alarm: await state.storage.getAlarm() };
}

/** A direct PostgreSQL connection (the same database the Workers reach through Hyperdrive). */
export function database() {
  return postgres(env.HYPERDRIVE.connectionString, { max: 2, fetch_types: false, onnotice: () => {} });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Points an object's ORDERS queue at an in-memory recorder, for tests that drive the object directly with
 * sales PostgreSQL does not know: nothing reaches the real consumer, and the test can read what was sent.
 */
export function recordQueue(instance: object): { sent: unknown[]; batches: number[]; refuse: boolean } {
  const recorder = { sent: [] as unknown[], batches: [] as number[], refuse: false };
  const holder = instance as { env: Record<string, unknown> };
  holder.env = {
    ...holder.env,
    ORDERS: {
      send: async (body: unknown) => void recorder.sent.push(body),
      sendBatch: async (messages: { body: unknown }[]) => {
        if (recorder.refuse) throw new Error("queue refused the batch");
        recorder.batches.push(messages.length);
        recorder.sent.push(...messages.map((m) => m.body));
      },
    },
  };
  return recorder;
}
