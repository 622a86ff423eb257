/**
 * A merchant in real Chromium: token once, validation messages, create a sale, see it on the storefront,
 * pause it and see the shopper's button say so; the sale's page has live counters and the chart. Then a
 * sale's page as the screen left open during a sale: a product photo uploaded, replaced and deleted (and
 * seen by shoppers), orders with shoppers' names, paid and held revenue, the chart after a reload, editing
 * before the start, ending and deleting.
 */
import type { Page } from "playwright-core";
import { expect, inject, test } from "vitest";
import { adminToken, createSaleViaApi, screenshot, uniqueName, useBrowser } from "./helpers.ts";

const chromium = useBrowser();

/**
 * Gives the dashboard the token and waits until it has kept it: the token is stored once the server accepts it,
 * so navigating away before then would land on the token form again.
 */
async function signInAsMerchant(page: Page): Promise<void> {
  await page.goto("/admin");
  await page.getByLabel("Admin token").fill(adminToken);
  await page.getByRole("button", { name: "Open dashboard" }).click();
  // (The token form's heading is "Merchant dashboard" too: wait for what only the dashboard has.)
  await page.getByRole("button", { name: "Forget token" }).waitFor();
}

test("create a sale → on the storefront → pause → the button says paused", async () => {
  const { page, context, errors } = await chromium.openPage();
  await page.goto("/admin");

  // The token is asked for once and kept for the tab.
  await page.getByLabel("Admin token").fill(adminToken);
  await page.getByRole("button", { name: "Open dashboard" }).click();
  // (The token form's heading is "Merchant dashboard" too: wait for what only the dashboard has.)
  await page.getByRole("button", { name: "Forget token" }).waitFor();
  expect(await page.evaluate(() => sessionStorage.getItem("minishop.adminToken"))).toBe(adminToken);

  // Submitting an empty form shows what to fix, field by field.
  await page.getByRole("button", { name: "Create sale" }).click();
  await expect.poll(() => page.locator("[data-field-error=sale-title]").innerText()).toMatch(/title/i);
  expect(await page.locator("[data-field-error=sale-price]").innerText()).toMatch(/19\.99/);
  await page.getByLabel("Stock").fill("0");
  await page.getByRole("button", { name: "Create sale" }).click();
  await expect.poll(() => page.locator("[data-field-error=sale-stock]").innerText()).toMatch(/1–1,000,000/);
  await screenshot(page, "admin-validation-desktop");

  // A valid sale, scheduled (the form's default start is a few minutes ahead).
  const title = uniqueName("Merchant lamp");
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Price").fill("24.50");
  await page.getByLabel("Stock").fill("20");
  await page.getByRole("button", { name: "Create sale" }).click();
  await page.getByText(`Created “${title}”.`).waitFor();
  const row = page.locator("tr", { has: page.getByRole("link", { name: title }) });
  await row.waitFor({ timeout: 5_000 });
  await screenshot(page, "admin-dashboard-desktop");

  // It appears on the storefront (the list may lag a write by up to 2 s).
  const shop = await context.newPage();
  shop.on("console", (m) => m.type() === "error" && errors.push(`shop console: ${m.text()}`));
  await shop.goto("/");
  await shop.getByRole("link", { name: title }).waitFor({ timeout: 15_000 });
  expect(await shop.getByRole("link", { name: title }).locator("xpath=ancestor::li").innerText()).toContain("$24.50");

  // Pause from the dashboard's table.
  await row.getByRole("button", { name: `Pause ${title}` }).click();
  await row.getByRole("button", { name: `Resume ${title}` }).waitFor({ timeout: 10_000 });
  expect(await row.locator("[data-status]").innerText()).toBe("Paused");

  // The shopper's button says paused (the sale page refetches every few seconds; within 2 s of fresh data).
  await shop.getByRole("link", { name: title }).click();
  await shop.getByRole("button", { name: "Paused" }).waitFor({ timeout: 15_000 });
  expect(await shop.getByRole("button", { name: "Paused" }).isDisabled()).toBe(true);
  await screenshot(shop, "sale-paused-desktop");

  // The sale's own page: live counters, the sell-through chart, orders and their CSV.
  await row.getByRole("link", { name: title }).click();
  await page.locator("svg[data-chart=sell-through]").waitFor();
  await page.getByRole("button", { name: "Download CSV" }).waitFor();
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download CSV" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^orders-.*\.csv$/);
  await page.getByRole("button", { name: "Reconcile" }).click();
  await page
    .getByText(/Sold \(held or paid\): 0\. PostgreSQL holds 0 orders of every status\. Nothing is missing\./)
    .waitFor();
  await page.getByRole("button", { name: `Resume ${title}` }).click();
  await page.getByRole("button", { name: `Pause ${title}` }).waitFor({ timeout: 10_000 });
  await screenshot(page, "admin-sale-desktop");

  expect(errors).toEqual([]);
  await context.close();
});

