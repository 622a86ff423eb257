/**
 * Sell-through over the whole sale, from the series its object keeps (GET /admin/api/sales/:id/series):
 * units sold against stock (filled area), and below it the per-second rates of attempts and rejections.
 * The points are cumulative, so a rate is the difference of two points over their time apart — exact
 * however far apart the object's thinning has left them. Inline SVG, no library: a polyline in a viewBox
 * scales to any width.
 */
import type { SeriesPoint } from "../../../lib/contract/schemas.ts";
import { tm } from "../i18n/merchant.ts";

const W = 720;
const H = 220;
const RATE_H = 140;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };

export interface RatePoint {
  t: number;
  attempts: number;
  rejected: number;
}

/** Per-second rates between consecutive points, stamped at the later one (never negative). */
export function ratesOf(points: SeriesPoint[]): RatePoint[] {
  const rates: RatePoint[] = [];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const seconds = Math.max(0.001, (b.t - a.t) / 1000);
    rates.push({
      t: b.t,
      attempts: Math.max(0, (b.attempts - a.attempts) / seconds),
      rejected: Math.max(0, (b.rejected - a.rejected) / seconds),
    });
  }
  return rates;
}

function timeLabel(t: number): string {
  return new Date(t).toLocaleTimeString();
}

function Axis({ t0, t1, height, ticks }: { t0: number; t1: number; height: number; ticks: [number, string][] }) {
  const innerH = height - PAD.top - PAD.bottom;
  return (
    <>
      {ticks.map(([f, label]) => (
        <g key={f}>
          <line
            x1={PAD.left}
            x2={W - PAD.right}
            y1={PAD.top + innerH * (1 - f)}
            y2={PAD.top + innerH * (1 - f)}
            stroke="#cbd5e1"
            stroke-width="1"
          />
          <text x={PAD.left - 6} y={PAD.top + innerH * (1 - f) + 4} text-anchor="end" font-size="12" fill="#334155">
            {label}
          </text>
        </g>
      ))}
      <text x={PAD.left} y={height - 8} font-size="12" fill="#334155">
        {timeLabel(t0)}
      </text>
      <text x={W - PAD.right} y={height - 8} font-size="12" fill="#334155" text-anchor="end">
        {timeLabel(t1)}
      </text>
    </>
  );
}

export function SellThroughChart({ points, stock }: { points: SeriesPoint[]; stock: number }) {
  const last = points[points.length - 1];
  const t0 = points[0]?.t ?? 0;
  const t1 = last?.t ?? 1;
  const span = Math.max(1, t1 - t0);
  const innerW = W - PAD.left - PAD.right;
  const x = (t: number) => PAD.left + ((t - t0) / span) * innerW;

  const innerH = H - PAD.top - PAD.bottom;
  const ySold = (sold: number) => PAD.top + innerH - (Math.min(sold, stock) / Math.max(1, stock)) * innerH;
  const soldLine = points.map((p) => `${x(p.t).toFixed(1)},${ySold(p.sold).toFixed(1)}`).join(" ");
  const soldArea =
    points.length > 1 ? `${PAD.left},${PAD.top + innerH} ${soldLine} ${x(t1).toFixed(1)},${PAD.top + innerH}` : "";
  const summary = last
    ? tm("merchant.chart.soldSummary", {
        sold: last.sold,
        stock,
        percent: Math.round((last.sold / Math.max(1, stock)) * 100),
        seconds: Math.max(1, Math.round(span / 1000)),
      })
    : tm("merchant.chart.none");

  const rates = ratesOf(points);
  const peak = Math.max(1, ...rates.map((r) => Math.max(r.attempts, r.rejected)));
  const rateInnerH = RATE_H - PAD.top - PAD.bottom;
  const yRate = (v: number) => PAD.top + rateInnerH - (v / peak) * rateInnerH;
  const rateLine = (key: "attempts" | "rejected") =>
    rates.map((r) => `${x(r.t).toFixed(1)},${yRate(r[key]).toFixed(1)}`).join(" ");
  const peakAttempts = Math.round(Math.max(0, ...rates.map((r) => r.attempts)));
  const peakRejected = Math.round(Math.max(0, ...rates.map((r) => r.rejected)));
  const rateSummary = tm("merchant.chart.rateSummary", { attempts: peakAttempts, rejected: peakRejected });

  return (
    <div class="w-full max-w-3xl space-y-3">
      <figure>
        <svg viewBox={`0 0 ${W} ${H}`} class="h-auto w-full" role="img" aria-label={summary} data-chart="sell-through">
          <title>{summary}</title>
          <Axis
            t0={t0}
            t1={t1}
            height={H}
            ticks={[0, 0.5, 1].map((f) => [f, String(Math.round(stock * f))] as [number, string])}
          />
          {soldArea && <polygon points={soldArea} fill="#fecaca" />}
          {points.length > 1 && (
            <polyline points={soldLine} fill="none" stroke="#b91c1c" stroke-width="2.5" stroke-linejoin="round" />
          )}
          {points.length === 1 && <circle cx={PAD.left} cy={ySold(points[0].sold)} r="4" fill="#b91c1c" />}
        </svg>
        <figcaption class="mt-1 text-sm text-slate-700" data-chart-summary>
          {summary}
        </figcaption>
      </figure>
      <figure>
        <svg
          viewBox={`0 0 ${W} ${RATE_H}`}
          class="h-auto w-full"
          role="img"
          aria-label={`${tm("merchant.chart.rates")}. ${rateSummary}`}
          data-chart="rates"
        >
          <title>{rateSummary}</title>
          <Axis
            t0={t0}
            t1={t1}
            height={RATE_H}
            ticks={[0, 1].map((f) => [f, String(Math.round(peak * f))] as [number, string])}
          />
          {rates.length > 1 && (
            <>
              <polyline points={rateLine("attempts")} fill="none" stroke="#1d4ed8" stroke-width="2" />
              <polyline
                points={rateLine("rejected")}
                fill="none"
                stroke="#b45309"
                stroke-width="2"
                stroke-dasharray="5 3"
              />
            </>
          )}
        </svg>
        <figcaption class="mt-1 flex flex-wrap gap-x-4 text-sm text-slate-700">
          <span>
            <span aria-hidden="true" class="mr-1 inline-block h-0.5 w-4 bg-blue-700 align-middle" />
            {tm("merchant.chart.attemptsPerSecond")}
          </span>
          <span>
            <span aria-hidden="true" class="mr-1 inline-block h-0.5 w-4 bg-amber-700 align-middle" />
            {tm("merchant.chart.rejectedPerSecond")}
          </span>
          <span>{rateSummary}</span>
        </figcaption>
      </figure>
    </div>
  );
}
