/**
 * Draws and registration in real Chromium (docs/api.md "Draw", "Registration"): a shopper enters a draw, sees the
 * entry, then the result after the draw, and the "verify this draw" page recomputes the ranking in the browser and
 * says it matches; a shopper registers for a sale and sees that they are. The verify page in Chinese too.
 */
import { expect, test } from "vitest";
import type { Sale } from "../../lib/contract/schemas.ts";
import { adminToken, baseUrl, screenshot, uniqueName, useBrowser } from "./helpers.ts";

const chromium = useBrowser();

async function createViaApi(body: Record<string, unknown>): Promise<Sale> {
  const res = await fetch(`${baseUrl}/admin/api/sales`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ description: "Made by the browser tests.", priceCents: 2_500, ...body }),
  });
  if (res.status !== 201) throw new Error(`create sale: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { sale: Sale }).sale;
}

/** Another shopper, entered over the API (so the draw has a waitlist). */
async function enterOverApi(saleId: string): Promise<void> {
  const res = await fetch(`${baseUrl}/api/auth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: uniqueName("other"), password: "correct horse battery" }),
  });
  const cookie = res.headers.get("set-cookie")!.split(";")[0];
  const entered = await fetch(`${baseUrl}/api/sales/${saleId}/entries`, {
    method: "POST",
    headers: { Cookie: cookie },
  });
  expect(entered.status).toBe(201);
}

test("enter a draw, see the result, verify the draw in the browser", async () => {
  const { page, context, errors } = await chromium.openPage();
  await page.goto("/signup");
  await page.getByLabel("Username").fill(uniqueName("entrant"));
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("link", { name: "My orders" }).waitFor();

  const now = Date.now();
  const sale = await createViaApi({
    title: uniqueName("Draw sneakers"),
    stock: 1,
    mode: "draw",
    startsAt: new Date(now - 1_000).toISOString(),
    drawAt: new Date(now + 15_000).toISOString(),
    endsAt: new Date(now + 3_600_000).toISOString(),
  });
  await enterOverApi(sale.id);
  await enterOverApi(sale.id);

  // Enter: the button, then the entry.
  await page.goto(`/sales/${sale.id}`);
  await page.getByRole("button", { name: "Enter the draw" }).click();
  await page.locator('[data-entry-state="entered"]').waitFor();
  expect(await page.getByRole("status").filter({ hasText: "You're in the draw" }).count()).toBe(1);
  await screenshot(page, "draw-entered-desktop");

  // Before the draw the verify page shows the commitment only.
  await page.goto(`/sales/${sale.id}/draw`);
  expect(await page.locator("[data-commitment]").innerText()).toBe(sale.drawCommitment);
  await page.getByText("The draw has not run yet").waitFor();

  // After the draw: won (with an order) or waitlisted (with a position), without a reload.
  await page.goto(`/sales/${sale.id}`);
  await page.locator('[data-entry-state="won"], [data-entry-state="waitlisted"]').waitFor({ timeout: 30_000 });
  const state = await page.locator("[data-entry-state]").getAttribute("data-entry-state");
  if (state === "won") await page.getByRole("link", { name: "View your order" }).waitFor();
  else await page.getByText(/You're number [12] on the waitlist/).waitFor();
  await screenshot(page, "draw-result-desktop");

  // Verify: recomputed in the browser, and it matches.
  await page.getByRole("link", { name: "Verify this draw" }).click();
  await page.locator('[data-verify-state="ok"]').waitFor({ timeout: 15_000 });
  await page.getByText("Verified: the seed matches the commitment").waitFor();
  expect(await page.getByText("Entries: 3 · winners: 1 · waitlist: 2").count()).toBe(1);
  await screenshot(page, "draw-verified-desktop");
  expect(errors).toEqual([]);
  await context.close();

  // The same page in Chinese (the browser's language).
  const zh = await chromium.openPage({ locale: "zh-CN" });
  await zh.page.goto(`/sales/${sale.id}/draw`);
  await zh.page.locator('[data-verify-state="ok"]').waitFor({ timeout: 15_000 });
  await zh.page.getByText("验证通过").waitFor();
  expect(zh.errors).toEqual([]);
  await zh.context.close();
});

test("register for a sale and see that you are registered", async () => {
  const { page, context, errors } = await chromium.openPage();
  await page.goto("/signup");
  await page.getByLabel("Username").fill(uniqueName("registrant"));
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("link", { name: "My orders" }).waitFor();

  const now = Date.now();
  const sale = await createViaApi({
    title: uniqueName("Registered drop"),
    stock: 5,
    registrationRequired: true,
    startsAt: new Date(now + 600_000).toISOString(),
    endsAt: new Date(now + 3_600_000).toISOString(),
  });
  await page.goto(`/sales/${sale.id}`);
  await page.getByRole("button", { name: "Register for this sale" }).click();
  await page.getByText("You're registered").waitFor();
  // A reload still knows it (the server says so).
  await page.reload();
  await page.locator('[data-registered="yes"]').waitFor();
  await screenshot(page, "registered-desktop");
  expect(errors).toEqual([]);
  await context.close();
});