/** A 4×3 PNG of one colour, made by the page's own canvas (real image bytes, no fixture file). */
async function pngBytes(page: Page, colour: string): Promise<Buffer> {
  const base64 = await page.evaluate((fill) => {
    const canvas = document.createElement("canvas");
    canvas.width = 400;
    canvas.height = 300;
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = fill;
    ctx.fillRect(0, 0, 400, 300);
    ctx.fillStyle = "#fff";
    ctx.font = "bold 64px sans-serif";
    ctx.fillText("MiniShop", 50, 170);
    return canvas.toDataURL("image/png").split(",")[1];
  }, colour);
  return Buffer.from(base64, "base64");
}

async function api(path: string, init: RequestInit & { cookie?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("Cookie", init.cookie);
  if (init.body && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  return fetch(new URL(path, inject("baseUrl")), { ...init, headers });
}

test("the sale's page: photo upload → shoppers see it → replace → delete; names, revenue, chart after reload", async () => {
  const { page, context, errors } = await chromium.openPage();
  page.on("dialog", (d) => void d.accept());
  const title = uniqueName("Photo kettle");
  const sale = await createSaleViaApi({ title, startsInMs: -1_000, stock: 5, priceCents: 2_500 });

  // Two shoppers buy; one pays. (Over the API: the shopper's pages are tested elsewhere.)
  const names: string[] = [];
  for (const prefix of ["ada", "bo"]) {
    const username = uniqueName(prefix);
    const reg = await api("/api/auth/register", {
      method: "POST",
      body: JSON.stringify({ username, password: "password123" }),
    });
    const cookie = reg.headers.get("set-cookie")!.split(";")[0];
    const bought = await api(`/api/sales/${sale.id}/purchase`, { method: "POST", cookie, body: "{}" });
    expect(bought.status).toBe(202);
    const { order } = (await bought.json()) as { order: { id: string } };
    if (prefix === "ada")
      expect((await api(`/api/orders/${order.id}/pay`, { method: "POST", cookie })).status).toBe(200);
    names.push(username);
  }

  await signInAsMerchant(page);
  await page.goto(`/admin/sales/${sale.id}`);
  await page.getByRole("heading", { name: title }).waitFor();

  // Orders carry the shoppers' names (they reach PostgreSQL a moment later; the table refreshes itself).
  for (const name of names) await page.locator("[data-username]", { hasText: name }).waitFor({ timeout: 20_000 });
  // Paid and held revenue, split.
  await expect
    .poll(() => page.locator("[data-revenue]").innerText())
    .toMatch(/Paid\s+\$25\.00\s*1 unit[\s\S]*Held, awaiting payment\s+\$25\.00\s*1 unit/);

  // Upload a photo from the dashboard: the preview appears, and the sale has its URL.
  const red = await pngBytes(page, "#b91c1c");
  await page
    .getByLabel("Choose a PNG, JPEG or WebP image (up to 2 MiB)")
    .setInputFiles({ name: "kettle.png", mimeType: "image/png", buffer: red });
  await page.getByRole("button", { name: "Upload photo" }).click();
  await page.getByText("The photo is live on the sale's page.").waitFor();
  const preview = page.getByRole("img", { name: `Photo of ${title}` });
  await preview.waitFor();
  const firstUrl = (await preview.getAttribute("src"))!;
  expect(firstUrl).toMatch(new RegExp(`^/images/${sale.id}/[0-9a-f]+\\.png$`));
  // The bytes served are the bytes uploaded, cacheable for a year.
  const served = await api(firstUrl);
  expect(served.headers.get("content-type")).toBe("image/png");
  expect(served.headers.get("cache-control")).toContain("max-age=31536000");
  expect(Buffer.from(await served.arrayBuffer()).equals(red)).toBe(true);
  expect(await preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(400);

  // A file that is not an image is refused with a message, and the photo stays.
  await page
    .getByLabel("Choose a PNG, JPEG or WebP image (up to 2 MiB)")
    .setInputFiles({ name: "notes.png", mimeType: "image/png", buffer: Buffer.from("not really a png") });
  await page.getByRole("button", { name: "Replace photo" }).click();
  await page.getByText("That file is not a PNG, JPEG or WebP image.").waitFor();
  expect(await preview.getAttribute("src")).toBe(firstUrl);

  // Shoppers see it on the card and the sale's page, with alt text and a size known before it loads.
  const shop = await context.newPage();
  shop.on("console", (m) => m.type() === "error" && errors.push(`shop console: ${m.text()}`));
  await shop.goto(`/sales/${sale.id}`);
  const photo = shop.getByRole("img", { name: title });
  await photo.waitFor({ timeout: 15_000 });
  expect(await photo.getAttribute("width")).toBe("800");
  expect(await photo.getAttribute("height")).toBe("600");
  await screenshot(shop, "sale-with-photo-desktop");

  // Replace: a new URL; the old one is gone.
  await page
    .getByLabel("Choose a PNG, JPEG or WebP image (up to 2 MiB)")
    .setInputFiles({ name: "kettle-blue.png", mimeType: "image/png", buffer: await pngBytes(page, "#1d4ed8") });
  await page.getByRole("button", { name: "Replace photo" }).click();
  await expect.poll(() => preview.getAttribute("src")).not.toBe(firstUrl);
  expect((await api(firstUrl)).status).toBe(404);

  // A reload keeps the whole chart: the series comes from the server, not the tab.
  await page.reload();
  await page.locator("svg[data-chart=sell-through]").waitFor();
  await expect.poll(() => page.locator("[data-chart-summary]").innerText()).toMatch(/^Sold 2 of 5 \(40%\)/);
  await screenshot(page, "admin-sale-live-desktop");

  // Delete the photo: shoppers' page shows none within the freshness window.
  await page.getByRole("button", { name: "Delete photo" }).click();
  await page.getByText("The photo was deleted.").waitFor();
  await shop.reload();
  await shop.getByRole("heading", { name: title }).waitFor();
  await expect.poll(() => shop.locator("[data-sale-image]").count(), { timeout: 10_000 }).toBe(0);

  // A sale with orders cannot be deleted; it can be ended.
  await page.getByRole("button", { name: "Delete sale" }).click();
  await page.getByText("This sale has orders, so it cannot be deleted — end it instead.").waitFor();
  await page.getByRole("button", { name: "End sale now" }).click();
  await page.getByText("The sale has ended.").waitFor();
  await expect.poll(() => page.locator("[data-status]").first().innerText()).toBe("Ended");

  // Chromium logs a 4xx answer to a fetch as a console error; the app asks for expected 4xx as soft errors
  // (docs/api.md "Web app transport"), so at most the two the test provoked on purpose may show, nothing else.
  const provoked = [/status of 415 .*\/image\)$/, new RegExp(`status of 409 .*/admin/api/sales/${sale.id}\\)$`)];
  expect(errors.filter((e) => !provoked.some((p) => p.test(e)))).toEqual([]);
  expect(errors.length).toBeLessThanOrEqual(2);
  await context.close();
});

test("edit a scheduled sale, then delete it", async () => {
  const { page, context, errors } = await chromium.openPage();
  page.on("dialog", (d) => void d.accept());
  const title = uniqueName("Later lamp");
  const sale = await createSaleViaApi({ title, startsInMs: 3_600_000 });
  await signInAsMerchant(page);
  await page.goto(`/admin/sales/${sale.id}`);
  const edit = page.getByRole("form", { name: "Edit before the start" });
  await edit.waitFor();
  const renamed = `${title} (edited)`;
  await edit.getByLabel("Title").fill(renamed);
  await edit.getByLabel("Currency").fill("XYZ");
  await edit.getByRole("button", { name: "Save changes" }).click();
  await expect.poll(() => page.locator("[data-field-error=edit-sale-currency]").innerText()).toMatch(/currency code/i);
  await edit.getByLabel("Currency").fill("CNY");
  await edit.getByRole("button", { name: "Save changes" }).click();
  await page.getByText(`Saved “${renamed}”.`).waitFor();
  await page.getByRole("heading", { name: renamed }).waitFor();
  await screenshot(page, "admin-sale-edit-desktop");
  await page.getByRole("button", { name: "Delete sale" }).click();
  await page.getByRole("heading", { name: "Merchant dashboard" }).waitFor();
  expect(
    (await api(`/admin/api/sales/${sale.id}`, { headers: { Authorization: `Bearer ${adminToken}` } })).status,
  ).toBe(404);
  // A refresh of the sale's page already in flight when the sale was deleted may come back 404 (Chromium logs
  // it) before the page leaves; nothing else may.
  const late404 = new RegExp(`status of 404 .*/admin/api/sales/${sale.id}(/series|/orders\\?[^)]*)?\\)$`);
  expect(errors.filter((e) => !late404.test(e))).toEqual([]);
  await context.close();
});
