/**
 * The shopper API of docs/api.md, typed by the shared schemas, plus the signed-in user as a signal.
 * Every answer with `serverTime` also feeds the server clock (see clock.ts).
 */
import { signal } from "@preact/signals";
import type { Credentials, Order, ShopperRoutes, User } from "../../../lib/contract/schemas.ts";
import { ApiFailure, createClient } from "./api.ts";
import { recordServerTime } from "./clock.ts";
import { CHALLENGE_HEADER } from "./challenge.ts";

/** `undefined` while unknown (the first `/api/me` is in flight), `null` when signed out. */
export const currentUser = signal<User | null | undefined>(undefined);

/**
 * The session cookie is HttpOnly, so the page can't see it. This flag remembers that we signed in, so a
 * visitor who never did isn't sent to `/api/me` only to be told 401 (which the browser reports as a console
 * error on every page load). It is a hint, never trusted: the server decides on every request.
 */
const SIGNED_IN_HINT = "minishop.signedIn";

function setSignedInHint(on: boolean) {
  try {
    if (on) localStorage.setItem(SIGNED_IN_HINT, "1");
    else localStorage.removeItem(SIGNED_IN_HINT);
  } catch {
    // Storage disabled: we ask /api/me every time instead.
  }
}

function signedInHint(): boolean {
  try {
    return localStorage.getItem(SIGNED_IN_HINT) === "1";
  } catch {
    return true;
  }
}

/** Call when the server says the session is gone (a 401). */
export function markSignedOut(): void {
  currentUser.value = null;
  setSignedInHint(false);
}

function markSignedIn(user: User): void {
  currentUser.value = user;
  setSignedInHint(true);
}

/** The shopper API, typed by the contract's route table (lib/contract/schemas.ts `ShopperRoutes`). */
const shopper = createClient<ShopperRoutes>();

/** Requests whose answer carries `serverTime` also feed the server clock (see clock.ts). */
async function timed<T extends { serverTime: string }>(request: () => Promise<{ data: T }>): Promise<T> {
  const sentAt = performance.now();
  const { data } = await request();
  recordServerTime(data.serverTime, sentAt, performance.now());
  return data;
}

export function fetchSales(signal?: AbortSignal) {
  return timed(() => shopper("GET /api/sales", { signal }));
}

export function fetchSale(id: string, signal?: AbortSignal) {
  return timed(() => shopper("GET /api/sales/:id", { params: { id }, signal }));
}

/** `proof`: a solved challenge (`X-Altcha`, ./challenge.ts), for a sale with `challenge: true`. */
export async function purchase(
  saleId: string,
  quantity: number,
  idempotencyKey: string,
  signal?: AbortSignal,
  proof?: string,
): Promise<Order> {
  const { data } = await shopper("POST /api/sales/:id/purchase", {
    params: { id: saleId },
    body: { quantity },
    headers: { "Idempotency-Key": idempotencyKey, ...(proof ? { [CHALLENGE_HEADER]: proof } : {}) },
    signal,
  });
  return data.order;
}

export async function fetchOrders(signal?: AbortSignal): Promise<Order[]> {
  return (await shopper("GET /api/orders", { signal })).data.orders;
}

export async function fetchOrder(id: string, signal?: AbortSignal): Promise<Order> {
  return (await shopper("GET /api/orders/:id", { params: { id }, signal })).data.order;
}

export async function payOrder(id: string): Promise<Order> {
  return (await shopper("POST /api/orders/:id/pay", { params: { id } })).data.order;
}

export async function cancelOrder(id: string): Promise<Order> {
  return (await shopper("POST /api/orders/:id/cancel", { params: { id } })).data.order;
}

/** `proof`: a solved challenge (`X-Altcha`, ./challenge.ts); production asks for one. */
export async function register(credentials: Credentials, proof?: string): Promise<User> {
  const { data } = await shopper("POST /api/auth/register", {
    body: credentials,
    headers: proof ? { [CHALLENGE_HEADER]: proof } : undefined,
  });
  markSignedIn(data.user);
  return data.user;
}

export async function login(credentials: Credentials): Promise<User> {
  const { data } = await shopper("POST /api/auth/login", { body: credentials });
  markSignedIn(data.user);
  return data.user;
}

export async function logout(): Promise<void> {
  await shopper("POST /api/auth/logout");
  markSignedOut();
}

/** Asks who is signed in; a 401 means nobody, a network failure leaves it unknown. */
export async function loadCurrentUser(options: { force?: boolean } = {}): Promise<void> {
  if (!options.force && !signedInHint()) {
    currentUser.value = null;
    return;
  }
  try {
    markSignedIn((await shopper("GET /api/me")).data.user);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) markSignedOut();
    else if (currentUser.value === undefined) currentUser.value = null;
  }
}

/** Statuses after which an order no longer changes by itself. */
export function isSettled(order: Order): boolean {
  return order.status !== "reserved";
}

export function newIdempotencyKey(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
