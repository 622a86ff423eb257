/**
 * The **Buy now** button and everything it can become.
 *
 * One click is one purchase intent with one `Idempotency-Key`: automatic retries after `429`/`503`/a lost
 * connection reuse it, so an answer lost on the way back can never turn into a second order (the server
 * returns the first `202` again). Retries wait at least `Retry-After`, with jitter, say so on screen, and can
 * be stopped. Offline, the intent waits for the browser's `online` event instead of burning retries.
 * After a `202` the order's status is polled until it leaves `reserved`.
 *
 * A shopper who already has an order for the sale (one per shopper, docs/api.md) never sees an enabled button
 * the server would refuse: an active order shows its progress, an expired or cancelled one says what happened.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Order, Sale, SaleStatus } from "../../../lib/contract/schemas.ts";
import { ApiFailure, describeFailure } from "../lib/api.ts";
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
import { t } from "../i18n/shop.ts";
import { useMoments, useServerNow, usePolling } from "./hooks.ts";
import { Countdown, Link, OrderStatusBadge, SignInToSale, buttonClass } from "./ui.tsx";
import { WorkProgress } from "./WorkProgress.tsx";
import { needsChallenge, proveWork } from "../lib/challenge.ts";

type RetryReason = "busy" | "too_fast" | "unavailable" | "not_started";

export type PurchasePhase =
  | { kind: "ready" }
  | { kind: "processing" }
  /** The device is solving a proof-of-work challenge (a `challenge` sale; docs/api.md "Proof of work"). */
  | { kind: "solving" }
  | { kind: "retrying"; reason: RetryReason; retryAt: number; attempt: number }
  /** The browser is offline: the same intent is tried again on `online`. */
  | { kind: "offline"; attempt: number }
  | { kind: "ordered"; order: Order }
  | { kind: "already"; orderId: string | null }
  /** The shopper's order for this sale expired or was cancelled: one order per shopper, so no button. */
  | { kind: "past"; order: Order }
  | { kind: "closed"; status: Extract<SaleStatus, "sold_out" | "ended" | "paused">; at: number }
  | { kind: "stopped" }
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
        {t("progress.prefix")} <OrderStatusBadge status={order.status} />
        {order.status === "reserved" && <span class="ml-1 text-sm text-slate-700">{t("progress.reserved")}</span>}
        {order.status === "confirmed" && <span class="ml-1 text-sm text-slate-700">{t("progress.confirmed")}</span>}
      </p>
      <p class="mt-2">
        <Link
          href={`/orders/${encodeURIComponent(order.id)}`}
          class="font-semibold text-red-800 underline underline-offset-2"
        >
          {t("progress.viewAndPay")}
        </Link>
      </p>
    </div>
  );
}

/** What happened to the shopper's one order for this sale, when it is over (expired or cancelled). */
function PastOrder({ order }: { order: Order }) {
  return (
    <div class="rounded-lg border border-slate-300 bg-white p-4" role="status" data-past-order={order.status}>
      <p class="text-base text-slate-900">{t(order.status === "expired" ? "buy.pastExpired" : "buy.pastCancelled")}</p>
      <p class="mt-2">
        <Link
          href={`/orders/${encodeURIComponent(order.id)}`}
          class="font-semibold text-red-800 underline underline-offset-2"
        >
          {t("buy.viewOrder")}
        </Link>
      </p>
    </div>
  );
}

/**
 * Whose fault a `429` is: the shopper's own attempts (the per-shopper or per-network limit, `details.scope`
 * "shopper") or the sale's admission ceiling (`"sale"`: lots of shoppers). Without `details.scope` (an older
 * gateway), a long `Retry-After` means the per-shopper limit (10 s there, 1 s for admission).
 */
export function rateLimitReason(err: ApiFailure): "busy" | "too_fast" {
  const scope = (err.details as { scope?: unknown } | undefined)?.scope;
  if (scope === "shopper") return "too_fast";
  if (scope === "sale") return "busy";
  return err.retryAfterMs !== null && err.retryAfterMs >= 5_000 ? "too_fast" : "busy";
}

