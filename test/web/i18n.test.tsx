/**
 * The two languages (docs/api.md "Languages"): no key missing in either catalogue, the same placeholders in
 * both, a message for every error code, the choice of language, and Intl formatting per locale.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { ERROR_STATUS } from "../../lib/contract/errors.ts";
import {
  formatDateTime,
  formatPrice,
  initialLocale,
  interpolate,
  locale,
  localeFromLanguages,
  resetLocale,
  setLocale,
  type Catalog,
} from "../../web/src/i18n/i18n.ts";
import { ta } from "../../web/src/i18n/account.ts";
import { tm } from "../../web/src/i18n/merchant.ts";
import { tq } from "../../web/src/queue/strings.ts";
import { errorText, t } from "../../web/src/i18n/shop.ts";
import shopZh from "../../web/src/i18n/shop.zh.ts";

afterEach(async () => {
  await setLocale("en");
  vi.unstubAllGlobals();
});

const placeholders = (message: string) => [...message.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/** Messages that read the same in both languages (names, pure placeholders). */
const SAME_IN_BOTH = new Set(["app.name", "app.titleSuffix"]);

const shopCatalogs = { en: t.catalogs.en!, zh: shopZh };
const accountCatalogs = { en: ta.catalogs.en!, zh: ta.catalogs.zh! };
const merchantCatalogs = { en: tm.catalogs.en!, zh: tm.catalogs.zh! };
const queueCatalogs = { en: tq.catalogs.en!, zh: tq.catalogs.zh! };

describe.each([
  ["shop", shopCatalogs],
  ["account", accountCatalogs],
  ["merchant", merchantCatalogs],
  ["queue", queueCatalogs],
] as const)("the %s catalogue", (_name, catalogs: Record<"en" | "zh", Catalog>) => {
  test("English and Chinese have exactly the same keys", () => {
    expect(Object.keys(catalogs.zh).sort()).toEqual(Object.keys(catalogs.en).sort());
  });

  test("every message is written in both languages, with the same placeholders", () => {
    for (const [key, english] of Object.entries(catalogs.en)) {
      const chinese = catalogs.zh[key];
      expect(english.trim(), key).not.toBe("");
      expect(chinese.trim(), key).not.toBe("");
      expect(placeholders(chinese), key).toEqual(placeholders(english));
      if (!SAME_IN_BOTH.has(key)) expect(chinese, `${key} is not translated`).toMatch(/[\u3000-\u9fff\uff00-\uffef]/);
    }
  });
});

test("every error code of the contract has a message in both languages", async () => {
  const codes = [...Object.keys(ERROR_STATUS), "NETWORK", "UNKNOWN"];
  for (const code of codes) {
    await setLocale("en");
    const english = errorText(code);
    await setLocale("zh");
    const chinese = errorText(code);
    expect(english, code).toBeTruthy();
    expect(chinese, code).toBeTruthy();
    expect(chinese, code).not.toBe(english);
  }
  expect(errorText("NO_SUCH_CODE")).toBeNull();
});

describe("choosing the language", () => {
  test("the first of the browser's languages that we speak; any Chinese is Simplified Chinese", () => {
    expect(localeFromLanguages(["zh-CN", "en-US"])).toBe("zh");
    expect(localeFromLanguages(["zh-TW"])).toBe("zh");
    expect(localeFromLanguages(["fr-FR", "zh-Hans", "en"])).toBe("zh");
    expect(localeFromLanguages(["en-GB", "zh-CN"])).toBe("en");
    expect(localeFromLanguages(["de-DE", "fr"])).toBe("en");
    expect(localeFromLanguages([])).toBe("en");
  });

  test("the browser's languages decide until the shopper picks one, which is remembered", async () => {
    vi.stubGlobal("navigator", { ...navigator, languages: ["zh-CN", "en"] });
    await resetLocale();
    expect(locale.value).toBe("zh");
    expect(document.documentElement.lang).toBe("zh-CN");
    await setLocale("en");
    expect(localStorage.getItem("minishop.locale")).toBe("en");
    expect(document.documentElement.lang).toBe("en");
    // A new visit: the remembered choice wins over the browser's languages.
    expect(initialLocale()).toBe("en");
    localStorage.setItem("minishop.locale", "zh");
    expect(initialLocale()).toBe("zh");
    localStorage.setItem("minishop.locale", "klingon");
    expect(initialLocale()).toBe("zh"); // unknown values are ignored: the browser's languages decide
  });

  test("t follows the locale and fills placeholders; the Chinese text loads before it shows", async () => {
    await setLocale("en");
    expect(t("buy.button")).toBe("Buy now");
    expect(t("sale.perShopper", { count: 2 })).toBe("2 per shopper");
    const switching = setLocale("zh");
    expect(t("buy.button")).toBe("Buy now"); // still English until the Chinese text is there
    await switching;
    expect(t("buy.button")).toBe("立即购买");
    expect(t("sale.perShopper", { count: 2 })).toBe("每人 2 件");
    expect(interpolate("{a} and {b}", { a: 1_000 }, "en")).toBe("1,000 and {b}");
  });
});

describe("Intl formatting for the locale", () => {
  test("prices", () => {
    expect(formatPrice(4999, "USD", "en")).toBe("$49.99");
    expect(formatPrice(4999, "CNY", "zh")).toBe("¥49.99");
    expect(formatPrice(4999, "USD", "zh")).toBe("US$49.99");
    expect(formatPrice(100, "ZZZZ", "en")).toBe("1 ZZZZ");
  });

  test("dates", () => {
    const iso = "2026-11-24T10:05:00Z";
    expect(formatDateTime(iso, "en")).toMatch(/Nov 24, 2026/);
    expect(formatDateTime(iso, "zh")).toMatch(/2026年11月24日/);
    expect(formatDateTime("not a date", "en")).toBe("not a date");
  });
});
