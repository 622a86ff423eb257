/**
 * The bench's chart: throughput (top) and latency p50/p99 (bottom, log scale) over the run's time, one colour per
 * scenario, as a self-contained SVG (no dependencies, viewable on GitHub).
 */
export interface ChartPoint {
  scenario: string;
  at: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function renderChart(points: ChartPoint[], title: string): string {
  const W = 960;
  const H = 600;
  const left = 70;
  const right = 20;
  const top1 = 50;
  const h1 = 200;
  const top2 = top1 + h1 + 60;
  const h2 = 200;
  const plotW = W - left - right;
  const maxAt = Math.max(1, ...points.map((p) => p.at)) + 2;
  const maxRps = Math.max(1, ...points.map((p) => p.rps)) * 1.1;
  const lat = points.flatMap((p) => [p.p50Ms, p.p99Ms]).filter((v) => v > 0);
  const minLat = Math.max(0.1, Math.min(...lat, 1));
  const maxLat = Math.max(10, ...lat);
  const lo = Math.floor(Math.log10(minLat));
  const hi = Math.ceil(Math.log10(maxLat));
  const x = (at: number) => left + (at / maxAt) * plotW;
  const y1 = (rps: number) => top1 + h1 - (rps / maxRps) * h1;
  const y2 = (ms: number) => top2 + h2 - ((Math.log10(Math.max(ms, minLat)) - lo) / (hi - lo || 1)) * h2;

  const scenarios = [...new Set(points.map((p) => p.scenario))];
  const color = (s: string) => COLORS[scenarios.indexOf(s) % COLORS.length];
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="600">${esc(title)}</text>`);
  out.push(`<text x="${left}" y="${top1 - 8}" fill="#374151">Throughput (requests/s)</text>`);
  out.push(`<text x="${left}" y="${top2 - 8}" fill="#374151">Latency, ms (log scale): p50 solid, p99 dashed</text>`);
  // Grids.
  for (let i = 0; i <= 4; i++) {
    const v = (maxRps / 4) * i;
    out.push(`<line x1="${left}" x2="${W - right}" y1="${y1(v)}" y2="${y1(v)}" stroke="#e5e7eb"/>`);
    out.push(
      `<text x="${left - 6}" y="${y1(v) + 4}" text-anchor="end" fill="#6b7280">${Math.round(v).toLocaleString("en-US")}</text>`,
    );
  }
  for (let e = lo; e <= hi; e++) {
    const v = 10 ** e;
    out.push(`<line x1="${left}" x2="${W - right}" y1="${y2(v)}" y2="${y2(v)}" stroke="#e5e7eb"/>`);
    out.push(
      `<text x="${left - 6}" y="${y2(v) + 4}" text-anchor="end" fill="#6b7280">${v >= 1 ? v : v.toFixed(-e)}</text>`,
    );
  }
  for (let t = 0; t <= maxAt; t += maxAt > 200 ? 30 : maxAt > 60 ? 10 : 5) {
    out.push(`<text x="${x(t)}" y="${top2 + h2 + 16}" text-anchor="middle" fill="#6b7280">${t}s</text>`);
    out.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${top1}" y2="${top1 + h1}" stroke="#f3f4f6"/>`);
    out.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${top2}" y2="${top2 + h2}" stroke="#f3f4f6"/>`);
  }
  out.push(`<rect x="${left}" y="${top1}" width="${plotW}" height="${h1}" fill="none" stroke="#9ca3af"/>`);
  out.push(`<rect x="${left}" y="${top2}" width="${plotW}" height="${h2}" fill="none" stroke="#9ca3af"/>`);
  // Series.
  for (const s of scenarios) {
    const ps = points.filter((p) => p.scenario === s).sort((a, b) => a.at - b.at);
    const c = color(s);
    const line = (f: (p: ChartPoint) => [number, number], dash = "") =>
      `<polyline fill="none" stroke="${c}" stroke-width="2" ${dash ? `stroke-dasharray="${dash}"` : ""} points="${ps
        .map((p) =>
          f(p)
            .map((v) => v.toFixed(1))
            .join(","),
        )
        .join(" ")}"/>`;
    out.push(line((p) => [x(p.at), y1(p.rps)]));
    for (const p of ps)
      out.push(`<circle cx="${x(p.at).toFixed(1)}" cy="${y1(p.rps).toFixed(1)}" r="2.5" fill="${c}"/>`);
    // Scenarios without per-interval latency (the crowd) have no latency line.
    if (ps.some((p) => p.p50Ms > 0)) {
      out.push(line((p) => [x(p.at), y2(p.p50Ms)]));
      out.push(line((p) => [x(p.at), y2(p.p99Ms)], "5,4"));
    }
  }
  // Legend.
  scenarios.forEach((s, i) => {
    const lx = left + 10 + (i % 6) * 140;
    const ly = top2 + h2 + 44 + Math.floor(i / 6) * 18;
    out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${color(s)}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly + 1}">${esc(s)}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n");
}
