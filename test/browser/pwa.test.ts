/**
 * Phone widths and the offline shell in real Chromium: nothing scrolls sideways at 390 px (or 360 px), the
 * manifest has a name and icons, the service worker serves the shell offline and never stores API answers.
 */
import { expect, test } from "vitest";
import { adminToken, createSaleViaApi, horizontalOverflow, screenshot, uniqueName, useBrowser } from "./helpers.ts";

const chromium = useBrowser();

test("at 390 px and 360 px wide nothing scrolls sideways", async () => {
  // A long unbroken title is the usual culprit.
  const sale = await createSaleViaApi({ title: `${uniqueName("Phone")}_${"W".repeat(60)}`, startsInMs: 3_600_000 });
  for (const width of [390, 360]) {
    const { page, context, errors } = await chromium.openPage({
      viewport: { width, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    const screens: [string, string, () => Promise<unknown>][] = [
      ["home", "/", () => page.locator(`[data-sale-id="${sale.id}"]`).waitFor()],
      ["sale", `/sales/${sale.id}`, () => page.getByRole("button", { name: "Buy now" }).waitFor()],
      ["signin", "/signin", () => page.getByLabel("Username").waitFor()],
      ["admin", "/admin", () => page.getByRole("heading", { name: "Sales" }).waitFor()],
      ["admin-sale", `/admin/sales/${sale.id}`, () => page.locator("svg[data-chart=sell-through]").waitFor()],
    ];
    await page.goto("/");
    await page.evaluate((t) => sessionStorage.setItem("minishop.adminToken", t), adminToken);
    for (const [name, path, ready] of screens) {
      await page.goto(path);
      await ready();
      const { scrollWidth, clientWidth } = await horizontalOverflow(page);
      expect(scrollWidth, `${name} at ${width}px`).toBeLessThanOrEqual(clientWidth);
      await screenshot(page, `${name}-${width}`);
    }
    expect(errors).toEqual([]);
    await context.close();
  }
});

test("manifest, service worker, and the shell offline", async () => {
  const { page, context, errors } = await chromium.openPage();
  await page.goto("/");

  // The manifest is linked and has a name and icons that load.
  const href = await page.locator('link[rel="manifest"]').getAttribute("href");
  expect(href).toBeTruthy();
  const manifest = await page.evaluate(async (h) => (await fetch(h!)).json(), href);
  expect(manifest.name).toBe("MiniShop Edge");
  expect(manifest.icons.length).toBeGreaterThan(0);
  for (const icon of manifest.icons as { src: string }[]) {
    const status = await page.evaluate(async (src) => (await fetch(src)).status, icon.src);
    expect(status, icon.src).toBe(200);
  }

  // The worker installs and takes control.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.getByRole("heading", { name: "Flash sales" }).waitFor();

  // Offline, a reload still shows the shell.
  await context.setOffline(true);
  await page.reload();
  await page.getByRole("heading", { name: "Flash sales" }).waitFor();
  await page
    .getByText(/offline/i)
    .first()
    .waitFor();
  expect(await page.getByRole("link", { name: "MiniShop" }).isVisible()).toBe(true);
  await screenshot(page, "offline-shell-desktop");

  // A deep link too (single-page app: same shell).
  await page.goto("/orders");
  await page.getByRole("link", { name: "MiniShop" }).waitFor();

  // Nothing from the API is in any cache.
  const cached = await page.evaluate(async () => {
    const urls: string[] = [];
    for (const name of await caches.keys()) {
      for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
    }
    return urls;
  });
  expect(cached).toContain("/");
  expect(cached.filter((u) => u.startsWith("/api/") || u.startsWith("/admin/api/"))).toEqual([]);
  await context.setOffline(false);

  // Offline fetches of /api/* fail by design (the page says "offline"); nothing else may be logged.
  expect(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(e))).toEqual([]);
  await context.close();
});
