/** Test doubles for the web app's component tests: a scripted `fetch` and ready-made contract objects. */
import { vi } from "vitest";
import type { Order, Sale } from "../../lib/contract/schemas.ts";

export type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

/** Replaces `fetch`; every call is recorded as `[method, path]`. */
export function mockFetch(handler: Handler) {
  const calls: { method: string; path: string; init: RequestInit }[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const path = new URL(url, "http://localhost").pathname + new URL(url, "http://localhost").search;
    calls.push({ method: init.method ?? "GET", path, init });
    return handler(path, init);
  });
  vi.stubGlobal("fetch", fn);
  return calls;
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export function apiError(
  status: number,
  code: string,
  message = code,
  details?: unknown,
  headers: Record<string, string> = {},
): Response {
  return json({ error: { code, message, ...(details === undefined ? {} : { details }) } }, status, headers);
}

export function makeSale(overrides: Partial<Sale> = {}): Sale {
  const now = Date.now();
  return {
    id: "0b7f5a2e-1111-4222-8333-444455556666",
    title: "Limited sneakers",
    description: "Only a few pairs",
    priceCents: 4999,
    currency: "USD",
    stock: 10,
    remaining: 7,
    perUserLimit: 1,
    startsAt: new Date(now - 60_000).toISOString(),
    endsAt: new Date(now + 3_600_000).toISOString(),
    status: "live",
    paymentWindowSeconds: 900,
    ...overrides,
  };
}

export function makeOrder(overrides: Partial<Order> = {}): Order {
  const now = Date.now();
  const quantity = overrides.quantity ?? 1;
  // priceCents is the line total (docs/api.md, "Order prices").
  const total = overrides.totalCents ?? overrides.priceCents ?? 4999 * quantity;
  return {
    id: "a".repeat(48),
    saleId: makeSale().id,
    userId: "user-1",
    quantity,
    priceCents: total,
    unitPriceCents: total / quantity,
    totalCents: total,
    status: "reserved",
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 900_000).toISOString(),
    ...overrides,
  };
}
