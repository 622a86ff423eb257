/**
 * Display formats shared by the storefront and the dashboard. Prices, dates and spoken durations follow the
 * current locale (web/src/i18n/i18n.ts); the countdown's digits are the same in every locale.
 */
import { t } from "../i18n/shop.ts";

export { formatDateTime, formatNumber, formatPrice, formatTime } from "../i18n/i18n.ts";

/** Whole seconds left, rounded up so "0:00" shows only once the moment has come. */
function wholeSeconds(ms: number): { h: number; m: number; s: number } {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return { h: Math.floor(total / 3600), m: Math.floor((total % 3600) / 60), s: total % 60 };
}

/** A countdown as `m:ss`, or `h:mm:ss` from an hour up (docs/api.md "Web app"). */
export function formatCountdown(ms: number): string {
  const { h, m, s } = wholeSeconds(ms);
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * Spoken form of a countdown for screen readers, in the locale ("2 minutes, 5 seconds", "2分钟5秒"). Words
 * from the catalogue, not `Intl` unit formats: building those costs a phone tens of milliseconds on first use,
 * in the page's first render.
 */
export function describeCountdown(ms: number): string {
  const { h, m, s } = wholeSeconds(ms);
  const parts: string[] = [];
  if (h) parts.push(t(h === 1 ? "unit.hour" : "unit.hours", { n: String(h) }));
  if (m) parts.push(t(m === 1 ? "unit.minute" : "unit.minutes", { n: String(m) }));
  if (s || parts.length === 0) parts.push(t(s === 1 ? "unit.second" : "unit.seconds", { n: String(s) }));
  return parts.join(t("unit.separator"));
}

export function shortId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id;
}