function isOffline(): boolean {
  return typeof navigator !== "undefined" && navigator.onLine === false;
}

/** The retry's note, counting down its seconds (only this re-renders every second). */
function RetryNote({ reason, retryAt }: { reason: RetryReason; retryAt: number }) {
  useServerNow();
  const seconds = Math.max(1, Math.ceil((retryAt - performance.now()) / 1000));
  const key =
    reason === "busy"
      ? "buy.retryBusy"
      : reason === "too_fast"
        ? "buy.retryTooFast"
        : reason === "not_started"
          ? "buy.retryNotStarted"
          : "buy.retryUnavailable";
  return <>{t(key, { seconds })}</>;
}

export function BuyPanel({ sale, onStale }: { sale: Sale; onStale: () => void }) {
  const startsAt = Date.parse(sale.startsAt);
  // Re-rendered at the start and the end themselves — to the millisecond, not on the next whole second.
  const now = useMoments([startsAt, Date.parse(sale.endsAt)]);
  const [phase, setPhase] = useState<PurchasePhase>({ kind: "ready" });
  const [quantity, setQuantity] = useState(1);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const abort = useRef<AbortController | null>(null);
  /** The intent being tried (its Idempotency-Key) while retrying or waiting to be back online. */
  const intent = useRef<string | null>(null);
  /**
   * The solved challenge for this intent (a `challenge` sale): kept across retries, since a refusal before the
   * gateway checks it (429, 503) does not spend it; dropped when the server says it is spent, expired or missing.
   */
  const proof = useRef<string | null>(null);
  /** `CHALLENGE_REQUIRED` answers to the current intent: after two, it is not tried again. */
  const refusals = useRef(0);
  const wasOpen = useRef(false);

  const cancelPending = () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
  };

  useEffect(
    () => () => {
      cancelPending();
      abort.current?.abort();
    },
    [],
  );

  // A shopper who already has an order for this sale sees it (or what became of it) rather than a button
  // that would say 409.
  useEffect(() => {
    if (!currentUser.value) return;
    const controller = new AbortController();
    fetchOrders(controller.signal)
      .then((orders) => {
        const mine = orders.find((o) => o.saleId === sale.id);
        if (!mine) return;
        const next: PurchasePhase = ACTIVE_ORDER.has(mine.status)
          ? { kind: "ordered", order: mine }
          : { kind: "past", order: mine };
        setPhase((p) => (p.kind === "ready" || p.kind === "failed" || p.kind === "stopped" ? next : p));
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
    cancelPending();
    intent.current = key;
    abort.current = new AbortController();
    const signal = abort.current.signal;
    try {
      // A challenge sale: solve first (when signed in, or asked to: a signed-out shopper gets the 401 first).
      if (!proof.current && (refusals.current > 0 || (sale.challenge && currentUser.value))) {
        setPhase({ kind: "solving" });
        try {
          proof.current = await proveWork(signal);
        } catch (err) {
          if (err instanceof DOMException && err.name === "AbortError") return;
          if (!(err instanceof ApiFailure)) {
            intent.current = null;
            setPhase({ kind: "failed", message: t("pow.failed") });
            return;
          }
          throw err;
        }
      }
      setPhase({ kind: "processing" });
      const order = await purchase(sale.id, quantity, key, signal, proof.current ?? undefined);
      proof.current = null;
      refusals.current = 0;
      intent.current = null;
      setPhase({ kind: "ordered", order });
      onStale();
      if (!currentUser.value) void loadCurrentUser({ force: true });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") return;
      if (!(err instanceof ApiFailure)) {
        intent.current = null;
        setPhase({ kind: "failed", message: t("buy.failed") });
        return;
      }
      if (needsChallenge(err)) {
        // Spent, expired or missing: solve a new one, once more for this intent.
        proof.current = null;
        if (++refusals.current <= 2) {
          void attempt(key, attemptNo);
          return;
        }
      }
      if (err.code === "NETWORK" && isOffline()) {
        // Nothing will get through until the connection is back: wait for `online` (see below).
        setPhase({ kind: "offline", attempt: attemptNo });
        return;
      }
      const retryable: RetryReason | null =
        err.code === "RATE_LIMITED"
          ? rateLimitReason(err)
          : err.code === "UNAVAILABLE" || err.code === "NETWORK" || err.status >= 500
            ? "unavailable"
            : null;
      if (retryable) {
        const max = retryable === "unavailable" ? MAX_UNAVAILABLE_RETRIES : MAX_RATE_LIMITED_RETRIES;
        if (attemptNo >= max) {
          // Given up; the intent is kept so that a connection coming back (`online`) still tries it.
          setPhase({
            kind: "failed",
            message: t(retryable === "unavailable" ? "buy.gaveUpUnavailable" : "buy.gaveUpBusy"),
          });
          if (err.code !== "NETWORK") intent.current = null;
          return;
        }
        const delay = retryDelayMs(err.retryAfterMs, attemptNo);
        setPhase({ kind: "retrying", reason: retryable, retryAt: performance.now() + delay, attempt: attemptNo });
        timer.current = setTimeout(() => void attempt(key, attemptNo + 1), delay);
        return;
      }
      intent.current = null;
      switch (err.code) {
        case "UNAUTHENTICATED":
          markSignedOut();
          navigate(`/signin?next=${encodeURIComponent(location.pathname)}`);
          return;
        case "ALREADY_PURCHASED": {
          const orderId = (err.details as { orderId?: string } | undefined)?.orderId ?? null;
          setPhase({ kind: "already", orderId });
          // Say what became of that order (it may have expired or been cancelled).
          if (orderId)
            fetchOrder(orderId).then(
              (order) =>
                setPhase((p) =>
                  p.kind === "already"
                    ? ACTIVE_ORDER.has(order.status)
                      ? { kind: "ordered", order }
                      : { kind: "past", order }
                    : p,
                ),
              () => {},
            );
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
          const startsAtServer = Date.parse((err.details as { startsAt?: string } | undefined)?.startsAt ?? "");
          const wait = Number.isNaN(startsAtServer) ? 1_000 : startsAtServer - serverNow();
          if (wait > 5_000 || attemptNo >= MAX_UNAVAILABLE_RETRIES) {
            setPhase({ kind: "ready" });
            return;
          }
          const delay = Math.max(0, wait) + retryDelayMs(0, 1);
          intent.current = key;
          setPhase({ kind: "retrying", reason: "not_started", retryAt: performance.now() + delay, attempt: attemptNo });
          timer.current = setTimeout(() => void attempt(key, attemptNo + 1), delay);
          return;
        }
        case "INSUFFICIENT_STOCK":
          setPhase({ kind: "failed", message: t("error.INSUFFICIENT_STOCK") });
          onStale();
          return;
        default:
          setPhase({ kind: "failed", message: describeFailure(err) });
      }
    }
  };

  // Back online: an intent that was waiting for the connection (or gave up for lack of one) is tried again,
  // with its Idempotency-Key, and the retry budget starts over.
  useEffect(() => {
    const onOnline = () => {
      const key = intent.current;
      if (key && (phase.kind === "offline" || phase.kind === "failed" || phase.kind === "retrying")) {
        void attempt(key, 1);
      }
    };
    const onOffline = () => {
      if (phase.kind === "retrying" && phase.reason === "unavailable") {
        cancelPending();
        setPhase({ kind: "offline", attempt: phase.attempt });
      }
    };
    window.addEventListener("online", onOnline);
    window.addEventListener("offline", onOffline);
    return () => {
      window.removeEventListener("online", onOnline);
      window.removeEventListener("offline", onOffline);
    };
  });

  const stop = () => {
    cancelPending();
    abort.current?.abort();
    intent.current = null;
    proof.current = null;
    refusals.current = 0;
    setPhase({ kind: "stopped" });
  };

  // Always ask the server, even when we think nobody is signed in: the session cookie is HttpOnly, so a
  // session made elsewhere (another tab, an API client sharing the cookie jar) is invisible to us. A 401
  // sends the shopper to sign in.
  const buy = () => {
    proof.current = null;
    refusals.current = 0;
    void attempt(newIdempotencyKey(), 1);
  };

  const status: SaleStatus = phase.kind === "closed" ? phase.status : effectiveStatus(sale, now);
  if (status === "live" || status === "scheduled") wasOpen.current = true;
  const maxQuantity = Math.max(1, Math.min(sale.perUserLimit, sale.remaining || 1));

  if (phase.kind === "ordered") return <OrderProgress initial={phase.order} />;
  if (phase.kind === "past") return <PastOrder order={phase.order} />;
  if (phase.kind === "already") {
    return (
      <div class="rounded-lg border border-slate-300 bg-white p-4" role="status">
        <p class="text-base text-slate-900">{t("buy.already")}</p>
        <p class="mt-2">
          <Link
            href={phase.orderId ? `/orders/${encodeURIComponent(phase.orderId)}` : "/orders"}
            class="font-semibold text-red-800 underline underline-offset-2"
          >
            {t("buy.viewOrder")}
          </Link>
        </p>
      </div>
    );
  }

  let label = t("buy.button");
  let disabled = false;
  let note: ComponentChildren = null;
  let canStop = false;
  if (phase.kind === "processing") {
    label = t("buy.buying");
    disabled = true;
  } else if (phase.kind === "solving") {
    label = t("pow.label");
    disabled = true;
    canStop = true;
  } else if (phase.kind === "retrying") {
    disabled = true;
    canStop = true;
    label = t("buy.waiting");
    note = <RetryNote reason={phase.reason} retryAt={phase.retryAt} />;
  } else if (phase.kind === "offline") {
    disabled = true;
    canStop = true;
    label = t("buy.waiting");
    note = t("buy.retryOffline");
  } else if (status === "scheduled") {
    disabled = true;
  } else if (status === "paused") {
    label = t("status.paused");
    disabled = true;
    note = t("buy.pausedNote");
  } else if (status === "sold_out") {
    label = t("status.sold_out");
    disabled = true;
  } else if (status === "ended") {
    label = t("status.ended");
    disabled = true;
  } else if (phase.kind === "failed") {
    note = phase.message;
  } else if (phase.kind === "stopped") {
    note = t("buy.stopped");
  }

  return (
    <div class="space-y-3">
      {status === "sold_out" && (
        <div class="rounded-lg border-2 border-red-700 bg-red-50 p-4" role="status" data-sold-out>
          <p class="text-lg font-bold text-red-900">
            {t(phase.kind === "closed" || wasOpen.current ? "buy.soldOutNow" : "sale.soldOutBanner")}
          </p>
          <p class="mt-1 text-sm text-red-900">{t("sale.soldOutReturns")}</p>
        </div>
      )}
      {status === "ended" && (
        <p
          class="rounded-lg border border-slate-300 bg-slate-100 p-4 text-base font-semibold text-slate-900"
          role="status"
        >
          {t("sale.endedBanner")}
        </p>
      )}
      {status === "scheduled" && phase.kind === "ready" && (
        <p class="text-lg text-slate-900" id="buy-countdown">
          {t("countdown.startsIn")}{" "}
          <strong class="text-2xl">
            <Countdown to={startsAt} />
          </strong>
        </p>
      )}
      <div class="flex flex-wrap items-end gap-3">
        {sale.perUserLimit > 1 && status === "live" && (
          <div>
            <label for="quantity" class="block text-sm font-semibold text-slate-900">
              {t("buy.quantity")}
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
          aria-busy={phase.kind === "processing" || phase.kind === "retrying" || phase.kind === "solving"}
          aria-describedby={status === "scheduled" ? "buy-countdown" : note ? "buy-note" : undefined}
          onClick={buy}
          data-testid="buy-button"
        >
          {label}
        </button>
        {canStop && (
          <button type="button" class={buttonClass.secondary} onClick={stop}>
            {t("buy.stop")}
          </button>
        )}
      </div>
      {phase.kind === "solving" && <WorkProgress />}
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
          <SignInToSale saleId={sale.id} class="font-semibold text-red-800 underline underline-offset-2">
            {t("buy.signInLink")}
          </SignInToSale>
          {t(status === "live" ? "buy.signInLive" : "buy.signInBefore")}
        </p>
      )}
    </div>
  );
}
