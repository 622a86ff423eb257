/**
 * The merchants' dashboard at /admin: token once per tab, create/schedule sales, live counters refreshed
 * every second, a sale's sell-through chart, orders (paged, CSV), pause/resume, reconcile, failed orders.
 */
import { useState } from "preact/hooks";
import type { Order } from "../../../lib/schemas.ts";
import { ApiFailure, describeFailure } from "../lib/api.ts";
import { formatDateTime, formatPrice, shortId } from "../lib/format.ts";
import { navigate } from "../lib/router.ts";
import { usePolling } from "../components/hooks.ts";
import { Alert, Field, Link, OrderStatusBadge, PageHeading, StatusBadge, buttonClass } from "../components/ui.tsx";
import {
  adminApi,
  adminToken,
  downloadOrdersCsv,
  setAdminToken,
  verifyAdminToken,
  type FailedOrder,
  type ReconcileResult,
  type SaleWithStats,
} from "./admin-api.ts";
import { CreateSaleForm } from "./CreateSaleForm.tsx";
import { SellThroughChart, type SellThroughPoint } from "./SellThroughChart.tsx";

/** Samples of `sold` per sale, taken by the 1 s refresh; kept for the page's life (10 minutes each). */
const history = new Map<string, SellThroughPoint[]>();
const HISTORY_POINTS = 600;

function recordSample(sale: SaleWithStats) {
  const points = history.get(sale.id) ?? [];
  points.push({ t: Date.now(), sold: sale.stats.sold });
  if (points.length > HISTORY_POINTS) points.splice(0, points.length - HISTORY_POINTS);
  history.set(sale.id, points);
}

function rejectedTotal(s: SaleWithStats): number {
  return Object.values(s.stats.rejected).reduce((a, b) => a + b, 0);
}

function TokenForm() {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!value.trim()) {
      setError("Enter the admin token");
      return;
    }
    setBusy(true);
    try {
      await verifyAdminToken(value.trim());
      setError(null);
      setAdminToken(value.trim());
    } catch (err) {
      setError(err instanceof ApiFailure && err.status === 401 ? "That token was not accepted" : describeFailure(err));
      setBusy(false);
    }
  };
  return (
    <section class="mx-auto max-w-md space-y-5">
      <PageHeading>Merchant dashboard</PageHeading>
      <form
        onSubmit={submit}
        noValidate
        class="space-y-4 rounded-xl border border-slate-300 bg-white p-5 shadow-sm"
        aria-label="Admin sign-in"
      >
        <Field id="admin-token" label="Admin token" error={error ?? undefined} hint="Kept for this tab only.">
          {(attrs) => (
            <input
              {...attrs}
              type="password"
              autoComplete="off"
              value={value}
              onInput={(e) => setValue((e.target as HTMLInputElement).value)}
            />
          )}
        </Field>
        <button type="submit" class={`${buttonClass.primary} w-full`} disabled={busy}>
          {busy ? "Checking…" : "Open dashboard"}
        </button>
      </form>
    </section>
  );
}

