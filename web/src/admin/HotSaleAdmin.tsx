/**
 * The dashboard's part of draw and registration sales (docs/api.md "Draw", "Registration"), kept in its own
 * components: in the create form, the sale's mode, draw time and registration switch (`HotSaleFields`); on a
 * sale's page, the draw (phase, entries, winners, waitlist, the promotions that moved it, the ranking) or the
 * registrations, and the before-the-start edits (`HotSaleAdmin`).
 */
import { useState } from "preact/hooks";
import type { DrawStats } from "../../../lib/contract/draw.ts";
import type { Sale, SaleStats } from "../../../lib/contract/schemas.ts";
import { describeFailure } from "../lib/api.ts";
import { formatDateTime, shortId } from "../lib/format.ts";
import { usePolling } from "../components/hooks.ts";
import { Alert, Field, Link, buttonClass } from "../components/ui.tsx";
import { drawAdminApi, type RankingRow } from "./draw-admin-api.ts";
import { tm } from "../i18n/merchant.ts";

export interface HotSaleValues {
  mode: "first_come" | "draw";
  drawAt: string;
  registrationRequired: boolean;
  /** Buying needs a proof of work (docs/api.md "Proof of work"): first-come sales only. */
  challenge: boolean;
  /** A queue in front of the sale (docs/api.md "Queue"); first-come sales only, chosen at creation. */
  queue: boolean;
}

export const initialHotSaleValues = (): HotSaleValues => ({
  mode: "first_come",
  drawAt: "",
  registrationRequired: false,
  challenge: false,
  queue: false,
});

/** What the create form sends for these fields (the shared schema checks them with the rest). */
export function hotSaleInput(v: HotSaleValues): {
  mode?: "draw";
  drawAt?: string;
  registrationRequired?: boolean;
  challenge?: boolean;
  queue?: boolean;
} {
  if (v.mode === "draw") {
    const ms = new Date(v.drawAt).getTime();
    return { mode: "draw", drawAt: v.drawAt && !Number.isNaN(ms) ? new Date(ms).toISOString() : "" };
  }
  return {
    ...(v.registrationRequired ? { registrationRequired: true } : {}),
    // Sent either way, so an edit can turn it off again.
    challenge: v.challenge,
    ...(v.queue ? { queue: true } : {}),
  };
}

export function HotSaleFields({
  values,
  onChange,
  errors,
}: {
  values: HotSaleValues;
  onChange: (v: HotSaleValues) => void;
  errors: Record<string, string>;
}) {
  return (
    <fieldset class="space-y-3 rounded-lg border border-slate-300 p-3">
      <legend class="px-1 text-sm font-semibold text-slate-900">{tm("merchant.hot.legend")}</legend>
      <div class="flex flex-wrap gap-4 text-sm text-slate-900">
        <label class="flex items-center gap-2">
          <input
            type="radio"
            name="sale-mode"
            value="first_come"
            checked={values.mode === "first_come"}
            onChange={() => onChange({ ...values, mode: "first_come" })}
          />
          {tm("merchant.hot.firstCome")}
        </label>
        <label class="flex items-center gap-2">
          <input
            type="radio"
            name="sale-mode"
            value="draw"
            checked={values.mode === "draw"}
            onChange={() =>
              onChange({ ...values, mode: "draw", registrationRequired: false, challenge: false, queue: false })
            }
          />
          {tm("merchant.hot.draw")}
        </label>
      </div>
      {values.mode === "draw" ? (
        <Field
          id="sale-drawAt"
          label={tm("merchant.hot.drawAt")}
          error={errors.drawAt}
          hint={tm("merchant.hot.drawAtHint")}
        >
          {(attrs) => (
            <input
              {...attrs}
              name="drawAt"
              type="datetime-local"
              step={1}
              value={values.drawAt}
              onInput={(e) => onChange({ ...values, drawAt: (e.target as HTMLInputElement).value })}
            />
          )}
        </Field>
      ) : (
        <>
          <label class="flex items-center gap-2 text-sm text-slate-900">
            <input
              type="checkbox"
              name="registrationRequired"
              checked={values.registrationRequired}
              onChange={(e) => onChange({ ...values, registrationRequired: (e.target as HTMLInputElement).checked })}
            />
            {tm("merchant.hot.registrationRequired")}
          </label>
          <label class="flex items-center gap-2 text-sm text-slate-900">
            <input
              type="checkbox"
              name="challenge"
              checked={values.challenge}
              onChange={(e) => onChange({ ...values, challenge: (e.target as HTMLInputElement).checked })}
            />
            {tm("merchant.hot.challenge")}
          </label>
        </>
      )}
      {values.mode === "first_come" && (
        <label class="flex items-center gap-2 text-sm text-slate-900">
          <input
            type="checkbox"
            name="queue"
            checked={values.queue}
            onChange={(e) => onChange({ ...values, queue: (e.target as HTMLInputElement).checked })}
          />
          {tm("merchant.queue.option")}
        </label>
      )}
    </fieldset>
  );
}

