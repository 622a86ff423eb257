/**
 * A draw sale's panel on its page (docs/api.md "Draw"): enter, see the entry, then the result — won (with the
 * order to pay), waitlisted (and where), or lost — and a link to verify the draw. The entry is polled, so a
 * result and a promotion from the waitlist show without a reload.
 */
import type { Sale } from "../../../lib/contract/schemas.ts";
import { formatDateTime } from "../lib/format.ts";
import { useServerNow } from "../components/hooks.ts";
import { Link, SignInToSale, buttonClass } from "../components/ui.tsx";
import { enterDraw, fetchMyEntry } from "./draw-api.ts";
import { t } from "./strings.ts";
import { useMyRecord } from "./use-my-record.ts";

export function DrawPanel({ sale }: { sale: Sale }) {
  const now = useServerNow();
  const {
    record: entry,
    signedIn,
    busy,
    message,
    create: enter,
  } = useMyRecord({ saleId: sale.id, load: fetchMyEntry, create: enterDraw, everyMs: 3_000 });

  const drawAt = Date.parse(sale.drawAt ?? sale.endsAt);
  const started = now >= Date.parse(sale.startsAt);
  const open = started && now < drawAt;
  let body: preact.JSX.Element;
  if (!signedIn) {
    body = <SignInToSale saleId={sale.id}>{t("draw.signIn")}</SignInToSale>;
  } else if (entry?.state === "won") {
    body = (
      <div class="space-y-2">
        <p class="font-semibold text-green-800">{t("draw.won")}</p>
        {entry.orderId && (
          <Link href={`/orders/${encodeURIComponent(entry.orderId)}`} class="font-semibold text-red-800 underline">
            {t("draw.viewOrder")}
          </Link>
        )}
      </div>
    );
  } else if (entry?.state === "waitlisted") {
    body = <p class="text-slate-900">{t("draw.waitlisted", { position: entry.waitlistPosition ?? 0 })}</p>;
  } else if (entry?.state === "lost") {
    body = <p class="text-slate-900">{t("draw.lost")}</p>;
  } else if (entry?.state === "entered") {
    body = (
      <p class="text-slate-900">
        {now >= drawAt
          ? t("draw.running")
          : t("draw.entered", { time: formatDateTime(new Date(drawAt).toISOString()) })}
      </p>
    );
  } else if (!started) {
    body = <p class="text-slate-800">{t("draw.notStarted")}</p>;
  } else if (open) {
    body = (
      <button
        type="button"
        class={buttonClass.primary}
        disabled={busy || entry === undefined}
        onClick={() => void enter()}
      >
        {busy ? t("draw.entering") : t("draw.enter")}
      </button>
    );
  } else {
    body = <p class="text-slate-800">{t("draw.closed")}</p>;
  }

  return (
    <section class="space-y-3" aria-labelledby="draw-heading" data-entry-state={entry?.state ?? "none"}>
      <h2 id="draw-heading" class="text-lg font-bold text-slate-900">
        {t("draw.heading")}
      </h2>
      <p class="text-sm text-slate-700">{t("draw.how")}</p>
      <div role="status" aria-live="polite">
        {body}
      </div>
      {message && <p class="text-sm text-red-800">{message}</p>}
      <p class="text-sm">
        <Link href={`/sales/${sale.id}/draw`} class="font-semibold text-red-800 underline">
          {t("draw.verify")}
        </Link>
      </p>
    </section>
  );
}
