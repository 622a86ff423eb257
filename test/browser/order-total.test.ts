/**
 * Money shown to a shopper (issue: a quantity-3 order of a $499.00 sale showed Total $4,491.00): the order
 * page and My orders show the unit price and the total of a quantity-3 order, each once, in real Chromium.
 */
import { expect, test } from "vitest";
import { createSaleViaApi, screenshot, uniqueName, useBrowser } from "./helpers.ts";

const chromium = useBrowser();

test("a quantity-3 order of a $499.00 sale shows Total $1,497.00", async () => {
  const { page, context, errors } = await chromium.openPage();
  const sale = await createSaleViaApi({
    title: uniqueName("Three phones"),
    startsInMs: -1_000,
    stock: 5,
    priceCents: 49_900,
    perUserLimit: 3,
  });

  // Sign up in the page (the session cookie lands in the browser), then buy three through the API.
  await page.goto("/");
  const orderId = await page.evaluate(
    async ({ saleId, username }) => {
      const reg = await fetch("/api/auth/register", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username, password: "correct horse battery" }),
      });
      if (reg.status !== 201) throw new Error(`register ${reg.status}`);
      // Signed up behind the app's back: leave the hint the app's own sign-up leaves, so it asks who we are.
      localStorage.setItem("minishop.signedIn", "1");
      const res = await fetch(`/api/sales/${saleId}/purchase`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
        body: JSON.stringify({ quantity: 3 }),
      });
      if (res.status !== 202) throw new Error(`purchase ${res.status}`);
      return ((await res.json()) as { order: { id: string } }).order.id;
    },
    { saleId: sale.id, username: uniqueName("three") },
  );

  // The order page: quantity 3, unit $499.00, total $1,497.00 — never $4,491.00.
  await page.goto(`/orders/${orderId}`);
  const total = page.locator("dt:text-is('Total') + dd");
  await total.waitFor();
  expect(await total.innerText()).toBe("$1,497.00");
  expect(await page.locator("dt:text-is('Unit price') + dd").innerText()).toBe("$499.00");
  expect(await page.locator("dt:text-is('Quantity') + dd").innerText()).toBe("3");
  await screenshot(page, "order-total-desktop");

  // My orders: "3 × $499.00 = $1,497.00".
  await page.goto("/orders");
  const line = page.locator("li", { has: page.getByRole("link", { name: sale.title }) });
  await line.waitFor();
  expect(await line.innerText()).toContain("3 × $499.00 = $1,497.00");
  expect(await page.content()).not.toContain("4,491");

  expect(errors).toEqual([]);
  await context.close();
});