function Stat({ label, value }: { label: string; value: string | number }) {
  return (
    <div class="rounded-lg border border-slate-300 bg-white p-3">
      <dt class="text-xs font-semibold text-slate-700 uppercase">{label}</dt>
      <dd class="text-lg font-bold text-slate-900 tabular-nums">{value}</dd>
    </div>
  );
}

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function DrawSection({ sale }: { sale: Sale }) {
  const [draw, setDraw] = useState<DrawStats | null>(null);
  const [ranking, setRanking] = useState<RankingRow[]>([]);
  const [drawAt, setDrawAt] = useState(toLocalInput(sale.drawAt ?? sale.endsAt));
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);

  usePolling(
    async (signal) => {
      const d = await drawAdminApi.draw(sale.id, signal);
      setDraw(d);
      if (d.phase === "drawn") setRanking((await drawAdminApi.ranking(sale.id, 1, 50, signal)).ranking);
    },
    2_000,
    [sale.id],
  );

  const moveDraw = async (e: Event) => {
    e.preventDefault();
    try {
      const updated = await drawAdminApi.update(sale.id, { drawAt: new Date(drawAt).toISOString() });
      setMessage({ kind: "success", text: tm("merchant.draw.movedTo", { time: formatDateTime(updated.drawAt!) }) });
    } catch (err) {
      setMessage({ kind: "error", text: describeFailure(err) });
    }
  };

  const started = Date.now() >= Date.parse(sale.startsAt);
  return (
    <section
      class="space-y-3 rounded-xl border border-slate-300 bg-white p-4"
      aria-labelledby="draw-admin-title"
      data-draw-phase={draw?.phase}
    >
      <h2 id="draw-admin-title" class="text-xl font-semibold text-slate-900">
        {tm("merchant.draw.heading")}
      </h2>
      <p class="text-sm text-slate-800">
        {tm("merchant.draw.at", { time: formatDateTime(sale.drawAt!) })} · {tm("merchant.draw.commitment")}{" "}
        <code class="font-mono text-xs wrap-anywhere">{sale.drawCommitment}</code> ·{" "}
        <Link href={`/sales/${sale.id}/draw`} class="font-semibold text-red-800 underline">
          {tm("merchant.draw.publicLink")}
        </Link>
      </p>
      {draw && (
        <dl class="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6">
          <Stat label={tm("merchant.draw.phase")} value={tm(`merchant.draw.phase.${draw.phase}`)} />
          <Stat label={tm("merchant.draw.entries")} value={draw.entries} />
          <Stat label={tm("merchant.draw.winners")} value={draw.winners} />
          <Stat label={tm("merchant.draw.waitlisted")} value={draw.waitlisted} />
          <Stat label={tm("merchant.draw.promoted")} value={draw.promoted} />
          <Stat
            label={tm("merchant.draw.took")}
            value={draw.drawMs === null ? "—" : tm("merchant.draw.ms", { ms: draw.drawMs })}
          />
        </dl>
      )}
      {!started && (
        <form onSubmit={moveDraw} class="flex flex-wrap items-end gap-2" aria-label={tm("merchant.draw.moveForm")}>
          <Field id="draw-move" label={tm("merchant.draw.moveTo")} hint={tm("merchant.draw.moveHint")}>
            {(attrs) => (
              <input
                {...attrs}
                type="datetime-local"
                step={1}
                value={drawAt}
                onInput={(e) => setDrawAt((e.target as HTMLInputElement).value)}
              />
            )}
          </Field>
          <button type="submit" class={buttonClass.small}>
            {tm("merchant.draw.save")}
          </button>
        </form>
      )}
      {message && <Alert kind={message.kind}>{message.text}</Alert>}
      {draw && draw.promotions.length > 0 && (
        <div class="space-y-1">
          <h3 class="font-semibold text-slate-900">{tm("merchant.draw.movement")}</h3>
          <ul class="space-y-0.5 text-sm text-slate-800">
            {draw.promotions.map((p) => (
              <li key={p.rank}>
                {tm("merchant.draw.promotion", {
                  time: formatDateTime(p.at),
                  rank: p.rank,
                  shopper: shortId(p.userId),
                  order: shortId(p.orderId),
                })}
              </li>
            ))}
          </ul>
        </div>
      )}
      {ranking.length > 0 && (
        <div class="overflow-x-auto">
          <table class="w-full text-left text-sm">
            <caption class="text-left font-semibold text-slate-900">{tm("merchant.draw.ranking")}</caption>
            <thead>
              <tr class="text-slate-700">
                <th class="py-1 pr-3">{tm("merchant.draw.colRank")}</th>
                <th class="py-1 pr-3">{tm("merchant.draw.colShopper")}</th>
                <th class="py-1 pr-3">{tm("merchant.draw.colState")}</th>
                <th class="py-1 pr-3">{tm("merchant.draw.colOrder")}</th>
              </tr>
            </thead>
            <tbody>
              {ranking.map((r) => (
                <tr key={r.rank} class="border-t border-slate-200">
                  <td class="py-1 pr-3 tabular-nums">{r.rank}</td>
                  <td class="py-1 pr-3 font-mono text-xs">{shortId(r.userId)}</td>
                  <td class="py-1 pr-3">
                    {r.state === "waitlisted"
                      ? tm("merchant.draw.waitlistedAt", { position: r.waitlistPosition ?? "" })
                      : tm(`merchant.draw.state.${r.state}`)}
                  </td>
                  <td class="py-1 pr-3 font-mono text-xs">{r.orderId ? shortId(r.orderId) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function RegistrationSection({ sale }: { sale: Sale & { stats: SaleStats } }) {
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const started = Date.now() >= Date.parse(sale.startsAt);
  const toggle = async () => {
    try {
      const updated = await drawAdminApi.update(sale.id, { registrationRequired: !sale.registrationRequired });
      setMessage({
        kind: "success",
        text: tm(updated.registrationRequired ? "merchant.registration.nowRequired" : "merchant.registration.off"),
      });
    } catch (err) {
      setMessage({ kind: "error", text: describeFailure(err) });
    }
  };
  return (
    <section
      class="space-y-3 rounded-xl border border-slate-300 bg-white p-4"
      aria-labelledby="registration-admin-title"
    >
      <h2 id="registration-admin-title" class="text-xl font-semibold text-slate-900">
        {tm("merchant.registration.heading")}
      </h2>
      <dl class="grid grid-cols-2 gap-3 sm:grid-cols-3">
        <Stat
          label={tm("merchant.registration.required")}
          value={tm(sale.registrationRequired ? "merchant.registration.yes" : "merchant.registration.no")}
        />
        <Stat label={tm("merchant.registration.count")} value={sale.stats.registrations ?? 0} />
      </dl>
      {sale.registrationRequired && (
        <p class="text-sm text-slate-800">
          {tm("merchant.registration.plan", { count: sale.stats.registrations ?? 0 })}
        </p>
      )}
      {!started && (
        <button type="button" class={buttonClass.small} onClick={() => void toggle()}>
          {tm(sale.registrationRequired ? "merchant.registration.turnOff" : "merchant.registration.require")}
        </button>
      )}
      {message && <Alert kind={message.kind}>{message.text}</Alert>}
    </section>
  );
}

/** On a sale's dashboard page: the draw of a draw sale, the registrations of a first-come sale. */
/** A queue sale's queue (docs/api.md "Queue"): the admin stats' `queue`, refreshed with the sale's page. */
function QueueSection({ sale }: { sale: Sale & { stats: SaleStats } }) {
  const q = sale.stats.queue;
  if (!q) return null;
  return (
    <section class="space-y-3 rounded-xl border border-slate-300 bg-white p-4" aria-labelledby="queue-admin-title">
      <h2 id="queue-admin-title" class="text-xl font-semibold text-slate-900">
        {tm("merchant.queue.heading")}
      </h2>
      <dl class="grid grid-cols-2 gap-3 sm:grid-cols-4" data-queue-stats>
        <Stat label={tm("merchant.queue.waiting")} value={q.waiting} />
        <Stat label={tm("merchant.queue.admitted")} value={q.admitted} />
        <Stat label={tm("merchant.queue.purchased")} value={q.purchased} />
        <Stat label={tm("merchant.queue.expired")} value={q.expired} />
        <Stat label={tm("merchant.queue.joined")} value={q.joined} />
        <Stat label={tm("merchant.queue.abandon")} value={`${Math.round(q.abandonRate * 100)}%`} />
        <Stat label={tm("merchant.queue.rate")} value={q.admitRatePerSecond} />
      </dl>
      <p class="text-sm text-slate-700">{tm("merchant.queue.hint")}</p>
    </section>
  );
}

export function HotSaleAdmin({ sale }: { sale: Sale & { stats: SaleStats } }) {
  if (sale.mode === "draw") return <DrawSection sale={sale} />;
  return (
    <>
      {sale.queue && <QueueSection sale={sale} />}
      <RegistrationSection sale={sale} />
    </>
  );
}
