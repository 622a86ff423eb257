/**
 * The storefront's words in English and Simplified Chinese: the shell, the shopper's pages, the words the
 * dashboard shares with them (statuses), and one message per error code of docs/api.md.
 *
 * English is here; the Chinese text is in ./shop.zh.ts, loaded when Chinese is shown.
 *
 * Keys are `area.what`; `{name}` is a placeholder filled by `t(key, {name})`. Spacing between a message and
 * what the page puts next to it belongs to the message (Chinese puts no space between words). The Chinese catalogue must
 * have exactly the English keys (the compiler checks it; test/web/i18n.test.tsx checks the placeholders).
 */
import { createTranslator } from "./i18n.ts";

const en = {
  "app.name": "MiniShop",
  "app.skip": "Skip to content",
  "app.titleSuffix": "{title} — MiniShop",
  "app.footer": "MiniShop Edge — fair flash sales",
  "app.merchants": "Merchants",

  "nav.label": "Main",
  "nav.sales": "Sales",
  "nav.orders": "My orders",
  "nav.signIn": "Sign in",
  "nav.signUp": "Sign up",
  "nav.signOut": "Sign out",
  "lang.switch": "Change language to",

  "title.home": "Flash sales",
  "title.sale": "Sale",
  "title.orders": "My orders",
  "title.order": "Order",
  "title.signIn": "Sign in",
  "title.signUp": "Sign up",
  "title.admin": "Merchant dashboard",
  "title.adminSale": "Sale — dashboard",
  "title.verifyDraw": "Verify the draw",
  "title.notFound": "Not found",
  "notFound.heading": "Page not found",
  "notFound.back": "See all sales",

  "status.scheduled": "Starts soon",
  "status.live": "Live",
  "status.paused": "Paused",
  "status.sold_out": "Sold out",
  "status.ended": "Ended",
  "orderStatus.reserved": "reserved",
  "orderStatus.confirmed": "confirmed",
  "orderStatus.paid": "paid",
  "orderStatus.expired": "expired",
  "orderStatus.cancelled": "cancelled",

  "stock.left": "{remaining} of {stock} left",
  "countdown.startsIn": "Starts in",
  "unit.hour": "{n} hour",
  "unit.hours": "{n} hours",
  "unit.minute": "{n} minute",
  "unit.minutes": "{n} minutes",
  "unit.second": "{n} second",
  "unit.seconds": "{n} seconds",
  "unit.separator": ", ",
  "countdown.endsIn": "Ends in",
  "loading": "Loading…",

  "home.heading": "Flash sales",
  "home.intro": "Limited stock, one order each. Countdowns follow the shop's clock, not your device's.",
  "home.offlineStale": "You're offline — showing the sales as they were. They'll update when you're back.",
  "home.offlineEmpty": "You're offline. Sales will appear when you're back online.",
  "home.loading": "Loading sales…",
  "home.empty": "No sales right now. Check back soon.",
  "home.live": "Live now",
  "home.upcoming": "Coming up",
  "home.over": "Sold out and ended",

  "sale.notFound": "Sale not found",
  "sale.notFoundBody": "This sale doesn't exist or was removed.",
  "sale.cantLoad": "Can't load this sale",
  "sale.offline": "You're offline. This page will update when you're back.",
  "sale.offlineStale": "You're offline — these numbers may be stale.",
  "sale.back": "All sales",
  "sale.starts": "Starts",
  "sale.ends": "Ends",
  "sale.endsIn": "in",
  "sale.payWithin": "Pay within",
  "sale.payWithinValue": "{window} of buying, or the order expires",
  "sale.limit": "Limit",
  "sale.perShopper": "{count} per shopper",
  "sale.soldOutBanner": "Sold out — every unit has found a buyer.",
  "sale.soldOutReturns": "Units from orders that are cancelled or not paid in time come back on sale; this page shows them within seconds.",
  "sale.endedBanner": "This sale has ended.",

  "buy.button": "Buy now",
  "buy.buying": "Buying…",
  "buy.waiting": "Waiting to retry…",
  "buy.quantity": "Quantity",
  "buy.pausedNote": "The merchant has paused this sale. It may resume shortly.",
  "buy.retryBusy": "Lots of shoppers right now. Retrying automatically in {seconds} s…",
  "buy.retryTooFast": "Too many attempts from you in a short time. Trying again in {seconds} s…",
  "buy.retryNotStarted": "Not quite open yet. Trying again in {seconds} s…",
  "buy.retryUnavailable": "The shop is briefly unavailable. Retrying automatically in {seconds} s…",
  "buy.retryOffline": "You're offline. We'll try again as soon as your connection is back.",
  "buy.stop": "Stop trying",
  "buy.stopped": "Stopped. Press Buy now when you want to try again.",
  "buy.gaveUpBusy": "Still too busy after several tries. Press Buy now to keep trying.",
  "buy.gaveUpUnavailable": "The shop is unavailable right now. Press Buy now to try again.",
  "buy.failed": "Something went wrong, please try again.",
  "buy.signInLink": "Sign in",
  "buy.signInBefore": " before the sale starts to be ready to buy.",
  "buy.signInLive": " to buy.",
  "buy.already": "You already bought this one — one order per shopper.",
  "buy.viewOrder": "View your order",
  "buy.pastExpired": "Your order for this sale expired: it wasn't paid within the payment window, so the unit went back on sale. It's one order per shopper, so you can't buy this sale again.",
  "buy.pastCancelled": "You cancelled your order for this sale and the unit went back on sale. It's one order per shopper, so you can't buy this sale again.",
  "buy.soldOutNow": "Sold out — the last unit has just gone.",

  "progress.prefix": "Your order is",
  "progress.reserved": "— saving it, this takes a moment…",
  "progress.confirmed": "— it's yours. Pay before the window closes.",
  "progress.viewAndPay": "View order and pay",

  // One message per error code (docs/api.md "Errors" and the codes of its later sections), plus the app's own.
  "error.VALIDATION_FAILED": "Some of what was sent isn't valid.",
  "error.UNAUTHENTICATED": "Please sign in first.",
  "error.INVALID_CREDENTIALS": "Wrong username or password.",
  "error.FORBIDDEN_ORIGIN": "This request came from another site and was refused.",
  "error.NOT_STARTED": "The sale hasn't started yet.",
  "error.ENDED": "The sale has ended.",
  "error.NOT_FOUND": "Not found.",
  "error.USERNAME_TAKEN": "That username is taken — try another.",
  "error.ALREADY_PURCHASED": "You already bought this one — one order per shopper.",
  "error.INSUFFICIENT_STOCK": "Not enough left for that quantity — try fewer.",
  "error.ORDER_EXPIRED": "The payment window has closed; the item went back on sale.",
  "error.ORDER_NOT_PAYABLE": "This order can't be paid any more.",
  "error.ORDER_NOT_CANCELLABLE": "This order can't be cancelled any more.",
  "error.SALE_STARTED": "The sale has already started, so it can't be changed.",
  "error.SALE_HAS_ORDERS": "This sale has orders, so it can't be deleted.",
  "error.TOO_MANY_UNPAID_ORDERS": "You have too many unpaid orders — pay or cancel one first.",
  "error.SOLD_OUT": "Sold out.",
  "error.PAYLOAD_TOO_LARGE": "That's too large to send.",
  "error.UNSUPPORTED_MEDIA_TYPE": "That file type isn't supported.",
  "error.PAUSED": "The merchant has paused this sale.",
  "error.RATE_LIMITED": "Too many requests — please wait a moment.",
  "error.NOT_ADMITTED": "It isn't your turn to buy yet.",
  "error.NOT_REGISTERED": "Only shoppers who registered before the start can buy.",
  "error.ENTRIES_CLOSED": "Entries for this draw are closed.",
  "error.REGISTRATION_CLOSED": "Registration for this sale is closed.",
  "error.REGISTRATION_NOT_REQUIRED": "This sale needs no registration.",
  "error.INTERNAL": "Something went wrong on our side.",
  "error.UNAVAILABLE": "The shop is briefly unavailable.",
  "error.NETWORK": "Can't reach MiniShop — check your connection.",
  "error.UNKNOWN": "Something went wrong, please try again.",
} as const;

export type ShopCatalog = typeof en;
export type ShopKey = keyof ShopCatalog;

/** The Chinese text is a chunk of its own (./shop.zh.ts): an English first load does not carry it. */
export const t = createTranslator(en, () => import("./shop.zh.ts"));

/** The message for an error code in the current language; null for a code this app has no words for. */
export function errorText(code: string): string | null {
  const key = `error.${code}`;
  return Object.hasOwn(en, key) ? t(key as "error.UNKNOWN") : null;
}
