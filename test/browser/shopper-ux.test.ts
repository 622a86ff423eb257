/**
 * What a shopper hits, tried in real Chromium (issue: shoppers and merchants, part 5), one test per fix:
 * an order that expired or was cancelled, Buy now at the very millisecond of the start, whose fault a 429
 * is, stopping the automatic retry, going offline and back, cancelling with a warning, the order's link to
 * its sale, the sign-in hint, the sold-out moment, the home page's groups, the merchant pages' header, and
 * expected 4xx answers that are not console errors.
 */
import type { Page, Route } from "playwright-core";
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

async function orderStatus(page: Page, orderId: string): Promise<string> {
  const res = await page.context().request.get(`${baseUrl}/api/orders/${orderId}`);
  return ((await res.json()) as { order: { status: string } }).order.status;
}

/** Answers the page's purchases with a soft 429 (as the gateway does for the web app) and counts them. */
function fake429(scope: "shopper" | "sale", retryAfterSeconds: number) {
  const seen = { count: 0 };
  const handler = async (route: Route) => {
    seen.count++;
    await route.fulfill({
      status: 200,
      headers: {
        "Content-Type": "application/json",
        "X-Error-Status": "429",
        "Retry-After": String(retryAfterSeconds),
      },
      body: JSON.stringify({ error: { code: "RATE_LIMITED", message: "slow down", details: { scope } } }),
    });
  };
  return { seen, handler };
}

