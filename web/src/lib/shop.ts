/**
 * The shopper API of docs/api.md, typed by the shared schemas, plus the signed-in user as a signal.
 * Every answer with `serverTime` also feeds the server clock (see clock.ts).
 */
import { signal } from "@preact/signals";
import type { Credentials, Order, Sale, User } from "../../../lib/schemas.ts";
import { ApiFailure, apiRequest } from "./api.ts";
import { recordServerTime } from "./clock.ts";

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

async function timed<T extends { serverTime: string }>(path: string, signal?: AbortSignal): Promise<T> {
  const sentAt = performance.now();
  const { data } = await apiRequest<T>(path, { signal });
  recordServerTime(data.serverTime, sentAt, performance.now());
  return data;
}

export function fetchSales(signal?: AbortSignal) {
  return timed<{ serverTime: string; sales: Sale[] }>("/api/sales", signal);
}

export function fetchSale(id: string, signal?: AbortSignal) {
  return timed<{ serverTime: string; sale: Sale }>(`/api/sales/${encodeURIComponent(id)}`, signal);
}

export async function purchase(
  saleId: string,
  quantity: number,
  idempotencyKey: string,
  signal?: AbortSignal,
): Promise<Order> {
  const { data } = await apiRequest<{ order: Order }>(`/api/sales/${encodeURIComponent(saleId)}/purchase`, {
    method: "POST",
    body: { quantity },
    headers: { "Idempotency-Key": idempotencyKey },
    signal,
  });
  return data.order;
}

export async function fetchOrders(signal?: AbortSignal): Promise<Order[]> {
  return (await apiRequest<{ orders: Order[] }>("/api/orders", { signal })).data.orders;
}

export async function fetchOrder(id: string, signal?: AbortSignal): Promise<Order> {
  return (await apiRequest<{ order: Order }>(`/api/orders/${encodeURIComponent(id)}`, { signal })).data.order;
}

export async function payOrder(id: string): Promise<Order> {
  return (await apiRequest<{ order: Order }>(`/api/orders/${encodeURIComponent(id)}/pay`, { method: "POST" })).data
    .order;
}

export async function cancelOrder(id: string): Promise<Order> {
  return (await apiRequest<{ order: Order }>(`/api/orders/${encodeURIComponent(id)}/cancel`, { method: "POST" })).data
    .order;
}

export async function register(credentials: Credentials): Promise<User> {
  const { data } = await apiRequest<{ user: User }>("/api/auth/register", { method: "POST", body: credentials });
  markSignedIn(data.user);
  return data.user;
}

export async function login(credentials: Credentials): Promise<User> {
  const { data } = await apiRequest<{ user: User }>("/api/auth/login", { method: "POST", body: credentials });
  markSignedIn(data.user);
  return data.user;
}

export async function logout(): Promise<void> {
  await apiRequest<void>("/api/auth/logout", { method: "POST" });
  markSignedOut();
}

/** Asks who is signed in; a 401 means nobody, a network failure leaves it unknown. */
export async function loadCurrentUser(options: { force?: boolean } = {}): Promise<void> {
  if (!options.force && !signedInHint()) {
    currentUser.value = null;
    return;
  }
  try {
    markSignedIn((await apiRequest<{ user: User }>("/api/me")).data.user);
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
