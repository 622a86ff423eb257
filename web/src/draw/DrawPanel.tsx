/**
 * A draw sale's panel on its page (docs/api.md "Draw"): enter, see the entry, then the result — won (with the
 * order to pay), waitlisted (and where), or lost — and a link to verify the draw. The entry is polled, so a
 * result and a promotion from the waitlist show without a reload.
 */
import { useState } from "preact/hooks";
import type { Entry } from "../../../lib/contract/draw.ts";
import type { Sale } from "../../../lib/contract/schemas.ts";
import { ApiFailure } from "../lib/api.ts";
import { formatDateTime } from "../lib/format.ts";
import { navigate } from "../lib/router.ts";
import { currentUser, markSignedOut } from "../lib/shop.ts";
import { useServerNow, usePolling } from "../components/hooks.ts";
import { Link, buttonClass } from "../components/ui.tsx";
import { enterDraw, fetchMyEntry } from "./draw-api.ts";
import { t } from "./strings.ts";

export function DrawPanel({ sale }: { sale: Sale }) {
  const now = useServerNow();
  const [entry, setEntry] = useState<Entry | null | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const signedIn = currentUser.value !== null;

  usePolling(
    async (signal) => {
      if (!signedIn) return;
      try {
        setEntry(await fetchMyEntry(sale.id, signal));
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 401) {
          setEntry(null);
          return;
        }
        throw err;
      }
    },
    3_000,
    [sale.id, signedIn],
  );

  const enter = async () => {
    setBusy(true);
    setMessage(null);
    try {
      setEntry(await enterDraw(sale.id));
    } catch (err) {
      if (err instanceof ApiFailure && err.code === "UNAUTHENTICATED") {
        markSignedOut();
        navigate(`/signin?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      setMessage(err instanceof ApiFailure ? err.message : t("error.generic"));
    } finally {
      setBusy(false);
    }
  };

  const drawAt = Date.parse(sale.drawAt ?? sale.endsAt);
  const started = now >= Date.parse(sale.startsAt);
  const open = started && now < drawAt;
  let body: preact.JSX.Element;
  if (!signedIn) {
    body = (
      <Link
        href={`/signin?next=${encodeURIComponent(`/sales/${sale.id}`)}`}
        class="font-semibold text-red-800 underline"
      >
        {t("draw.signIn")}
      </Link>
    );
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
