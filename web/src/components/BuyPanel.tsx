/**
 * The **Buy now** button and everything it can become.
 *
 * One click is one purchase intent with one `Idempotency-Key`: automatic retries after `429`/`503`/a lost
 * connection reuse it, so an answer lost on the way back can never turn into a second order (the server
 * returns the first `202` again). Retries wait at least `Retry-After`, with jitter, and say so on screen.
 * After a `202` the order's status is polled until it leaves `reserved`.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Order, Sale, SaleStatus } from "../../../lib/schemas.ts";
import { ApiFailure } from "../lib/api.ts";
import { serverNow } from "../lib/clock.ts";
import { effectiveStatus } from "../lib/sale-status.ts";
import { MAX_RATE_LIMITED_RETRIES, MAX_UNAVAILABLE_RETRIES, retryDelayMs } from "../lib/retry.ts";
import { navigate } from "../lib/router.ts";
import {
  currentUser,
  fetchOrder,
  fetchOrders,
  loadCurrentUser,
  markSignedOut,
  newIdempotencyKey,
  purchase,
} from "../lib/shop.ts";
import { useServerNow, usePolling } from "./hooks.ts";
import { Countdown, Link, OrderStatusBadge, buttonClass } from "./ui.tsx";

export type PurchasePhase =
  | { kind: "ready" }
  | { kind: "processing" }
  | { kind: "retrying"; reason: "rate_limited" | "unavailable" | "not_started"; retryAt: number; attempt: number }
  | { kind: "ordered"; order: Order }
  | { kind: "already"; orderId: string | null }
  | { kind: "closed"; status: Extract<SaleStatus, "sold_out" | "ended" | "paused">; at: number }
  | { kind: "failed"; message: string };

const ACTIVE_ORDER = new Set(["reserved", "confirmed", "paid"]);

/** Polls an order until it leaves `reserved`, and shows its status as it changes. */
export function OrderProgress({ initial }: { initial: Order }) {
  const [order, setOrder] = useState(initial);
  useEffect(() => setOrder(initial), [initial.id]);
  usePolling(
    async (signal) => {
      if (order.status !== "reserved") return;
      setOrder(await fetchOrder(order.id, signal));
    },
    1_000,
    [order.id, order.status],
  );
  return (
    <div class="rounded-lg border border-slate-300 bg-white p-4" data-order-id={order.id}>
      <p role="status" aria-live="polite" class="text-base text-slate-900">
        Your order is <OrderStatusBadge status={order.status} />
        {order.status === "reserved" && (
          <span class="ml-1 text-sm text-slate-700">— saving it, this takes a moment…</span>
        )}
        {order.status === "confirmed" && (
          <span class="ml-1 text-sm text-slate-700">— it's yours. Pay before the window closes.</span>
        )}
      </p>
      <p class="mt-2">
        <Link
          href={`/orders/${encodeURIComponent(order.id)}`}
          class="font-semibold text-red-800 underline underline-offset-2"
        >
          View order and pay
        </Link>
      </p>
    </div>
  );
}

