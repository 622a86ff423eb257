/**
 * A controllable world for one SaleItem object, for the concurrent model test (model-concurrent.test.ts) and
 * the per-bug regression tests: the object's clock, its `storage.sync()` (each group-commit round stays in
 * flight until the test settles it), injected write failures, its alarm (recorded, never fired by the
 * runtime), and restarts (a new instance constructed over the same storage while the old one is cut off,
 * as when the runtime resets an object mid-round). Storage is the object's real SQLite.
 */
import { env } from "cloudflare:workers";
import { SaleItem, type SaleConfig } from "../../durable-objects/sale-item.ts";

export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** The object was reset (a restart): anything the old instance still tries on storage fails. */
export class ObjectReset extends Error {
  constructor() {
    super("the object was reset");
  }
}

export interface World {
  item: SaleItem;
  config: SaleConfig;
  clock: { now: number };
  sql: SqlStorage;
  /** `storage.sync()` calls of the live instance not settled yet, oldest first. */
  syncs: Deferred[];
  /** Arms a failure: the next storage transaction of the live instance throws (and rolls back). */
  failNextTransaction: () => void;
  /** Settles the oldest pending `sync()` (the round it belongs to becomes durable). */
  settleOne: () => boolean;
  /** Replaces the instance: the old one is cut off from storage, its pending syncs fail; a new one loads. */
  restart: () => Promise<void>;
  alarmAt: () => number | null;
  sent: unknown[];
  restarts: number;
}

/** Builds a world inside `runInDurableObject(stub, (_, state) => …)` over that object's storage. */
export async function makeWorld(
  state: DurableObjectState,
  config: SaleConfig,
  now: number,
  runtimeInstance?: SaleItem,
): Promise<World> {
  // The runtime's own instance of this object must not run alarms behind the test's back.
  if (runtimeInstance) runtimeInstance.alarm = async () => {};
  const clock = { now };
  const sent: unknown[] = [];
  const orders = {
    send: async (body: unknown) => void sent.push(body),
    sendBatch: async (messages: { body: unknown }[]) => void sent.push(...messages.map((m) => m.body)),
  };
  let alarm: number | null = null;
  let failNext = false;
  const world = {} as World;

  function instanceState(): { state: DurableObjectState; cut: () => void; syncs: Deferred[] } {
    let dead = false;
    const syncs: Deferred[] = [];
    const guard = () => {
      if (dead) throw new ObjectReset();
    };
    const sql = new Proxy(state.storage.sql, {
      get(target, prop) {
        if (prop === "exec") {
          return (query: string, ...bindings: unknown[]) => {
            guard();
            return target.exec(query, ...(bindings as SqlStorageValue[]));
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const storage = new Proxy(state.storage, {
      get(target, prop) {
        switch (prop) {
          case "sql":
            return sql;
          case "sync":
            return () => {
              if (dead) return Promise.reject(new ObjectReset());
              const d = deferred();
              syncs.push(d);
              return d.promise;
            };
          case "transactionSync":
            return <T>(fn: () => T): T => {
              guard();
              if (failNext) {
                failNext = false;
                return target.transactionSync(() => {
                  fn();
                  throw new Error("injected write failure");
                });
              }
              return target.transactionSync(fn);
            };
          case "setAlarm":
            return async (at: number | Date) => {
              if (dead) return; // a reset object's alarm writes are lost with it
              alarm = typeof at === "number" ? at : at.getTime();
            };
          case "getAlarm":
            return async () => alarm;
          case "deleteAlarm":
            return async () => void (alarm = null);
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    let loading: Promise<unknown> = Promise.resolve();
    const proxied = new Proxy(state, {
      get(target, prop) {
        if (prop === "storage") return storage;
        if (prop === "blockConcurrencyWhile") {
          return <T>(fn: () => Promise<T>) => {
            const p = fn();
            loading = p;
            return p;
          };
        }
        if (prop === "__loading") return loading;
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return {
      state: proxied,
      syncs,
      cut: () => {
        dead = true;
        for (const d of syncs.splice(0)) d.reject(new ObjectReset());
      },
    };
  }

  async function construct() {
    const s = instanceState();
    // The runtime insists on its own DurableObjectState for the constructor; the instance is then pointed at
    // the controlled one (the constructor's reads are the same storage either way).
    const item = new SaleItem(state, { ...env, ORDERS: orders } as unknown as typeof env);
    await state.blockConcurrencyWhile(async () => {});
    (item as unknown as { ctx: DurableObjectState }).ctx = s.state;
    item.clock = () => clock.now;
    return { item, s };
  }

  let current = await construct();
  current.item.initialize(config);
  Object.assign(world, {
    config,
    clock,
    sql: state.storage.sql,
    sent,
    restarts: 0,
    failNextTransaction: () => void (failNext = true),
    alarmAt: () => alarm,
    settleOne: () => {
      const d = current.s.syncs.shift();
      if (!d) return false;
      d.resolve();
      return true;
    },
    restart: async () => {
      current.s.cut();
      failNext = false;
      current = await construct();
      world.item = current.item;
      world.syncs = current.s.syncs;
      world.restarts++;
    },
  });
  world.item = current.item;
  world.syncs = current.s.syncs;
  return world;
}

export function saleConfig(overrides: Partial<SaleConfig> = {}): SaleConfig {
  const now = Date.now();
  return {
    id: crypto.randomUUID(),
    title: "Concurrent model",
    description: "",
    priceCents: 100,
    currency: "USD",
    stock: 3,
    perUserLimit: 2,
    startsAt: now - 1000,
    endsAt: now + 300_000,
    paymentWindowSeconds: 5,
    paused: false,
    ...overrides,
  };
}

/** Lets every microtask and timer-free continuation run (the object's rounds chain through promises). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
}

export interface StorageView {
  /** Σ quantity of held and paid orders. */
  holding: number;
  remaining: number;
  stock: number;
  orphans: number;
  orders: { id: string; user_id: string; quantity: number; status: string }[];
}

/** What storage holds now, read straight from SQLite. */
export function storageView(sql: SqlStorage): StorageView {
  const sale = sql
    .exec<{ config: string; remaining: number }>("SELECT config, remaining FROM sale WHERE id = 1")
    .toArray()[0];
  const orders = sql
    .exec<{ id: string; user_id: string; quantity: number; status: string }>(
      "SELECT id, user_id, quantity, status FROM orders",
    )
    .toArray();
  const holding = orders.filter((o) => o.status === "held" || o.status === "paid").reduce((n, o) => n + o.quantity, 0);
  const orphans = sql
    .exec<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE order_id NOT IN (SELECT id FROM orders)")
    .one().n;
  return { holding, remaining: sale.remaining, stock: (JSON.parse(sale.config) as SaleConfig).stock, orphans, orders };
}
