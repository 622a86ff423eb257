/**
 * The merchants' dashboard at /admin: token once per tab, create/schedule sales, live counters refreshed
 * every second, failed orders. A sale's page is the screen to leave open during the sale: its counters
 * (every second), paid and held revenue, the sell-through chart of the whole sale (the series its object
 * keeps, so a reload loses nothing), the orders with shoppers' names (refreshed every 5 s, CSV), pause,
 * resume, end, delete, reconcile, its product photo, and — before the start — editing.
 */
import { useRef, useState } from "preact/hooks";
import { ApiFailure, describeFailure } from "../lib/api.ts";
import { formatDateTime, formatPrice, formatTime, shortId } from "../lib/format.ts";
import { navigate } from "../lib/router.ts";
import { usePolling } from "../components/hooks.ts";
import { Alert, Field, Link, OrderStatusBadge, PageHeading, StatusBadge, buttonClass } from "../components/ui.tsx";
import {
  adminApi,
  adminToken,
  downloadOrdersCsv,
  setAdminToken,
  verifyAdminToken,
  uploadSaleImage,
  type AdminOrder,
  type FailedOrder,
  type ReconcileResult,
  type SaleWithStats,
  type SeriesPoint,
} from "./admin-api.ts";
import { CreateSaleForm } from "./CreateSaleForm.tsx";
import { HotSaleAdmin } from "./HotSaleAdmin.tsx";
import { SellThroughChart } from "./SellThroughChart.tsx";
import { ShardBars } from "./ShardBars.tsx";
import { ORDER_STATUSES, type OrderStatus } from "../../../lib/contract/schemas.ts";
import { tm, unitsText } from "../i18n/merchant.ts";
import { t } from "../i18n/shop.ts";

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
      setError(tm("merchant.token.required"));
      return;
    }
    setBusy(true);
    try {
      await verifyAdminToken(value.trim());
      setError(null);
      setAdminToken(value.trim());
    } catch (err) {
      setError(err instanceof ApiFailure && err.status === 401 ? tm("merchant.token.rejected") : describeFailure(err));
      setBusy(false);
    }
  };
  return (
    <section class="mx-auto max-w-md space-y-5">
      <PageHeading>{tm("merchant.heading")}</PageHeading>
      <form
        onSubmit={submit}
        noValidate
        class="space-y-4 rounded-xl border border-slate-300 bg-white p-5 shadow-sm"
        aria-label={tm("merchant.token.form")}
      >
        <Field
          id="admin-token"
          label={tm("merchant.token.label")}
          error={error ?? undefined}
          hint={tm("merchant.token.hint")}
        >
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
          {busy ? tm("merchant.token.checking") : tm("merchant.token.open")}
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
        aria-label={tm(paused ? "merchant.resumeSale" : "merchant.pauseSale", { title: sale.title })}
      >
        {paused ? tm("merchant.resume") : tm("merchant.pause")}
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
  if (sales.length === 0) return <p class="text-slate-700">{tm("merchant.sales.empty")}</p>;
  return (
    <>
      {/* Phones: one card per sale (a wide table would only scroll sideways inside its box). */}
      <ul class="space-y-3 md:hidden" aria-label={tm("merchant.sales.table")}>
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
              <dt>{tm("merchant.col.soldStock")}</dt>
              <dd class="text-right tabular-nums">
                {s.stats.sold} / {s.stock}
              </dd>
              <dt>{tm("merchant.col.attempts")}</dt>
              <dd class="text-right tabular-nums">{s.stats.attempts}</dd>
              <dt>{tm("merchant.col.rejected")}</dt>
              <dd class="text-right tabular-nums">{rejectedTotal(s)}</dd>
              <dt>{tm("merchant.col.awaitingDb")}</dt>
              <dd class="text-right tabular-nums">{s.stats.awaitingDatabase}</dd>
              <dt>{tm("merchant.col.starts")}</dt>
              <dd class="text-right">{formatDateTime(s.startsAt)}</dd>
            </dl>
            <div class="mt-3">
              <PauseResumeButton sale={s} onDone={onChanged} />
            </div>
          </li>
        ))}
      </ul>
      {/* Focusable and named, so a keyboard can scroll it when it is wider than the screen. */}
      <div
        class="relative hidden overflow-x-auto rounded-xl border border-slate-300 bg-white md:block"
        tabIndex={0}
        role="region"
        aria-label={tm("merchant.sales.table")}
      >
        <table class="w-full min-w-[640px] text-left text-sm" aria-label={tm("merchant.sales.table")}>
          <thead class="bg-slate-100 text-slate-900">
            <tr>
              <th scope="col" class="px-3 py-2">
                {tm("merchant.col.sale")}
              </th>
              <th scope="col" class="px-3 py-2">
                {tm("merchant.col.status")}
              </th>
              <th scope="col" class="px-3 py-2 text-right">
                {tm("merchant.col.soldStock")}
              </th>
              <th scope="col" class="px-3 py-2 text-right">
                {tm("merchant.col.attempts")}
              </th>
              <th scope="col" class="px-3 py-2 text-right">
                {tm("merchant.col.rejected")}
              </th>
              <th scope="col" class="px-3 py-2 text-right">
                {tm("merchant.col.awaitingDb")}
              </th>
              <th scope="col" class="px-3 py-2">
                {tm("merchant.col.starts")}
              </th>
              <th scope="col" class="px-3 py-2">
                <span class="sr-only">{tm("merchant.col.actions")}</span>
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
        tm(r.replayed ? "merchant.failed.replayed" : "merchant.failed.nothingToSend", { id: shortId(r.orderId) }),
      );
      setReload((n) => n + 1);
    } catch (err) {
      setMessage(describeFailure(err));
    }
  };
  return (
    <section class="space-y-3" aria-labelledby="failed-orders-title">
      <h2 id="failed-orders-title" class="text-xl font-semibold text-slate-900">
        {tm("merchant.failed.heading")}
      </h2>
      {error && <Alert>{error}</Alert>}
      {message && <Alert kind="info">{message}</Alert>}
      {rows && rows.length === 0 && <p class="text-slate-700">{tm("merchant.failed.none")}</p>}
      {rows && rows.length > 0 && (
        <ul class="divide-y divide-slate-200 rounded-xl border border-slate-300 bg-white">
          {rows.map((r) => (
            <li key={r.id} class="flex flex-wrap items-center justify-between gap-2 p-3 text-sm">
              <div class="min-w-0">
                <p class="font-mono break-all">{r.orderId}</p>
                <p class="text-slate-700 wrap-anywhere">
                  {r.error} · {tm("merchant.failed.attempts", { count: r.attempts })} · {formatDateTime(r.createdAt)}
                  {r.landed ? ` · ${tm("merchant.failed.landed")}` : ""}
                  {r.replayedAt ? ` · ${tm("merchant.failed.replayedAt", { time: formatDateTime(r.replayedAt) })}` : ""}
                </p>
              </div>
              <button
                type="button"
                class={buttonClass.small}
                onClick={() => void replay(r)}
                aria-label={tm("merchant.failed.replayOrder", { id: r.orderId })}
              >
                {tm("merchant.failed.replay")}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** How often the orders table asks PostgreSQL again while it shows the first page. */
const ORDERS_REFRESH_MS = 5_000;

function SaleOrders({ saleId }: { saleId: string }) {
  const [orders, setOrders] = useState<AdminOrder[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [reload, setReload] = useState(0);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  /** Pages loaded with "Load more": while there are any, the refresh leaves the table alone. */
  const extraPages = useRef(0);

  // Orders reach PostgreSQL a moment after the purchase (outbox → queue → consumer): ask again every 5 s,
  // so the table never says "none yet" while PostgreSQL holds some.
  usePolling(
    async (signal) => {
      if (extraPages.current > 0) return;
      try {
        const page = await adminApi.orders(saleId, null, 50, signal);
        setOrders(page.orders);
        setCursor(page.nextCursor);
        setDone(page.nextCursor === null);
        setUpdatedAt(Date.now());
        setError(null);
      } catch (err) {
        setError(describeFailure(err));
        throw err;
      }
    },
    ORDERS_REFRESH_MS,
    [saleId, reload],
  );

  const more = async () => {
    setBusy(true);
    try {
      const page = await adminApi.orders(saleId, cursor, 50);
      extraPages.current++;
      setOrders((o) => [...o, ...page.orders]);
      setCursor(page.nextCursor);
      setDone(page.nextCursor === null);
    } catch (err) {
      setError(describeFailure(err));
    } finally {
      setBusy(false);
    }
  };
  const refresh = () => {
    extraPages.current = 0;
    setReload((n) => n + 1);
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
        <div>
          <h2 id="orders-title" class="text-xl font-semibold text-slate-900">
            {tm("merchant.orders.heading")}
          </h2>
          {updatedAt !== null && (
            <p class="text-sm text-slate-700">{tm("merchant.orders.updated", { time: formatTime(updatedAt) })}</p>
          )}
        </div>
        <div class="flex gap-2">
          <button type="button" class={buttonClass.small} onClick={refresh}>
            {tm("merchant.orders.refresh")}
          </button>
          <button type="button" class={buttonClass.small} onClick={() => void csv()}>
            {tm("merchant.orders.csv")}
          </button>
        </div>
      </div>
      {error && <Alert>{error}</Alert>}
      {updatedAt === null && !error ? (
        <p class="text-slate-700">{tm("merchant.orders.loading")}</p>
      ) : orders.length === 0 ? (
        <p class="text-slate-700">{tm("merchant.orders.empty")}</p>
      ) : (
        // Scrolls sideways on a narrow screen: focusable, and named, so a keyboard can scroll it too.
        <div
          class="relative overflow-x-auto rounded-xl border border-slate-300 bg-white"
          tabIndex={0}
          role="region"
          aria-label={tm("merchant.orders.scrollRegion")}
        >
          <table class="w-full min-w-[560px] text-left text-sm" aria-label={tm("merchant.orders.table")}>
            <thead class="bg-slate-100">
              <tr>
                <th scope="col" class="px-3 py-2">
                  {tm("merchant.orders.colOrder")}
                </th>
                <th scope="col" class="px-3 py-2">
                  {tm("merchant.orders.colShopper")}
                </th>
                <th scope="col" class="px-3 py-2 text-right">
                  {tm("merchant.orders.colQty")}
                </th>
                <th scope="col" class="px-3 py-2">
                  {tm("merchant.orders.colStatus")}
                </th>
                <th scope="col" class="px-3 py-2">
                  {tm("merchant.orders.colPlaced")}
                </th>
              </tr>
            </thead>
            <tbody class="divide-y divide-slate-200">
              {orders.map((o) => (
                <tr key={o.id} data-order-id={o.id}>
                  <td class="px-3 py-2 font-mono" title={o.id}>
                    {shortId(o.id)}
                  </td>
                  <td class="px-3 py-2 wrap-anywhere" title={o.userId} data-username>
                    {o.username ?? tm("merchant.orders.unknownShopper")}
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
          {busy ? tm("merchant.orders.loading") : tm("merchant.orders.more")}
        </button>
      )}
    </section>
  );
}

/** The sale's product photo: shown as shoppers see it, uploaded, replaced or deleted from here. */
function SalePhoto({ sale, onChanged }: { sale: SaleWithStats; onChanged: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const upload = async (e: Event) => {
    e.preventDefault();
    const file = input.current?.files?.[0];
    if (!file) {
      setMessage({ kind: "error", text: tm("merchant.photo.chooseFirst") });
      return;
    }
    setBusy(true);
    setMessage(null);
    try {
      await uploadSaleImage(sale.id, file);
      if (input.current) input.current.value = "";
      setMessage({ kind: "success", text: tm("merchant.photo.uploaded") });
      onChanged();
    } catch (err) {
      const status = err instanceof ApiFailure ? err.status : 0;
      const text =
        status === 413
          ? tm("merchant.photo.tooLarge")
          : status === 415
            ? tm("merchant.photo.wrongType")
            : describeFailure(err);
      setMessage({ kind: "error", text });
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setBusy(true);
    setMessage(null);
    try {
      await adminApi.deleteImage(sale.id);
      setMessage({ kind: "success", text: tm("merchant.photo.deleted") });
      onChanged();
    } catch (err) {
      setMessage({ kind: "error", text: describeFailure(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="space-y-3 rounded-xl border border-slate-300 bg-white p-4" aria-labelledby="photo-title">
      <h2 id="photo-title" class="text-xl font-semibold text-slate-900">
        {tm("merchant.photo.heading")}
      </h2>
      {message && <Alert kind={message.kind}>{message.text}</Alert>}
      <div class="flex flex-col items-start gap-4 sm:flex-row">
        {sale.imageUrl ? (
          <img
            src={sale.imageUrl}
            alt={tm("merchant.photo.alt", { title: sale.title })}
            width={240}
            height={180}
            class="aspect-[4/3] w-full max-w-60 rounded-lg border border-slate-200 bg-slate-100 object-cover"
            data-sale-photo
          />
        ) : (
          <p class="text-sm text-slate-700 sm:w-60">{tm("merchant.photo.none")}</p>
        )}
        <form class="w-full min-w-0 flex-1 space-y-2" onSubmit={upload} aria-label={tm("merchant.photo.heading")}>
          <label for="sale-photo-file" class="block text-sm font-semibold text-slate-900">
            {tm("merchant.photo.pick")}
          </label>
          <input
            ref={input}
            id="sale-photo-file"
            name="photo"
            type="file"
            accept="image/png,image/jpeg,image/webp"
            class="block w-full max-w-full min-w-0 text-sm text-slate-800 file:mr-3 file:rounded-md file:border file:border-slate-400 file:bg-white file:px-3 file:py-1.5"
          />
          <div class="flex flex-wrap gap-2">
            <button type="submit" class={buttonClass.small} disabled={busy}>
              {busy
                ? tm("merchant.photo.uploading")
                : sale.imageUrl
                  ? tm("merchant.photo.replace")
                  : tm("merchant.photo.upload")}
            </button>
            {sale.imageUrl && (
              <button type="button" class={buttonClass.small} disabled={busy} onClick={() => void remove()}>
                {tm("merchant.photo.delete")}
              </button>
            )}
          </div>
        </form>
      </div>
    </section>
  );
}

/** End now and delete, each asked once more before it happens (neither can be undone). */
function SaleControls({ sale, onChanged }: { sale: SaleWithStats; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const end = async () => {
    if (!window.confirm(tm("merchant.controls.endConfirm", { title: sale.title }))) return;
    setBusy(true);
    try {
      await adminApi.endSale(sale.id);
      setMessage({ kind: "success", text: tm("merchant.controls.ended") });
      onChanged();
    } catch (err) {
      setMessage({ kind: "error", text: describeFailure(err) });
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!window.confirm(tm("merchant.controls.deleteConfirm", { title: sale.title }))) return;
    setBusy(true);
    try {
      await adminApi.deleteSale(sale.id);
      navigate("/admin");
    } catch (err) {
      const text =
        err instanceof ApiFailure && err.code === "SALE_HAS_ORDERS"
          ? tm("merchant.controls.deleteHasOrders")
          : describeFailure(err);
      setMessage({ kind: "error", text });
      setBusy(false);
    }
  };
  return (
    <div class="space-y-2">
      {message && <Alert kind={message.kind}>{message.text}</Alert>}
      <div class="flex flex-wrap gap-2" role="group" aria-label={tm("merchant.controls.label")}>
        {sale.status !== "ended" && (
          <button type="button" class={buttonClass.small} disabled={busy} onClick={() => void end()}>
            {tm("merchant.controls.end")}
          </button>
        )}
        <button type="button" class={buttonClass.small} disabled={busy} onClick={() => void remove()}>
          {tm("merchant.controls.delete")}
        </button>
      </div>
    </div>
  );
}

function isOrderStatus(status: string): status is OrderStatus {
  return (ORDER_STATUSES as readonly string[]).includes(status);
}

function ReconcileReport({ result }: { result: ReconcileResult }) {
  const statuses = [
    ...new Set([...Object.keys(result.ledgerByStatus ?? {}), ...Object.keys(result.databaseByStatus ?? {})]),
  ].sort();
  return (
    <div class="space-y-2">
      <p>
        {tm("merchant.reconcile.summary", { ledgerSold: result.ledgerSold, databaseOrders: result.databaseOrders })}{" "}
        {result.missing === 0
          ? tm("merchant.reconcile.nothingMissing")
          : tm("merchant.reconcile.missing", { missing: result.missing, repaired: result.repaired })}
      </p>
      {statuses.length > 0 && (
        <table class="text-sm" aria-label={tm("merchant.reconcile.byStatus")} data-reconcile-by-status>
          <caption class="text-left font-semibold">{tm("merchant.reconcile.byStatus")}</caption>
          <tbody>
            {statuses.map((st) => (
              <tr key={st}>
                <th scope="row" class="pr-4 text-left font-normal" data-status={st}>
                  {isOrderStatus(st) ? t(`orderStatus.${st}`) : st}
                </th>
                <td class="pr-2 text-right tabular-nums">
                  {(result.ledgerByStatus as Record<string, number> | undefined)?.[st] ?? 0}
                </td>
                <td class="text-right tabular-nums">/ {result.databaseByStatus?.[st] ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** How often a sale's page fetches its series (the counters come every second). */
const SERIES_REFRESH_MS = 2_000;

function SaleDetail({ id }: { id: string }) {
  const [sale, setSale] = useState<SaleWithStats | null>(null);
  const [series, setSeries] = useState<SeriesPoint[]>([]);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [reconcile, setReconcile] = useState<ReconcileResult | string | null>(null);
  const [reconciling, setReconciling] = useState(false);
  const [reload, setReload] = useState(0);

  usePolling(
    async (signal) => {
      try {
        setSale(await adminApi.getSale(id, signal));
        setError(null);
      } catch (err) {
        if (err instanceof ApiFailure) setError(err);
        throw err;
      }
    },
    1_000,
    [id, reload],
  );
  // The chart's history is the sale's, kept server-side: a reload (or a second screen) shows all of it.
  usePolling(
    async (signal) => {
      setSeries(await adminApi.series(id, signal));
    },
    SERIES_REFRESH_MS,
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

  if (error?.status === 404) return <Alert>{tm("merchant.detail.noSuchSale")}</Alert>;
  if (!sale) return <p class="text-slate-700">{error ? error.message : tm("merchant.detail.loading")}</p>;
  const r = sale.stats.rejected;
  const held = sale.stats.held ?? { units: 0, revenueCents: 0 };
  const paid = sale.stats.paid ?? { units: 0, revenueCents: 0 };
  const changed = () => setReload((n) => n + 1);
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
          <PauseResumeButton sale={sale} onDone={changed} />
          <button type="button" class={buttonClass.small} disabled={reconciling} onClick={() => void runReconcile()}>
            {reconciling ? tm("merchant.detail.reconciling") : tm("merchant.detail.reconcile")}
          </button>
        </div>
      </div>
      <SaleControls sale={sale} onChanged={changed} />
      {error && <Alert kind="info">{error.message}</Alert>}
      {reconcile && (
        <Alert kind={typeof reconcile === "string" ? "error" : "success"}>
          {typeof reconcile === "string" ? reconcile : <ReconcileReport result={reconcile} />}
        </Alert>
      )}
      <dl class="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6">
        {(
          [
            [tm("merchant.stat.sold"), `${sale.stats.sold} / ${sale.stock}`],
            [tm("merchant.stat.remaining"), sale.stats.remaining],
            [tm("merchant.stat.attempts"), sale.stats.attempts],
            [tm("merchant.stat.awaitingDb"), sale.stats.awaitingDatabase],
            [tm("merchant.stat.outbox"), sale.stats.outboxDepth],
            [tm("merchant.stat.price"), formatPrice(sale.priceCents, sale.currency)],
          ] as const
        ).map(([k, v]) => (
          <div key={k} class="rounded-lg border border-slate-300 bg-white p-3">
            <dt class="text-xs font-semibold text-slate-700 uppercase">{k}</dt>
            <dd class="text-lg font-bold text-slate-900 tabular-nums">{v}</dd>
          </div>
        ))}
      </dl>
      <dl class="grid grid-cols-1 gap-3 sm:grid-cols-2" data-revenue>
        {(
          [
            [tm("merchant.revenue.paid"), paid, "border-emerald-600"],
            [tm("merchant.revenue.held"), held, "border-amber-600"],
          ] as const
        ).map(([label, split, border]) => (
          <div
            key={label}
            class={`rounded-lg border-l-4 ${border} border-y border-r border-y-slate-300 border-r-slate-300 bg-white p-3`}
          >
            <dt class="text-sm font-semibold text-slate-800">{label}</dt>
            <dd class="text-2xl font-bold text-slate-900 tabular-nums">
              {formatPrice(split.revenueCents, sale.currency)}
              <span class="ml-2 text-sm font-normal text-slate-700">{unitsText(split.units)}</span>
            </dd>
          </div>
        ))}
      </dl>
      <section class="space-y-2 rounded-xl border border-slate-300 bg-white p-4" aria-labelledby="chart-title">
        <h2 id="chart-title" class="text-xl font-semibold text-slate-900">
          {tm("merchant.chart.heading")}
        </h2>
        <SellThroughChart points={series} stock={sale.stock} />
        <p class="text-sm text-slate-800">
          {tm("merchant.rejected.summary", {
            soldOut: r.soldOut,
            duplicate: r.duplicate,
            rateLimited: r.rateLimited,
            notStarted: r.notStarted,
            ended: r.ended,
            paused: r.paused,
          })}
        </p>
      </section>
      <ShardBars stats={sale.stats} />
      <HotSaleAdmin sale={sale} />
      <SaleOrders saleId={sale.id} />
      <SalePhoto sale={sale} onChanged={changed} />
      {sale.status === "scheduled" && (
        <section class="space-y-3 rounded-xl border border-slate-300 bg-white p-5" aria-labelledby="edit-title">
          <h2 id="edit-title" class="text-xl font-semibold text-slate-900">
            {tm("merchant.edit.heading")}
          </h2>
          <p class="text-sm text-slate-700">{tm("merchant.edit.hint")}</p>
          <CreateSaleForm key={sale.id} sale={sale} onCreated={changed} />
        </section>
      )}
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
      {tm("merchant.forgetToken")}
    </button>
  );

  if (saleId) {
    return (
      <div class="space-y-5">
        <div class="flex flex-wrap items-center justify-between gap-2">
          <Link href="/admin" class="text-sm font-semibold text-red-800 underline underline-offset-2">
            <span aria-hidden="true">← </span>
            {tm("merchant.backToDashboard")}
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
        <PageHeading>{tm("merchant.heading")}</PageHeading>
        {signOut}
      </div>
      <section class="space-y-3" aria-labelledby="sales-title">
        <h2 id="sales-title" class="text-xl font-semibold text-slate-900">
          {tm("merchant.sales.heading")}{" "}
          <span class="text-sm font-normal text-slate-700">{tm("merchant.sales.live")}</span>
        </h2>
        {error && <Alert>{error}</Alert>}
        {sales ? (
          <SalesTable sales={sales} onChanged={() => setReload((n) => n + 1)} />
        ) : (
          <p class="text-slate-700">{t("loading")}</p>
        )}
      </section>
      <section
        class="space-y-3 rounded-xl border border-slate-300 bg-white p-5 shadow-sm"
        aria-labelledby="create-title"
      >
        <h2 id="create-title" class="text-xl font-semibold text-slate-900">
          {tm("merchant.create.heading")}
        </h2>
        <CreateSaleForm onCreated={() => setReload((n) => n + 1)} />
      </section>
      <FailedOrders />
    </div>
  );
}
