/** Small presentational pieces shared by the storefront and the dashboard. */
import type { ComponentChildren } from "preact";
import type { OrderStatus, Sale, SaleStatus } from "../../../lib/contract/schemas.ts";
import { describeCountdown, formatCountdown } from "../lib/format.ts";
import { statusLabel } from "../lib/sale-status.ts";
import { formatNumber } from "../i18n/i18n.ts";
import { t } from "../i18n/shop.ts";
import { navigate } from "../lib/router.ts";
import { useServerNow } from "./hooks.ts";

const STATUS_STYLE: Record<SaleStatus, string> = {
  live: "bg-green-100 text-green-900 ring-green-700/30",
  scheduled: "bg-amber-100 text-amber-900 ring-amber-700/30",
  paused: "bg-slate-200 text-slate-900 ring-slate-700/30",
  sold_out: "bg-red-100 text-red-900 ring-red-700/30",
  ended: "bg-slate-100 text-slate-800 ring-slate-700/20",
};

export function StatusBadge({ status }: { status: SaleStatus }) {
  return (
    <span
      class={`inline-flex shrink-0 items-center rounded-full px-2.5 whitespace-nowrap py-0.5 text-xs font-semibold ring-1 ring-inset ${STATUS_STYLE[status]}`}
      data-status={status}
    >
      {statusLabel(status)}
    </span>
  );
}

const ORDER_STYLE: Record<OrderStatus, string> = {
  reserved: "bg-amber-100 text-amber-900",
  confirmed: "bg-green-100 text-green-900",
  paid: "bg-blue-100 text-blue-900",
  expired: "bg-slate-200 text-slate-900",
  cancelled: "bg-slate-200 text-slate-900",
};

export function OrderStatusBadge({ status }: { status: OrderStatus }) {
  return (
    <span
      class={`inline-flex shrink-0 rounded-full px-2.5 py-0.5 text-xs font-semibold whitespace-nowrap ${ORDER_STYLE[status]}`}
      data-order-status={status}
    >
      {t(`orderStatus.${status}`)}
    </span>
  );
}

/** Remaining stock as a bar; the numbers are in text too, the bar is decoration. */
export function RemainingBar({ sale }: { sale: Pick<Sale, "remaining" | "stock"> }) {
  const pct = sale.stock > 0 ? Math.max(0, Math.min(100, (sale.remaining / sale.stock) * 100)) : 0;
  const low = pct <= 20;
  return (
    <div>
      <div class="h-2 w-full overflow-hidden rounded-full bg-slate-200" aria-hidden="true">
        <div class={`h-full rounded-full ${low ? "bg-red-600" : "bg-emerald-600"}`} style={{ width: `${pct}%` }} />
      </div>
      <p class="mt-1 text-sm text-slate-700">
        {t("stock.left", { remaining: formatNumber(sale.remaining), stock: formatNumber(sale.stock) })}
      </p>
    </div>
  );
}

/**
 * The time left until `to` (server clock, ms since the epoch) as `m:ss` / `h:mm:ss` for the eye and, beside it,
 * the spoken form ("2 minutes, 5 seconds") for screen readers. Not an `aria-label` on the span: a span has no
 * role, and ARIA prohibits naming it (axe "aria-prohibited-attr"). `[data-countdown]` is the digits alone.
 * Only this component re-renders on each server second, not the page around it.
 */
export function Countdown({ to, label }: { to: number; label?: string }) {
  const ms = to - useServerNow();
  return (
    <span class="font-mono tabular-nums">
      <span aria-hidden="true" data-countdown>
        {formatCountdown(ms)}
      </span>
      <span class="sr-only">{`${label ? label + " " : ""}${describeCountdown(ms)}`}</span>
    </span>
  );
}

export function Link(props: { href: string; class?: string; children: ComponentChildren; "aria-current"?: "page" }) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props["aria-current"]}
      onClick={(e) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

export function PageHeading({ children }: { children: ComponentChildren }) {
  return (
    <h1
      class="text-2xl font-bold tracking-tight text-slate-900 outline-none sm:text-3xl"
      tabIndex={-1}
      data-page-heading
    >
      {children}
    </h1>
  );
}

export function Alert({
  kind = "error",
  children,
}: {
  kind?: "error" | "info" | "success";
  children: ComponentChildren;
}) {
  const style =
    kind === "error"
      ? "border-red-300 bg-red-50 text-red-900"
      : kind === "success"
        ? "border-green-300 bg-green-50 text-green-900"
        : "border-slate-300 bg-slate-50 text-slate-900";
  return (
    <div role={kind === "error" ? "alert" : "status"} class={`rounded-lg border px-4 py-3 text-sm ${style}`}>
      {children}
    </div>
  );
}

export const buttonClass = {
  primary:
    "inline-flex min-h-11 items-center justify-center rounded-lg bg-red-700 px-5 py-2.5 text-base font-semibold text-white shadow-sm hover:bg-red-800 focus-visible:outline focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-red-700 disabled:cursor-not-allowed disabled:bg-slate-400 disabled:text-slate-900",
  secondary:
    "inline-flex min-h-10 items-center justify-center rounded-lg border border-slate-400 bg-white px-4 py-2 text-sm font-semibold text-slate-900 hover:bg-slate-50 focus-visible:outline focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-red-700 disabled:cursor-not-allowed disabled:opacity-60",
  small:
    "inline-flex min-h-9 items-center justify-center rounded-md border border-slate-400 bg-white px-3 py-1.5 text-sm font-semibold text-slate-900 hover:bg-slate-50 focus-visible:outline focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-red-700 disabled:cursor-not-allowed disabled:opacity-60",
};

/** A labelled input with its error message tied to it (`aria-describedby`, `aria-invalid`). */
export function Field(props: {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  children: (attrs: {
    id: string;
    "aria-invalid": boolean;
    "aria-describedby"?: string;
    class: string;
  }) => ComponentChildren;
}) {
  const describedBy = [props.hint ? `${props.id}-hint` : "", props.error ? `${props.id}-error` : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <div>
      <label for={props.id} class="block text-sm font-semibold text-slate-900">
        {props.label}
      </label>
      {props.hint && (
        <p id={`${props.id}-hint`} class="text-xs text-slate-700">
          {props.hint}
        </p>
      )}
      {props.children({
        id: props.id,
        "aria-invalid": Boolean(props.error),
        "aria-describedby": describedBy || undefined,
        class: `mt-1 block w-full min-w-0 rounded-lg border px-3 py-2 text-base text-slate-900 shadow-sm focus:outline focus:outline-2 focus:outline-red-700 ${
          props.error ? "border-red-700" : "border-slate-400"
        }`,
      })}
      {props.error && (
        <p id={`${props.id}-error`} class="mt-1 text-sm font-medium text-red-800" data-field-error={props.id}>
          {props.error}
        </p>
      )}
    </div>
  );
}

/** "Sign in to …" on a sale's page: the sign-in page, coming back to this sale afterwards. */
export function SignInToSale(props: { saleId: string; children: ComponentChildren; class?: string }) {
  return (
    <Link
      href={`/signin?next=${encodeURIComponent(`/sales/${props.saleId}`)}`}
      class={props.class ?? "font-semibold text-red-800 underline"}
    >
      {props.children}
    </Link>
  );
}