export function BuyPanel({ sale, onStale }: { sale: Sale; onStale: () => void }) {
  const now = useServerNow();
  const [phase, setPhase] = useState<PurchasePhase>({ kind: "ready" });
  const [quantity, setQuantity] = useState(1);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const abort = useRef<AbortController | null>(null);

  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
      abort.current?.abort();
    },
    [],
  );

  // A shopper who already holds an order for this sale sees it rather than a button that would say 409.
  useEffect(() => {
    if (!currentUser.value) return;
    const controller = new AbortController();
    fetchOrders(controller.signal)
      .then((orders) => {
        const mine = orders.find((o) => o.saleId === sale.id && ACTIVE_ORDER.has(o.status));
        if (mine) setPhase((p) => (p.kind === "ready" ? { kind: "ordered", order: mine } : p));
      })
      .catch(() => {});
    return () => controller.abort();
  }, [sale.id, currentUser.value?.id]);

  // A "paused" verdict from the server holds until a fresher sale says otherwise.
  useEffect(() => {
    setPhase((p) =>
      p.kind === "closed" && p.status === "paused" && sale.status === "live" && Date.now() - p.at > 3_000
        ? { kind: "ready" }
        : p,
    );
  }, [sale]);

  const attempt = async (key: string, attemptNo: number) => {
    abort.current = new AbortController();
    setPhase({ kind: "processing" });
    try {
      const order = await purchase(sale.id, quantity, key, abort.current.signal);
      setPhase({ kind: "ordered", order });
      onStale();
      if (!currentUser.value) void loadCurrentUser({ force: true });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") return;
      if (!(err instanceof ApiFailure)) {
        setPhase({ kind: "failed", message: "Something went wrong, please try again" });
        return;
      }
      const retryable =
        err.code === "RATE_LIMITED"
          ? "rate_limited"
          : err.code === "UNAVAILABLE" || err.code === "NETWORK" || err.status >= 500
            ? "unavailable"
            : null;
      if (retryable) {
        const max = retryable === "rate_limited" ? MAX_RATE_LIMITED_RETRIES : MAX_UNAVAILABLE_RETRIES;
        if (attemptNo >= max) {
          setPhase({
            kind: "failed",
            message:
              retryable === "rate_limited"
                ? "Still too busy after several tries. Press Buy now to keep trying."
                : "The shop is unavailable right now. Press Buy now to try again.",
          });
          return;
        }
        const delay = retryDelayMs(err.retryAfterMs, attemptNo);
        setPhase({ kind: "retrying", reason: retryable, retryAt: performance.now() + delay, attempt: attemptNo });
        timer.current = setTimeout(() => void attempt(key, attemptNo + 1), delay);
        return;
      }
      switch (err.code) {
        case "UNAUTHENTICATED":
          markSignedOut();
          navigate(`/signin?next=${encodeURIComponent(location.pathname)}`);
          return;
        case "ALREADY_PURCHASED": {
          const orderId = (err.details as { orderId?: string } | undefined)?.orderId ?? null;
          setPhase({ kind: "already", orderId });
          return;
        }
        case "SOLD_OUT":
          setPhase({ kind: "closed", status: "sold_out", at: Date.now() });
          onStale();
          return;
        case "ENDED":
          setPhase({ kind: "closed", status: "ended", at: Date.now() });
          onStale();
          return;
        case "PAUSED":
          setPhase({ kind: "closed", status: "paused", at: Date.now() });
          onStale();
          return;
        case "NOT_STARTED": {
          // Our clock estimate was early (it can be off by half a round trip): resync, and if the start is
          // moments away, try again right after it — the shopper already said they want it.
          onStale();
          const startsAt = Date.parse((err.details as { startsAt?: string } | undefined)?.startsAt ?? "");
          const wait = Number.isNaN(startsAt) ? 1_000 : startsAt - serverNow();
          if (wait > 5_000 || attemptNo >= MAX_UNAVAILABLE_RETRIES) {
            setPhase({ kind: "ready" });
            return;
          }
          const delay = Math.max(0, wait) + retryDelayMs(0, 1);
          setPhase({ kind: "retrying", reason: "not_started", retryAt: performance.now() + delay, attempt: attemptNo });
          timer.current = setTimeout(() => void attempt(key, attemptNo + 1), delay);
          return;
        }
        case "INSUFFICIENT_STOCK":
          setPhase({ kind: "failed", message: "Not enough left for that quantity — try fewer." });
          onStale();
          return;
        default:
          setPhase({ kind: "failed", message: err.message });
      }
    }
  };

  // Always ask the server, even when we think nobody is signed in: the session cookie is HttpOnly, so a
  // session made elsewhere (another tab, an API client sharing the cookie jar) is invisible to us. A 401
  // sends the shopper to sign in.
  const buy = () => void attempt(newIdempotencyKey(), 1);

  const status: SaleStatus = phase.kind === "closed" ? phase.status : effectiveStatus(sale, now);
  const startsIn = Date.parse(sale.startsAt) - now;
  const maxQuantity = Math.max(1, Math.min(sale.perUserLimit, sale.remaining || 1));

  let label = "Buy now";
  let disabled = false;
  let note: ComponentChildren = null;
  if (phase.kind === "ordered") return <OrderProgress initial={phase.order} />;
  if (phase.kind === "already") {
    return (
      <div class="rounded-lg border border-slate-300 bg-white p-4" role="status">
        <p class="text-base text-slate-900">You already bought this one — one order per shopper.</p>
        <p class="mt-2">
          <Link
            href={phase.orderId ? `/orders/${encodeURIComponent(phase.orderId)}` : "/orders"}
            class="font-semibold text-red-800 underline underline-offset-2"
          >
            View your order
          </Link>
        </p>
      </div>
    );
  }
  if (phase.kind === "processing") {
    label = "Buying…";
    disabled = true;
  } else if (phase.kind === "retrying") {
    disabled = true;
    label = "Waiting to retry…";
    const secs = Math.max(1, Math.ceil((phase.retryAt - performance.now()) / 1000));
    note =
      phase.reason === "rate_limited"
        ? `Lots of shoppers right now. Retrying automatically in ${secs} s…`
        : phase.reason === "not_started"
          ? `Not quite open yet. Trying again in ${secs} s…`
          : `The shop is briefly unavailable. Retrying automatically in ${secs} s…`;
  } else if (status === "scheduled") {
    disabled = true;
  } else if (status === "paused") {
    label = "Paused";
    disabled = true;
    note = "The merchant has paused this sale. It may resume shortly.";
  } else if (status === "sold_out") {
    label = "Sold out";
    disabled = true;
  } else if (status === "ended") {
    label = "Ended";
    disabled = true;
  } else if (phase.kind === "failed") {
    note = phase.message;
  }

  return (
    <div class="space-y-3">
      {status === "scheduled" && phase.kind === "ready" && (
        <p class="text-lg text-slate-900" id="buy-countdown">
          Starts in{" "}
          <strong class="text-2xl">
            <Countdown ms={startsIn} />
          </strong>
        </p>
      )}
      <div class="flex flex-wrap items-end gap-3">
        {sale.perUserLimit > 1 && status === "live" && (
          <div>
            <label for="quantity" class="block text-sm font-semibold text-slate-900">
              Quantity
            </label>
            <input
              id="quantity"
              type="number"
              inputMode="numeric"
              min={1}
              max={maxQuantity}
              value={quantity}
              onInput={(e) =>
                setQuantity(Math.max(1, Math.min(maxQuantity, Number((e.target as HTMLInputElement).value) || 1)))
              }
              class="mt-1 block w-24 rounded-lg border border-slate-400 px-3 py-2 text-base"
              disabled={disabled}
            />
          </div>
        )}
        <button
          type="button"
          class={`${buttonClass.primary} w-full sm:w-auto sm:min-w-48`}
          disabled={disabled}
          aria-busy={phase.kind === "processing" || phase.kind === "retrying"}
          aria-describedby={status === "scheduled" ? "buy-countdown" : note ? "buy-note" : undefined}
          onClick={buy}
          data-testid="buy-button"
        >
          {label}
        </button>
      </div>
      <p
        id="buy-note"
        role="status"
        aria-live="polite"
        class={`text-sm ${phase.kind === "failed" ? "font-medium text-red-800" : "text-slate-800"}`}
      >
        {note}
      </p>
      {currentUser.value === null && (status === "live" || status === "scheduled") && (
        <p class="text-sm text-slate-700">
          <Link
            href={`/signin?next=${encodeURIComponent(`/sales/${sale.id}`)}`}
            class="font-semibold text-red-800 underline underline-offset-2"
          >
            Sign in
          </Link>{" "}
          before the sale starts to be ready to buy.
        </p>
      )}
    </div>
  );
}
