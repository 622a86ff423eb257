/**
 * A merchant in real Chromium: token once, validation messages, create a sale, see it on the storefront,
 * pause it and see the shopper's button say so; the sale's page has live counters and the chart.
 */
import { expect, test } from "vitest";
import { adminToken, screenshot, uniqueName, useBrowser } from "./helpers.ts";

const chromium = useBrowser();

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
  await page.getByText(/Ledger sold 0; 0 orders in PostgreSQL/).waitFor();
  await page.getByRole("button", { name: `Resume ${title}` }).click();
  await page.getByRole("button", { name: `Pause ${title}` }).waitFor({ timeout: 10_000 });
  await screenshot(page, "admin-sale-desktop");

  expect(errors).toEqual([]);
  await context.close();
});
