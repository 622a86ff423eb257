/** "My orders" and one order: status (polled while reserved), pay / cancel, and the payment window. */
import { useEffect, useState } from "preact/hooks";
import type { Order, Sale } from "../../../lib/contract/schemas.ts";
import { ApiFailure, describeFailure } from "../lib/api.ts";
import { formatDateTime, formatPrice, shortId } from "../lib/format.ts";
import { navigate } from "../lib/router.ts";
import { cancelOrder, currentUser, fetchOrder, fetchOrders, fetchSales, markSignedOut, payOrder } from "../lib/shop.ts";
import { ta } from "../i18n/account.ts";
import { useMoments, usePolling } from "../components/hooks.ts";
import { Alert, Countdown, Link, OrderStatusBadge, PageHeading, buttonClass } from "../components/ui.tsx";

/** Titles and currencies for order rows; also syncs the server clock for the payment countdown. */
function useSaleIndex(): Map<string, Sale> {
  const [index, setIndex] = useState(new Map<string, Sale>());
  useEffect(() => {
    const controller = new AbortController();
    fetchSales(controller.signal)
      .then((body) => setIndex(new Map(body.sales.map((s) => [s.id, s]))))
      .catch(() => {});
    return () => controller.abort();
  }, []);
  return index;
}

function useRequireSignIn(): boolean {
  const user = currentUser.value;
  useEffect(() => {
    if (user === null) navigate(`/signin?next=${encodeURIComponent(location.pathname)}`, { replace: true });
  }, [user]);
  return Boolean(user);
}

/** What the shopper pays: the order's total (docs/api.md, "Order prices"; `priceCents` is that total too). */
function totalOf(order: Order, sale: Sale | undefined): string {
  return formatPrice(order.totalCents ?? order.priceCents, sale?.currency ?? "USD");
}

/** One unit's price (an answer from before `unitPriceCents` existed has the total in `priceCents`). */
function unitOf(order: Order, sale: Sale | undefined): string {
  return formatPrice(order.unitPriceCents ?? order.priceCents / order.quantity, sale?.currency ?? "USD");
}

