/**
 * The storefront's words in English and Simplified Chinese: the shell, the shopper's pages, the words the
 * dashboard shares with them (statuses), and one message per error code of docs/api.md.
 *
 * English is in ./shop.en.ts (in the first load); the Chinese text is in ./shop.zh.ts, loaded when Chinese is shown.
 *
 * Keys are `area.what`; `{name}` is a placeholder filled by `t(key, {name})`. Spacing between a message and
 * what the page puts next to it belongs to the message (Chinese puts no space between words). The Chinese catalogue must
 * have exactly the English keys (the compiler checks it; test/web/i18n.test.tsx checks the placeholders).
 */
import { createTranslator } from "./i18n.ts";
import { en, type ShopCatalog } from "./shop.en.ts";

export type { ShopCatalog };
export type ShopKey = keyof ShopCatalog;

/** The Chinese text is a chunk of its own (./shop.zh.ts): an English first load does not carry it. */
export const t = createTranslator(en, () => import("./shop.zh.ts"));

/** The message for an error code in the current language; null for a code this app has no words for. */
export function errorText(code: string): string | null {
  const key = `error.${code}`;
  return Object.hasOwn(en, key) ? t(key as "error.UNKNOWN") : null;
}