function PauseResumeButton({ sale, onDone }: { sale: SaleWithStats; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (sale.status === "ended" || sale.status === "sold_out") return null;
  const paused = sale.status === "paused";
  const act = async () => {
    setBusy(true);
    setError(null);
    try {
      await (paused ? adminApi.resume(sale.id) : adminApi.pause(sale.id));
      onDone();
    } catch (err) {
      setError(describeFailure(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="inline-flex flex-col">
      <button
        type="button"
        class={buttonClass.small}
        disabled={busy}
        onClick={() => void act()}
        aria-label={`${paused ? "Resume" : "Pause"} ${sale.title}`}
      >
        {paused ? "Resume" : "Pause"}
      </button>
      {error && (
        <span role="alert" class="text-xs text-red-800">
          {error}
        </span>
      )}
    </span>
  );
}

function SalesTable({ sales, onChanged }: { sales: SaleWithStats[]; onChanged: () => void }) {
  if (sales.length === 0) return <p class="text-slate-700">No sales yet — create the first one below.</p>;
  return (
    <>
      {/* Phones: one card per sale (a wide table would only scroll sideways inside its box). */}
      <ul class="space-y-3 md:hidden" aria-label="Sales with live counters">
        {sales.map((s) => (
          <li key={s.id} class="rounded-xl border border-slate-300 bg-white p-4" data-sale-id={s.id}>
            <div class="flex items-start justify-between gap-2">
              <Link
                href={`/admin/sales/${encodeURIComponent(s.id)}`}
                class="min-w-0 font-semibold wrap-anywhere text-red-800 underline underline-offset-2"
              >
                {s.title}
              </Link>
              <StatusBadge status={s.status} />
            </div>
            <dl class="mt-2 grid grid-cols-2 gap-x-4 gap-y-1 text-sm text-slate-800">
              <dt>Sold / stock</dt>
              <dd class="text-right tabular-nums">
                {s.stats.sold} / {s.stock}
              </dd>
              <dt>Attempts</dt>
              <dd class="text-right tabular-nums">{s.stats.attempts}</dd>
              <dt>Rejected</dt>
              <dd class="text-right tabular-nums">{rejectedTotal(s)}</dd>
              <dt>Awaiting DB</dt>
              <dd class="text-right tabular-nums">{s.stats.awaitingDatabase}</dd>
              <dt>Starts</dt>
              <dd class="text-right">{formatDateTime(s.startsAt)}</dd>
            </dl>
            <div class="mt-3">
              <PauseResumeButton sale={s} onDone={onChanged} />
            </div>
          </li>
        ))}
      </ul>
      <div class="relative hidden overflow-x-auto rounded-xl border border-slate-300 bg-white md:block">
        <table class="w-full min-w-[640px] text-left text-sm" aria-label="Sales with live counters">
          <thead class="bg-slate-100 text-slate-900">
            <tr>
              <th scope="col" class="px-3 py-2">
                Sale
              </th>
              <th scope="col" class="px-3 py-2">
                Status
              </th>
              <th scope="col" class="px-3 py-2 text-right">
                Sold / stock
              </th>
              <th scope="col" class="px-3 py-2 text-right">
                Attempts
              </th>
              <th scope="col" class="px-3 py-2 text-right">
                Rejected
              </th>
              <th scope="col" class="px-3 py-2 text-right">
                Awaiting DB
              </th>
              <th scope="col" class="px-3 py-2">
                Starts
              </th>
              <th scope="col" class="px-3 py-2">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody class="divide-y divide-slate-200">
            {sales.map((s) => (
              <tr key={s.id} data-sale-id={s.id}>
                <th scope="row" class="max-w-64 min-w-40 px-3 py-2 font-semibold wrap-anywhere">
                  <Link
                    href={`/admin/sales/${encodeURIComponent(s.id)}`}
                    class="text-red-800 underline underline-offset-2"
                  >
                    {s.title}
                  </Link>
                </th>
                <td class="px-3 py-2">
                  <StatusBadge status={s.status} />
                </td>
                <td class="px-3 py-2 text-right tabular-nums">
                  {s.stats.sold} / {s.stock}
                </td>
                <td class="px-3 py-2 text-right tabular-nums">{s.stats.attempts}</td>
                <td class="px-3 py-2 text-right tabular-nums">{rejectedTotal(s)}</td>
                <td class="px-3 py-2 text-right tabular-nums">{s.stats.awaitingDatabase}</td>
                <td class="px-3 py-2 whitespace-nowrap">{formatDateTime(s.startsAt)}</td>
                <td class="px-3 py-2">
                  <PauseResumeButton sale={s} onDone={onChanged} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function FailedOrders() {
  const [rows, setRows] = useState<FailedOrder[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  usePolling(
    async (signal) => {
      try {
        setRows(await adminApi.failedOrders(signal));
        setError(null);
      } catch (err) {
        setError(describeFailure(err));
        throw err;
      }
    },
    5_000,
    [reload],
  );
  const replay = async (row: FailedOrder) => {
    try {
      const r = await adminApi.replay(row.id);
      setMessage(
        r.replayed ? `Order ${shortId(r.orderId)} was sent again.` : `Order ${shortId(r.orderId)} had nothing to send.`,
      );
      setReload((n) => n + 1);
    } catch (err) {
      setMessage(describeFailure(err));
    }
  };
  return (
    <section class="space-y-3" aria-labelledby="failed-orders-title">
      <h2 id="failed-orders-title" class="text-xl font-semibold text-slate-900">
        Failed orders
      </h2>
      {error && <Alert>{error}</Alert>}
      {message && <Alert kind="info">{message}</Alert>}
      {rows && rows.length === 0 && <p class="text-slate-700">None — every order reached the database.</p>}
      {rows && rows.length > 0 && (
        <ul class="divide-y divide-slate-200 rounded-xl border border-slate-300 bg-white">
          {rows.map((r) => (
            <li key={r.id} class="flex flex-wrap items-center justify-between gap-2 p-3 text-sm">
              <div class="min-w-0">
                <p class="font-mono break-all">{r.orderId}</p>
                <p class="text-slate-700 wrap-anywhere">
                  {r.error} · {r.attempts} attempts · {formatDateTime(r.createdAt)}
                  {r.landed ? " · landed" : ""}
                  {r.replayedAt ? ` · replayed ${formatDateTime(r.replayedAt)}` : ""}
                </p>
              </div>
              <button
                type="button"
                class={buttonClass.small}
                onClick={() => void replay(r)}
                aria-label={`Replay order ${r.orderId}`}
              >
                Replay
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function SaleOrders({ saleId }: { saleId: string }) {
  const [orders, setOrders] = useState<Order[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [reload, setReload] = useState(0);

  usePolling(
    async (signal) => {
      const page = await adminApi.orders(saleId, null, 50, signal);
      setOrders(page.orders);
      setCursor(page.nextCursor);
      setDone(page.nextCursor === null);
    },
    1_000_000,
    [saleId, reload],
  );

  const more = async () => {
    setBusy(true);
    try {
      const page = await adminApi.orders(saleId, cursor, 50);
      setOrders((o) => [...o, ...page.orders]);
      setCursor(page.nextCursor);
      setDone(page.nextCursor === null);
    } catch (err) {
      setError(describeFailure(err));
    } finally {
      setBusy(false);
    }
  };
  const csv = async () => {
    setError(null);
    try {
      await downloadOrdersCsv(saleId);
    } catch (err) {
      setError(describeFailure(err));
    }
  };
  return (
    <section class="space-y-3" aria-labelledby="orders-title">
      <div class="flex flex-wrap items-center justify-between gap-2">
        <h2 id="orders-title" class="text-xl font-semibold text-slate-900">
          Orders in PostgreSQL
        </h2>
        <div class="flex gap-2">
          <button type="button" class={buttonClass.small} onClick={() => setReload((n) => n + 1)}>
            Refresh orders
          </button>
          <button type="button" class={buttonClass.small} onClick={() => void csv()}>
            Download CSV
          </button>
        </div>
      </div>
      {error && <Alert>{error}</Alert>}
      {orders.length === 0 ? (
        <p class="text-slate-700">No orders in the database yet.</p>
      ) : (
        // Scrolls sideways on a narrow screen: focusable, and named, so a keyboard can scroll it too.
        <div
          class="relative overflow-x-auto rounded-xl border border-slate-300 bg-white"
          tabIndex={0}
          role="region"
          aria-label="Orders table"
        >
          <table class="w-full min-w-[560px] text-left text-sm" aria-label="Orders">
            <thead class="bg-slate-100">
              <tr>
                <th scope="col" class="px-3 py-2">
                  Order
                </th>
                <th scope="col" class="px-3 py-2">
                  Shopper
                </th>
                <th scope="col" class="px-3 py-2 text-right">
                  Qty
                </th>
                <th scope="col" class="px-3 py-2">
                  Status
                </th>
                <th scope="col" class="px-3 py-2">
                  Placed
                </th>
              </tr>
            </thead>
            <tbody class="divide-y divide-slate-200">
              {orders.map((o) => (
                <tr key={o.id}>
                  <td class="px-3 py-2 font-mono" title={o.id}>
                    {shortId(o.id)}
                  </td>
                  <td class="px-3 py-2 font-mono" title={o.userId}>
                    {shortId(o.userId)}
                  </td>
                  <td class="px-3 py-2 text-right">{o.quantity}</td>
                  <td class="px-3 py-2">
                    <OrderStatusBadge status={o.status} />
                  </td>
                  <td class="px-3 py-2 whitespace-nowrap">{formatDateTime(o.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!done && orders.length > 0 && (
        <button type="button" class={buttonClass.small} disabled={busy} onClick={() => void more()}>
          {busy ? "Loading…" : "Load more orders"}
        </button>
      )}
    </section>
  );
}

function SaleDetail({ id }: { id: string }) {
  const [sale, setSale] = useState<SaleWithStats | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [reconcile, setReconcile] = useState<ReconcileResult | string | null>(null);
  const [reconciling, setReconciling] = useState(false);
  const [, setTick] = useState(0);

  usePolling(
    async (signal) => {
      try {
        const s = await adminApi.getSale(id, signal);
        recordSample(s);
        setSale(s);
        setTick((n) => n + 1);
        setError(null);
      } catch (err) {
        if (err instanceof ApiFailure) setError(err);
        throw err;
      }
    },
    1_000,
    [id],
  );

  const runReconcile = async () => {
    setReconciling(true);
    try {
      setReconcile(await adminApi.reconcile(id));
    } catch (err) {
      setReconcile(describeFailure(err));
    } finally {
      setReconciling(false);
    }
  };

  if (error?.status === 404) return <Alert>No such sale.</Alert>;
  if (!sale) return <p class="text-slate-700">{error ? error.message : "Loading sale…"}</p>;
  const r = sale.stats.rejected;
  return (
    <div class="space-y-6">
      <div class="flex flex-wrap items-center justify-between gap-3">
        <div class="flex min-w-0 flex-wrap items-center gap-3">
          <PageHeading>
            <span class="wrap-anywhere">{sale.title}</span>
          </PageHeading>
          <StatusBadge status={sale.status} />
        </div>
        <div class="flex flex-wrap gap-2">
          <PauseResumeButton sale={sale} onDone={() => {}} />
          <button type="button" class={buttonClass.small} disabled={reconciling} onClick={() => void runReconcile()}>
            {reconciling ? "Reconciling…" : "Reconcile"}
          </button>
        </div>
      </div>
      {error && <Alert kind="info">{error.message}</Alert>}
      {reconcile && (
        <Alert kind={typeof reconcile === "string" ? "error" : "success"}>
          {typeof reconcile === "string"
            ? reconcile
            : `Ledger sold ${reconcile.ledgerSold}; ${reconcile.databaseOrders} orders in PostgreSQL; ${reconcile.missing} missing, ${reconcile.repaired} re-sent.`}
        </Alert>
      )}
      <dl class="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6">
        {(
          [
            ["Sold", `${sale.stats.sold} / ${sale.stock}`],
            ["Remaining", sale.stats.remaining],
            ["Attempts", sale.stats.attempts],
            ["Awaiting DB", sale.stats.awaitingDatabase],
            ["Outbox", sale.stats.outboxDepth],
            ["Price", formatPrice(sale.priceCents, sale.currency)],
          ] as const
        ).map(([k, v]) => (
          <div key={k} class="rounded-lg border border-slate-300 bg-white p-3">
            <dt class="text-xs font-semibold text-slate-700 uppercase">{k}</dt>
            <dd class="text-lg font-bold text-slate-900 tabular-nums">{v}</dd>
          </div>
        ))}
      </dl>
      <section class="space-y-2 rounded-xl border border-slate-300 bg-white p-4" aria-labelledby="chart-title">
        <h2 id="chart-title" class="text-xl font-semibold text-slate-900">
          Sell-through
        </h2>
        <SellThroughChart points={history.get(sale.id) ?? []} stock={sale.stock} title="Sold" />
        <p class="text-sm text-slate-800">
          Rejected: {r.soldOut} sold out · {r.duplicate} duplicate · {r.rateLimited} rate limited · {r.notStarted} not
          started · {r.ended} ended · {r.paused} paused
        </p>
      </section>
      <SaleOrders saleId={sale.id} />
    </div>
  );
}

export function AdminPage({ saleId }: { saleId?: string }) {
  const token = adminToken.value;
  const [sales, setSales] = useState<SaleWithStats[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  usePolling(
    async (signal) => {
      if (!token || saleId) return;
      try {
        const list = await adminApi.listSales(signal);
        list.forEach(recordSample);
        setSales(list.sort((a, b) => Date.parse(b.startsAt) - Date.parse(a.startsAt)));
        setError(null);
      } catch (err) {
        setError(describeFailure(err));
        throw err;
      }
    },
    1_000,
    [token, saleId, reload],
  );

  if (!token) return <TokenForm />;

  const signOut = (
    <button
      type="button"
      class={buttonClass.small}
      onClick={() => {
        setAdminToken(null);
        navigate("/admin");
      }}
    >
      Forget token
    </button>
  );

  if (saleId) {
    return (
      <div class="space-y-5">
        <div class="flex flex-wrap items-center justify-between gap-2">
          <Link href="/admin" class="text-sm font-semibold text-red-800 underline underline-offset-2">
            <span aria-hidden="true">← </span>Dashboard
          </Link>
          {signOut}
        </div>
        <SaleDetail id={saleId} />
      </div>
    );
  }

  return (
    <div class="space-y-8">
      <div class="flex flex-wrap items-center justify-between gap-2">
        <PageHeading>Merchant dashboard</PageHeading>
        {signOut}
      </div>
      <section class="space-y-3" aria-labelledby="sales-title">
        <h2 id="sales-title" class="text-xl font-semibold text-slate-900">
          Sales <span class="text-sm font-normal text-slate-700">(live, refreshed every second)</span>
        </h2>
        {error && <Alert>{error}</Alert>}
        {sales ? (
          <SalesTable sales={sales} onChanged={() => setReload((n) => n + 1)} />
        ) : (
          <p class="text-slate-700">Loading…</p>
        )}
      </section>
      <section
        class="space-y-3 rounded-xl border border-slate-300 bg-white p-5 shadow-sm"
        aria-labelledby="create-title"
      >
        <h2 id="create-title" class="text-xl font-semibold text-slate-900">
          Create or schedule a sale
        </h2>
        <CreateSaleForm onCreated={() => setReload((n) => n + 1)} />
      </section>
      <FailedOrders />
    </div>
  );
}
