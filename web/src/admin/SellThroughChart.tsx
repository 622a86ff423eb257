/**
 * Sell-through over time as inline SVG: units sold (filled area) against stock, from the samples the
 * dashboard takes every second. No library: a polyline in a viewBox scales to any width.
 */
export interface SellThroughPoint {
  /** ms since epoch */
  t: number;
  sold: number;
}

const W = 720;
const H = 220;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };

export function SellThroughChart({
  points,
  stock,
  title,
}: {
  points: SellThroughPoint[];
  stock: number;
  title: string;
}) {
  const last = points[points.length - 1];
  const summary = last
    ? `${title}: ${last.sold} of ${stock} sold (${Math.round((last.sold / Math.max(1, stock)) * 100)}%) over the last ${Math.max(1, Math.round((last.t - points[0].t) / 1000))} s`
    : `${title}: no data yet`;
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const t0 = points[0]?.t ?? 0;
  const span = Math.max(1, (last?.t ?? 1) - t0);
  const x = (t: number) => PAD.left + ((t - t0) / span) * innerW;
  const y = (sold: number) => PAD.top + innerH - (Math.min(sold, stock) / Math.max(1, stock)) * innerH;
  const line = points.map((p) => `${x(p.t).toFixed(1)},${y(p.sold).toFixed(1)}`).join(" ");
  const area =
    points.length > 1 ? `${PAD.left},${PAD.top + innerH} ${line} ${x(last!.t).toFixed(1)},${PAD.top + innerH}` : "";
  return (
    <figure class="w-full max-w-3xl">
      <svg viewBox={`0 0 ${W} ${H}`} class="h-auto w-full" role="img" aria-label={summary} data-chart="sell-through">
        <title>{summary}</title>
        {[0, 0.5, 1].map((f) => (
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
              {Math.round(stock * f)}
            </text>
          </g>
        ))}
        {area && <polygon points={area} fill="#fecaca" />}
        {points.length > 1 && (
          <polyline points={line} fill="none" stroke="#b91c1c" stroke-width="2.5" stroke-linejoin="round" />
        )}
        {points.length === 1 && <circle cx={PAD.left} cy={y(points[0].sold)} r="4" fill="#b91c1c" />}
        <text x={PAD.left} y={H - 8} font-size="12" fill="#334155">
          {points.length ? new Date(t0).toLocaleTimeString("en-US") : ""}
        </text>
        <text x={W - PAD.right} y={H - 8} font-size="12" fill="#334155" text-anchor="end">
          {last ? new Date(last.t).toLocaleTimeString("en-US") : ""}
        </text>
      </svg>
      <figcaption class="mt-1 text-sm text-slate-700">{summary}</figcaption>
    </figure>
  );
}
