/**
 * Both languages in real Chromium (docs/api.md "Languages") and accessibility: the language comes from the
 * browser's languages, `<html lang>` follows, the switcher is remembered; the buy button is "Buy now" in
 * English and Chinese in Chinese; prices and dates are formatted for the locale. axe (`@axe-core/playwright`)
 * finds no violation on any page in either language, each page screenshotted at 390 px.
 * Also the static files the gateway serves beside the app: robots.txt as text, a missing asset as a 404.
 */
import AxeBuilder from "@axe-core/playwright";
import type { Page } from "playwright-core";
import { expect, test } from "vitest";
import {
  adminToken,
  baseUrl,
  createSaleViaApi,
  purchaseInContext,
  screenshot,
  signUpInContext,
  uniqueName,
  useBrowser,
} from "./helpers.ts";

const chromium = useBrowser();

async function axeViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")} — ${v.help}`,
  );
}

test("Chinese from the browser's languages: html lang, 立即购买, prices and dates for the locale", async () => {
  const { page, context, errors } = await chromium.openPhonePage({ locale: "zh-CN" });
  const sale = await createSaleViaApi({ title: uniqueName("秒杀手机"), startsInMs: -1_000, priceCents: 49_900 });
  await page.goto(`/sales/${sale.id}`);
  const buy = page.getByRole("button", { name: "立即购买" });
  await buy.waitFor();
  expect(await page.getAttribute("html", "lang")).toBe("zh-CN");
  expect(await page.getByRole("button", { name: "Buy now" }).count()).toBe(0);
  const main = await page.locator("main").innerText();
  expect(main).toContain("US$499.00");
  expect(main).toMatch(/\d{4}年\d{1,2}月\d{1,2}日/);
  expect(main).toContain("全部活动");
  expect(await page.title()).toContain(sale.title);

  // The switcher: English now, and still English after a reload (remembered), though the browser says Chinese.
  await page.getByTestId("language-switcher").click();
  await page.getByRole("button", { name: "Buy now" }).waitFor();
  expect(await page.getAttribute("html", "lang")).toBe("en");
  await page.reload();
  await page.getByRole("button", { name: "Buy now" }).waitFor();
  expect(await page.locator("main").innerText()).toContain("$499.00");
  // And back to Chinese.
  await page.getByTestId("language-switcher").click();
  await buy.waitFor();
  expect(errors).toEqual([]);
  await context.close();
});

test("English from the browser's languages: Buy now, exactly", async () => {
  const { page, context, errors } = await chromium.openPage({ locale: "en-GB" });
  const sale = await createSaleViaApi({ title: uniqueName("Phone"), startsInMs: -1_000 });
  await page.goto(`/sales/${sale.id}`);
  const buy = page.getByRole("button", { name: "Buy now", exact: true });
  await buy.waitFor();
  expect(await buy.evaluate((b) => b.textContent)).toBe("Buy now");
  expect(await page.getAttribute("html", "lang")).toBe("en");
  expect(errors).toEqual([]);
  await context.close();
});

test.each(["en-US", "zh-CN"])(
  "no axe violations on any shopper page in %s (screenshots at 390 px)",
  { timeout: 150_000 },
  async (locale) => {
    const scheduled = await createSaleViaApi({ title: uniqueName("Scheduled"), startsInMs: 3_600_000 });
    const live = await createSaleViaApi({ title: uniqueName("Live"), startsInMs: -1_000, stock: 3 });
    const soldOut = await createSaleViaApi({ title: uniqueName("Sold out"), startsInMs: -1_000, stock: 1 });
    const { page, context, errors } = await chromium.openPhonePage({ locale });
    await signUpInContext(context);
    const order = await purchaseInContext(context, live.id);
    await purchaseInContext(context, soldOut.id);
    const lang = locale.slice(0, 2);
    const pages: [string, string, string][] = [
      ["home", "/", `[data-sale-id="${scheduled.id}"]`],
      ["sale-scheduled", `/sales/${scheduled.id}`, "#buy-countdown"],
      ["sale-live-ordered", `/sales/${live.id}`, "[data-order-id]"],
      ["sale-sold-out", `/sales/${soldOut.id}`, "[data-order-id]"],
      ["orders", "/orders", `a[href="/orders/${order.id}"]`],
      ["order", `/orders/${order.id}`, "[data-order-status]"],
      ["not-found", "/no-such-page", "[data-page-heading]"],
    ];
    for (const [name, path, ready] of pages) {
      await page.goto(path);
      await page.locator(ready).first().waitFor();
      expect(await page.getAttribute("html", "lang")).toBe(lang === "zh" ? "zh-CN" : "en");
      expect(await axeViolations(page), `${name} (${locale})`).toEqual([]);
      await screenshot(page, `${lang}-${name}-390`);
    }
    // Signed out: the sign-in and sign-up forms, and a sale with the sign-in hint.
    await context.clearCookies();
    await page.evaluate(() => localStorage.removeItem("minishop.signedIn"));
    for (const [name, path, ready] of [
      ["signin", "/signin", "#username"],
      ["signup", "/signup", "#username"],
      ["sale-signed-out", `/sales/${scheduled.id}`, "#buy-countdown"],
    ] as const) {
      await page.goto(path);
      await page.locator(ready).waitFor();
      expect(await axeViolations(page), `${name} (${locale})`).toEqual([]);
      await screenshot(page, `${lang}-${name}-390`);
    }
    expect(errors).toEqual([]);
    await context.close();
  },
);

test.each(["en-US", "zh-CN"])(
  "no axe violations on the merchant's pages in %s",
  { timeout: 120_000 },
  async (locale) => {
    const sale = await createSaleViaApi({ title: uniqueName("Dashboard"), startsInMs: -1_000, stock: 3 });
    const { page, context, errors } = await chromium.openPhonePage({ locale });
    await signUpInContext(context);
    await purchaseInContext(context, sale.id);
    const lang = locale.slice(0, 2);
    await page.goto("/admin");
    await page.locator("#admin-token").waitFor();
    expect(await axeViolations(page), `admin-token (${locale})`).toEqual([]);
    await screenshot(page, `${lang}-admin-token-390`);
    await page.evaluate((token) => sessionStorage.setItem("minishop.adminToken", token), adminToken);
    for (const [name, path, ready] of [
      ["admin", "/admin", "[data-sale-id]"],
      ["admin-sale", `/admin/sales/${sale.id}`, "svg[data-chart=sell-through]"],
    ] as const) {
      await page.goto(path);
      await page.locator(ready).first().waitFor();
      expect(await axeViolations(page), `${name} (${locale})`).toEqual([]);
      await screenshot(page, `${lang}-${name}-390`);
    }
    expect(errors).toEqual([]);
    await context.close();
  },
);

test("robots.txt is text; a missing asset is a 404, not the app's HTML", async () => {
  const robots = await fetch(`${baseUrl}/robots.txt`);
  expect(robots.status).toBe(200);
  expect(robots.headers.get("content-type")).toMatch(/^text\/plain/);
  expect(await robots.text()).toMatch(/^User-agent: \*/m);
  for (const missing of ["/assets/index-00000000.js", "/icons/nope.png", "/favicon.ico"]) {
    const res = await fetch(baseUrl + missing);
    expect(res.status, missing).toBe(404);
    expect(res.headers.get("content-type"), missing).not.toMatch(/html/);
  }
  // Pages still get the app (the single-page fallback).
  const page = await fetch(`${baseUrl}/sales/${crypto.randomUUID()}`);
  expect([page.status, page.headers.get("content-type")?.startsWith("text/html")]).toEqual([200, true]);
});