test("an expired or cancelled order: no Buy now to press, and the page says what happened", async () => {
  const { page, context, errors } = await chromium.openPhonePage();
  await signUpInContext(context);
  // A one-second payment window: the order expires by itself.
  const expiring = await createSaleViaApi({
    title: uniqueName("Expiring"),
    startsInMs: -1_000,
    paymentWindowSeconds: 1,
  });
  const expired = await purchaseInContext(context, expiring.id);
  await expect.poll(() => orderStatus(page, expired.id), { timeout: 15_000, interval: 250 }).toBe("expired");

  await page.goto(`/sales/${expiring.id}`);
  const past = page.locator("[data-past-order=expired]");
  await past.waitFor();
  expect(await past.innerText()).toMatch(/expired/);
  expect(await past.innerText()).toMatch(/can't buy this sale again/);
  expect(await page.getByRole("button", { name: "Buy now" }).count()).toBe(0);
  expect(await past.getByRole("link", { name: "View your order" }).getAttribute("href")).toBe(`/orders/${expired.id}`);
  await screenshot(page, "ux-past-order-expired-390");

  // Cancelled by the shopper: the same, in the words of a cancel.
  const sale = await createSaleViaApi({ title: uniqueName("Cancelled"), startsInMs: -1_000 });
  const order = await purchaseInContext(context, sale.id);
  expect((await context.request.post(`${baseUrl}/api/orders/${order.id}/cancel`)).status()).toBe(200);
  await page.goto(`/sales/${sale.id}`);
  await page.locator("[data-past-order=cancelled]").waitFor();
  expect(await page.getByRole("button", { name: "Buy now" }).count()).toBe(0);
  expect(errors).toEqual([]);
  await context.close();
});

test("Buy now enables at the start itself, even when startsAt has milliseconds", async () => {
  const { page, context, errors } = await chromium.openPage();
  // The page's timers run on Playwright's clock: it flows with real time while the page loads and samples the
  // server's clock, then stands still and moves only when the test moves it, so a loaded machine firing a
  // timer late cannot decide the outcome. A start 137 ms past a whole second: a whole-second tick would
  // enable the button ~870 ms late.
  await page.clock.install({ time: Date.now() });
  const startsAtMs = Math.ceil((Date.now() + 20_000) / 1000) * 1000 + 137;
  const sale = await createSaleViaApi({ title: uniqueName("Millisecond"), startsInMs: 0, startsAtMs });
  await page.goto(`/sales/${sale.id}`);
  const buy = page.getByRole("button", { name: "Buy now" });
  await buy.waitFor();
  expect(await buy.isDisabled()).toBe(true);
  // The page has sampled the server's clock in real time. From here on its API calls are held unanswered:
  // a sample taken while the page's clock stands still would look like a perfect one and move the estimate.
  await page.route("**/api/**", () => {});
  expect(Date.now()).toBeLessThan(startsAtMs - 1_000); // the page loaded well before the start
  // The page knows the server's clock to within half its best round trip; 300 ms either side covers that.
  await page.clock.pauseAt(startsAtMs - 1_000);
  await page.clock.runFor(700);
  expect(await buy.isDisabled()).toBe(true);
  await page.clock.runFor(600);
  await expect.poll(() => buy.isDisabled()).toBe(false);
  expect(errors).toEqual([]);
  await context.close();
});

test("a 429 from the shopper's own attempts is not blamed on the crowd; the automatic retry can be stopped", async () => {
  const { page, context, errors } = await chromium.openPage();
  await signUpInContext(context);
  const sale = await createSaleViaApi({ title: uniqueName("Busy"), startsInMs: -1_000 });
  await page.goto(`/sales/${sale.id}`);
  const buy = page.getByRole("button", { name: "Buy now" });
  await buy.waitFor();

  // The shopper's own limit (scope "shopper"): said as such.
  const own = fake429("shopper", 10);
  await page.route(`**/api/sales/${sale.id}/purchase`, own.handler);
  await buy.click();
  const note = page.locator("#buy-note");
  await expect.poll(() => note.innerText()).toMatch(/Too many attempts from you/);
  expect(await note.innerText()).not.toMatch(/Lots of shoppers/);
  await page.getByRole("button", { name: "Stop trying" }).click();
  await expect.poll(() => note.innerText()).toMatch(/Stopped/);
  await page.unroute(`**/api/sales/${sale.id}/purchase`);

  // The crowd (scope "sale", Retry-After 1): "lots of shoppers", retried every second or so until stopped.
  const crowd = fake429("sale", 1);
  await page.route(`**/api/sales/${sale.id}/purchase`, crowd.handler);
  await page.getByRole("button", { name: "Buy now" }).click();
  await expect.poll(() => note.innerText()).toMatch(/Lots of shoppers/);
  await expect.poll(() => crowd.seen.count, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
  await screenshot(page, "ux-retrying");
  await page.getByRole("button", { name: "Stop trying" }).click();
  const afterStop = crowd.seen.count;
  await page.waitForTimeout(3_000);
  expect(crowd.seen.count).toBe(afterStop);
  expect(await page.getByRole("button", { name: "Buy now" }).isEnabled()).toBe(true);
  expect(errors).toEqual([]);
  await context.close();
});

test("offline: says so, and buys when the connection comes back (the `online` event)", async () => {
  const { page, context, errors } = await chromium.openPage();
  await signUpInContext(context);
  const sale = await createSaleViaApi({ title: uniqueName("Offline"), startsInMs: -1_000 });
  await page.goto(`/sales/${sale.id}`);
  const buy = page.getByRole("button", { name: "Buy now" });
  await buy.waitFor();
  await context.setOffline(true);
  await buy.click();
  const note = page.locator("#buy-note");
  await expect.poll(() => note.innerText()).toMatch(/You're offline/);
  expect(await note.innerText()).not.toMatch(/briefly unavailable/);
  await context.setOffline(false);
  // The same purchase intent goes through without another press.
  await page
    .locator("[data-order-status=reserved], [data-order-status=confirmed]")
    .first()
    .waitFor({ timeout: 10_000 });
  // Going offline makes the browser report failed loads; only those are allowed here.
  expect(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e))).toEqual([]);
  await context.close();
});

test("cancel asks first and says the unit is gone for good; the order page links to its sale", async () => {
  const { page, context, errors } = await chromium.openPhonePage();
  await signUpInContext(context);
  const sale = await createSaleViaApi({ title: uniqueName("Cancel me"), startsInMs: -1_000 });
  const order = await purchaseInContext(context, sale.id);
  await page.goto(`/orders/${order.id}`);
  const saleLink = page.getByRole("link", { name: sale.title });
  await saleLink.waitFor();
  expect(await saleLink.getAttribute("href")).toBe(`/sales/${sale.id}`);

  // First tap: a question, not a cancel.
  await page.getByRole("button", { name: "Cancel order" }).click();
  const question = page.locator("[data-cancel-confirm]");
  await question.waitFor();
  expect(await question.innerText()).toMatch(/gone for good/);
  await screenshot(page, "ux-cancel-confirm-390");
  expect(await orderStatus(page, order.id)).not.toBe("cancelled");
  // "Keep my order" keeps it.
  await page.getByRole("button", { name: "Keep my order" }).click();
  expect(await question.count()).toBe(0);
  // Cancel for real.
  await page.getByRole("button", { name: "Cancel order" }).click();
  await page.getByRole("button", { name: "Yes, cancel the order" }).click();
  await page.locator("[data-order-status=cancelled]").first().waitFor();
  expect(await page.getByText(/gone for good/).count()).toBeGreaterThan(0);
  expect(await orderStatus(page, order.id)).toBe("cancelled");
  expect(errors).toEqual([]);
  await context.close();
});

test("the sign-in hint fits the sale: 'before the sale starts' only before it starts", async () => {
  const { page, context, errors } = await chromium.openPage();
  const live = await createSaleViaApi({ title: uniqueName("Live hint"), startsInMs: -1_000 });
  const soon = await createSaleViaApi({ title: uniqueName("Soon hint"), startsInMs: 3_600_000 });
  await page.goto(`/sales/${live.id}`);
  await page.getByRole("button", { name: "Buy now" }).waitFor();
  const liveText = await page.locator("main").innerText();
  expect(liveText).not.toMatch(/before the sale starts/);
  expect(liveText).toMatch(/Sign in to buy/);
  await page.goto(`/sales/${soon.id}`);
  await page.getByRole("button", { name: "Buy now" }).waitFor();
  expect(await page.locator("main").innerText()).toMatch(/Sign in before the sale starts/);
  expect(errors).toEqual([]);
  await context.close();
});

test("the sold-out moment is plain to see, and sold-out sales are not listed among live ones", async () => {
  const { page, context, errors } = await chromium.openPhonePage();
  const sale = await createSaleViaApi({ title: uniqueName("Last one"), startsInMs: -1_000, stock: 1 });
  await page.goto(`/sales/${sale.id}`);
  await page.getByRole("button", { name: "Buy now" }).waitFor();
  // Someone else takes the last unit.
  const other = await chromium.openPage();
  await signUpInContext(other.context, "rival");
  await purchaseInContext(other.context, sale.id);
  await other.context.close();
  // Within a poll or two: a banner, not just a relabelled button.
  const banner = page.locator("[data-sold-out]");
  await banner.waitFor({ timeout: 12_000 });
  expect(await banner.innerText()).toMatch(/Sold out — the last unit has just gone/);
  expect(await page.getByRole("button", { name: "Sold out" }).isDisabled()).toBe(true);
  await screenshot(page, "ux-sold-out-390");

  // On the home page it is with the sales that are over, not the live ones.
  await page.goto("/");
  const card = page.locator(`[data-sale-id="${sale.id}"]`);
  await card.waitFor();
  expect(await page.locator(`[data-sale-group=over] [data-sale-id="${sale.id}"]`).count()).toBe(1);
  expect(await page.locator(`[data-sale-group=live] [data-sale-id="${sale.id}"]`).count()).toBe(0);
  expect(errors).toEqual([]);
  await context.close();
});

test("merchant pages show no shopper Sign in / Sign up", async () => {
  const { page, context, errors } = await chromium.openPage();
  await page.goto("/admin");
  await page.getByLabel("Admin token").waitFor();
  const nav = page.getByRole("navigation", { name: "Main" });
  expect(await nav.getByRole("link", { name: "Sign in" }).count()).toBe(0);
  expect(await nav.getByRole("link", { name: "Sign up" }).count()).toBe(0);
  // The storefront still has them.
  await page.goto("/");
  await nav.getByRole("link", { name: "Sign in" }).waitFor();
  expect(errors).toEqual([]);
  await context.close();
});

test("expected 4xx answers (409, 410, wrong admin token) are handled without console errors", async () => {
  const { page, context, errors } = await chromium.openPage();
  await signUpInContext(context);
  // 409: the page has loaded (no order yet), then the shopper buys elsewhere, then presses Buy now here.
  const sale = await createSaleViaApi({ title: uniqueName("Twice"), startsInMs: -1_000, stock: 5 });
  await page.goto(`/sales/${sale.id}`);
  await page.getByRole("button", { name: "Buy now" }).waitFor();
  await purchaseInContext(context, sale.id);
  await page.getByRole("button", { name: "Buy now" }).click();
  await page.locator("[data-order-status]").first().waitFor();

  // 410: the sale sells out after the page loaded and before the press.
  const last = await createSaleViaApi({ title: uniqueName("Gone"), startsInMs: -1_000, stock: 1 });
  await page.goto(`/sales/${last.id}`);
  await page.getByRole("button", { name: "Buy now" }).waitFor();
  const other = await chromium.openPage();
  await signUpInContext(other.context, "rival");
  await purchaseInContext(other.context, last.id);
  await other.context.close();
  await page.getByRole("button", { name: "Buy now" }).click();
  await page.locator("[data-sold-out]").waitFor();

  // 401: a mistyped admin token.
  await page.goto("/admin");
  await page.getByLabel("Admin token").fill(`${adminToken}-wrong`);
  await page.getByRole("button", { name: "Open dashboard" }).click();
  await page.getByText("That token was not accepted").waitFor();
  expect(errors).toEqual([]);
  await context.close();
});