export function OrdersPage() {
  const signedIn = useRequireSignIn();
  const sales = useSaleIndex();
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  usePolling(
    async (signal) => {
      if (!signedIn) return;
      try {
        const list = await fetchOrders(signal);
        setOrders([...list].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt)));
        setError(null);
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 401) markSignedOut();
        setError(describeFailure(err));
        throw err;
      }
    },
    5_000,
    [signedIn],
  );

  return (
    <section class="space-y-4">
      <PageHeading>{ta("orders.heading")}</PageHeading>
      {error && <Alert>{error}</Alert>}
      {orders === null && !error && <p class="text-slate-700">{ta("orders.loading")}</p>}
      {orders && orders.length === 0 && (
        <p class="text-slate-700">
          {ta("orders.empty")}{" "}
          <Link href="/" class="font-semibold text-red-800 underline">
            {ta("orders.browse")}
          </Link>
        </p>
      )}
      {orders && orders.length > 0 && (
        <ul
          class="divide-y divide-slate-200 rounded-xl border border-slate-300 bg-white"
          aria-label={ta("orders.list")}
        >
          {orders.map((o) => (
            <li key={o.id} class="flex flex-wrap items-center justify-between gap-2 p-4">
              <div class="min-w-0">
                <Link
                  href={`/orders/${encodeURIComponent(o.id)}`}
                  class="font-semibold wrap-anywhere text-slate-900 underline-offset-2 hover:underline"
                >
                  {sales.get(o.saleId)?.title ?? ta("orders.fallbackTitle", { id: shortId(o.id) })}
                </Link>
                <p class="text-sm text-slate-700">
                  {o.quantity} × {unitOf(o, sales.get(o.saleId))} = {totalOf(o, sales.get(o.saleId))} ·{" "}
                  {formatDateTime(o.createdAt)}
                </p>
              </div>
              <OrderStatusBadge status={o.status} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function OrderPage({ id }: { id: string }) {
  const signedIn = useRequireSignIn();
  const sales = useSaleIndex();
  const [order, setOrder] = useState<Order | null>(null);
  // Re-rendered when the payment window closes; the countdown ticks by itself.
  const now = useMoments(order ? [Date.parse(order.expiresAt)] : []);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [busy, setBusy] = useState<"pay" | "cancel" | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [confirmingCancel, setConfirmingCancel] = useState(false);
  // The question takes focus when it opens, so keyboard and screen-reader users land on it.
  useEffect(() => {
    if (confirmingCancel) document.getElementById("cancel-yes")?.focus();
  }, [confirmingCancel]);

  const open = order !== null && (order.status === "reserved" || order.status === "confirmed");
  const windowLeft = order ? Date.parse(order.expiresAt) - now : 0;

  usePolling(
    async (signal) => {
      if (!signedIn) return;
      // Poll while the order can still change by itself: reserved → confirmed, or the window closing.
      if (order && !open) return;
      try {
        setOrder(await fetchOrder(id, signal));
        setError(null);
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 401) markSignedOut();
        if (err instanceof ApiFailure) setError(err);
        throw err;
      }
    },
    order?.status === "confirmed" && windowLeft > 5_000 ? 5_000 : 1_000,
    [id, signedIn, order?.status, open && windowLeft <= 0],
  );

  const act = async (kind: "pay" | "cancel") => {
    if (!order) return;
    setBusy(kind);
    setActionError(null);
    try {
      setOrder(kind === "pay" ? await payOrder(order.id) : await cancelOrder(order.id));
    } catch (err) {
      setActionError(describeFailure(err));
      fetchOrder(order.id).then(setOrder, () => {});
    } finally {
      setBusy(null);
    }
  };

  if (error?.status === 404) {
    return (
      <section class="space-y-4">
        <PageHeading>{ta("order.notFound")}</PageHeading>
        <Link href="/orders" class="font-semibold text-red-800 underline">
          {ta("order.back")}
        </Link>
      </section>
    );
  }
  if (!order) {
    return (
      <section class="space-y-4">
        <PageHeading>{error ? ta("order.cantLoad") : ta("order.loading")}</PageHeading>
        {error && <Alert>{describeFailure(error)}</Alert>}
      </section>
    );
  }

  const sale = sales.get(order.saleId);
  return (
    <section class="space-y-5" data-order-id={order.id}>
      <p>
        <Link href="/orders" class="text-sm font-semibold text-red-800 underline underline-offset-2">
          <span aria-hidden="true">← </span>
          {ta("order.back")}
        </Link>
      </p>
      <PageHeading>
        <span class="wrap-anywhere">{sale ? sale.title : ta("orders.fallbackTitle", { id: shortId(order.id) })}</span>
      </PageHeading>
      <div class="space-y-4 rounded-xl border border-slate-300 bg-white p-5 shadow-sm">
        <p role="status" aria-live="polite" class="text-base text-slate-900">
          {ta("order.status")} <OrderStatusBadge status={order.status} />
        </p>
        <dl class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm text-slate-800">
          <dt class="font-semibold">{ta("order.id")}</dt>
          <dd class="break-all font-mono">{order.id}</dd>
          <dt class="font-semibold">{ta("order.sale")}</dt>
          <dd>
            <Link
              href={`/sales/${encodeURIComponent(order.saleId)}`}
              class="font-semibold text-red-800 underline underline-offset-2"
            >
              {sale ? sale.title : ta("order.viewSale")}
            </Link>
          </dd>
          <dt class="font-semibold">{ta("order.quantity")}</dt>
          <dd>{order.quantity}</dd>
          <dt class="font-semibold">{ta("order.unitPrice")}</dt>
          <dd>{unitOf(order, sale)}</dd>
          <dt class="font-semibold">{ta("order.total")}</dt>
          <dd>{totalOf(order, sale)}</dd>
          <dt class="font-semibold">{ta("order.placed")}</dt>
          <dd>{formatDateTime(order.createdAt)}</dd>
        </dl>
        {open && (
          <p class="text-base text-slate-900">
            {windowLeft > 0 ? (
              <>
                {ta("order.payWithin")}{" "}
                <strong>
                  <Countdown to={Date.parse(order.expiresAt)} label={ta("order.timeLeftToPay")} />
                </strong>{" "}
                {ta("order.payWithinAfter")}
              </>
            ) : (
              ta("order.windowClosed")
            )}
          </p>
        )}
        {open && (
          <div class="flex flex-wrap gap-3">
            <button
              type="button"
              class={buttonClass.primary}
              disabled={busy !== null || windowLeft <= 0}
              onClick={() => void act("pay")}
            >
              {busy === "pay" ? ta("order.paying") : ta("order.pay")}
            </button>
            {!confirmingCancel && (
              <button
                type="button"
                class={buttonClass.secondary}
                disabled={busy !== null}
                onClick={() => setConfirmingCancel(true)}
              >
                {busy === "cancel" ? ta("order.cancelling") : ta("order.cancel")}
              </button>
            )}
          </div>
        )}
        {open && confirmingCancel && (
          <div
            role="group"
            aria-labelledby="cancel-question"
            class="space-y-3 rounded-lg border-2 border-amber-600 bg-amber-50 p-4"
            data-cancel-confirm
          >
            <p id="cancel-question" class="font-semibold text-slate-900">
              {ta("order.cancelQuestion")}
            </p>
            <p class="text-sm text-slate-900">{ta("order.cancelWarning")}</p>
            <div class="flex flex-wrap gap-3">
              <button
                type="button"
                class={buttonClass.primary}
                disabled={busy !== null}
                onClick={() => void act("cancel").then(() => setConfirmingCancel(false))}
                id="cancel-yes"
              >
                {busy === "cancel" ? ta("order.cancelling") : ta("order.cancelYes")}
              </button>
              <button
                type="button"
                class={buttonClass.secondary}
                disabled={busy !== null}
                onClick={() => setConfirmingCancel(false)}
              >
                {ta("order.cancelNo")}
              </button>
            </div>
          </div>
        )}
        {order.status === "paid" && <Alert kind="success">{ta("order.paid")}</Alert>}
        {order.status === "expired" && <Alert kind="info">{ta("order.expiredNote")}</Alert>}
        {order.status === "cancelled" && <Alert kind="info">{ta("order.cancelledNote")}</Alert>}
        {actionError && <Alert>{actionError}</Alert>}
      </div>
    </section>
  );
}
