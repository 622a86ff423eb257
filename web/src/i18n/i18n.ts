/**
 * The web app's two languages (docs/api.md "Languages"): English and Simplified Chinese.
 *
 * No library: a catalogue is a flat object of `"key": "text with {placeholders}"`, written once in English
 * (`as const`, so the keys and each message's placeholders are types) and once in Chinese, which must have
 * exactly the same keys (the compiler checks it, and test/web/i18n.test.tsx checks keys and placeholders at
 * run time). `createTranslator(en, zh)` gives a `t(key, params)` whose `params` are required exactly when
 * the message has placeholders.
 *
 * The locale is a signal: a component that calls `t` while rendering re-renders when it changes. It is chosen
 * once from a remembered choice (localStorage), else the browser's languages, else English; `setLocale` (the
 * switcher) remembers the choice. `<html lang>` follows the signal.
 *
 * Numbers, prices, dates and durations go through `Intl` for the locale (formatters cached per locale).
 *
 * Catalogues: `shop.ts` (the shopper's screens, shared words, error codes) ships with the storefront;
 * `merchant.ts` (the dashboard's screens) is imported only by web/src/admin, so it lands in the dashboard's
 * own chunk.
 */
import { effect, signal } from "@preact/signals";

export const LOCALES = ["en", "zh"] as const;
export type Locale = (typeof LOCALES)[number];

/** The BCP 47 tag for `<html lang>`, `lang` attributes and `Intl`. */
export const LOCALE_TAG: Record<Locale, string> = { en: "en", zh: "zh-CN" };

/** Each language's name in itself, for the switcher. */
export const LOCALE_NAME: Record<Locale, string> = { en: "English", zh: "中文" };

const STORAGE_KEY = "minishop.locale";

/** The first of the browser's languages that we speak (any Chinese → Simplified Chinese), else English. */
export function localeFromLanguages(languages: readonly string[]): Locale {
  for (const tag of languages) {
    const primary = tag.toLowerCase().split(/[-_]/)[0];
    if (primary === "zh") return "zh";
    if (primary === "en") return "en";
  }
  return "en";
}

function storedLocale(): Locale | null {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === "en" || value === "zh" ? value : null;
  } catch {
    return null; // storage disabled: the browser's languages decide every time
  }
}

/** The remembered choice, else the browser's languages, else English. */
export function initialLocale(): Locale {
  const stored = storedLocale();
  if (stored) return stored;
  if (typeof navigator === "undefined") return "en";
  return localeFromLanguages(navigator.languages?.length ? navigator.languages : [navigator.language ?? "en"]);
}

export const locale = signal<Locale>(initialLocale());

/** Loads every catalogue's text for `loc` that is not loaded yet (a Chinese catalogue is a chunk of its own). */
export async function loadLocale(loc: Locale): Promise<void> {
  await Promise.all([...loaders].map((load) => load(loc)));
}

/**
 * The switcher: loads the language's text, then shows it and remembers it for the next visit.
 * @returns when the page speaks `next`.
 */
export async function setLocale(next: Locale): Promise<void> {
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Storage disabled: the choice lasts for this page only.
  }
  await loadLocale(next);
  locale.value = next;
}

/** For tests: forget the remembered choice and decide again from the browser's languages. */
export async function resetLocale(): Promise<void> {
  try {
    localStorage.removeItem(STORAGE_KEY);
  } catch {}
  const next = initialLocale();
  await loadLocale(next);
  locale.value = next;
}

if (typeof document !== "undefined") {
  effect(() => {
    document.documentElement.lang = LOCALE_TAG[locale.value];
  });
}

// ---------------------------------------------------------------- catalogues and the translator

export type Catalog = Readonly<Record<string, string>>;

/** The names inside `{…}` in a message, as a union type ("" when there are none). */
type PlaceholderNames<S extends string> = S extends `${string}{${infer Name}}${infer Rest}`
  ? Name | PlaceholderNames<Rest>
  : never;

/** `t(key)` for a message without placeholders, `t(key, {name: value})` with exactly its placeholders. */
type ParamsArg<S extends string> = [PlaceholderNames<S>] extends [never]
  ? []
  : [params: Record<PlaceholderNames<S>, string | number>];

export type Translate<C extends Catalog> = <K extends keyof C & string>(key: K, ...params: ParamsArg<C[K]>) => string;

/** The same keys as the English catalogue, any text. */
export type Translation<C extends Catalog> = { readonly [K in keyof C]: string };

/** Replaces `{name}` with `params.name` (numbers formatted for the locale); unknown names stay as written. */
export function interpolate(message: string, params: Record<string, string | number> | undefined, loc: Locale): string {
  if (!params) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === "number" ? formatNumber(value, loc) : value;
  });
}

/** The Chinese text of a catalogue, given as is or as the module that holds it (`() => import("./x.zh.ts")`). */
export type ChineseSource<C extends Catalog> = Translation<C> | (() => Promise<{ default: Translation<C> }>);

/** One per catalogue whose Chinese text is still to be loaded (see `loadLocale`). */
const loaders = new Set<(loc: Locale) => Promise<void>>();

/**
 * @example
 * const t = createTranslator({ hello: "Hello, {name}" } as const, { hello: "你好，{name}" });
 * t("hello", { name: "Ada" }); // "Hello, Ada" or "你好，Ada", by the current locale
 *
 * While a lazily loaded Chinese text is not there yet, `t` answers in English (main.tsx loads it before the
 * first render, and `setLocale` before switching).
 */
export function createTranslator<C extends Catalog>(
  en: C,
  zh: ChineseSource<C>,
): Translate<C> & { catalogs: Partial<Record<Locale, Catalog>> } {
  const catalogs: Partial<Record<Locale, Catalog>> = { en };
  if (typeof zh === "function") {
    let loading: Promise<void> | null = null;
    const load = (loc: Locale) => {
      if (loc !== "zh") return Promise.resolve();
      loading ??= zh().then(
        (m) => {
          catalogs.zh = m.default;
          loaders.delete(load);
        },
        (err: unknown) => {
          loading = null; // offline, say: try again next time
          throw err;
        },
      );
      return loading;
    };
    loaders.add(load);
  } else {
    catalogs.zh = zh;
  }
  const t = (key: string, params?: Record<string, string | number>) => {
    const loc = locale.value;
    return interpolate(catalogs[loc]?.[key] ?? en[key] ?? key, params, loc);
  };
  return Object.assign(t as Translate<C>, { catalogs });
}

// ---------------------------------------------------------------- Intl formatting for the current locale

const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

function cached<F extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => F): F {
  let f = formatters.get(key) as F | undefined;
  if (!f) {
    f = make();
    formatters.set(key, f);
  }
  return f;
}

export function formatNumber(value: number, loc: Locale = locale.value): string {
  return cached(`n:${loc}`, () => new Intl.NumberFormat(LOCALE_TAG[loc])).format(value);
}

/** A price in the sale's currency, written the locale's way ("$49.99", "US$49.99"). */
export function formatPrice(cents: number, currency: string, loc: Locale = locale.value): string {
  try {
    return cached(
      `c:${loc}:${currency}`,
      () => new Intl.NumberFormat(LOCALE_TAG[loc], { style: "currency", currency }),
    ).format(cents / 100);
  } catch {
    return `${formatNumber(cents / 100, loc)} ${currency}`; // not an ISO 4217 code Intl knows
  }
}

/** A date and time in the device's time zone, the locale's way. */
export function formatDateTime(iso: string | number, loc: Locale = locale.value): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return cached(
    `d:${loc}`,
    () => new Intl.DateTimeFormat(LOCALE_TAG[loc], { dateStyle: "medium", timeStyle: "short" }),
  ).format(d);
}

/** A time of day with seconds (chart axes). */
export function formatTime(ms: number, loc: Locale = locale.value): string {
  return cached(`t:${loc}`, () => new Intl.DateTimeFormat(LOCALE_TAG[loc], { timeStyle: "medium" })).format(ms);
}
