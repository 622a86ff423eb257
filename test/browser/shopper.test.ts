/**
 * A shopper's flash sale in real Chromium: sign up, watch the countdown (on the server's clock, with the
 * device clock set 90 minutes wrong), Buy now when it turns live, see the order go reserved → confirmed
 * without a reload.
 */
import { expect, test } from "vitest";
import { createSaleViaApi, screenshot, uniqueName, useBrowser } from "./helpers.ts";

const chromium = useBrowser();

test("sign up → countdown → Buy now → confirmed, with a wrong device clock", async () => {
  const { page, context, errors } = await chromium.openPage();
  // The device clock is 90 minutes fast: a countdown on Date.now() would already show the sale as live.
  await context.addInitScript(() => {
    const realNow = Date.now.bind(Date);
    Date.now = () => realNow() + 90 * 60_000;
  });

  // Sign up with the labelled form.
  await page.goto("/");
  await page.getByRole("link", { name: "Sign up" }).click();
  await page.getByLabel("Username").fill(uniqueName("shopper"));
  await page.getByLabel("Password").fill("correct horse battery");
  await screenshot(page, "signup-desktop");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("link", { name: "My orders" }).waitFor();

  // A sale that starts in a few seconds.
  const sale = await createSaleViaApi({ title: uniqueName("Countdown sneakers"), startsInMs: 12_000, stock: 5 });

  // The home page lists it with a live m:ss countdown (the list may lag a write by up to 2 s).
  await page.goto("/");
  const card = page.locator(`[data-sale-id="${sale.id}"]`);
  await card.waitFor({ timeout: 8_000 });
  const homeCountdown = await card.locator("[data-countdown]").innerText();
  expect(homeCountdown).toMatch(/^0:(0\d|1[0-2])$/);
  await screenshot(page, "home-desktop");

  // The sale page counts down on the server's clock; Buy now is there but disabled until the start.
  await page.goto(`/sales/${sale.id}`);
  const buy = page.getByRole("button", { name: "Buy now" });
  await buy.waitFor();
  expect(await buy.isDisabled()).toBe(true);
  const countdown = page.locator("#buy-countdown [data-countdown]");
  const shown = await countdown.innerText();
  expect(shown).toMatch(/^0:\d\d$/);
  const secondsLeft = Number(shown.split(":")[1]);
  const actualLeft = (Date.parse(sale.startsAt) - Date.now()) / 1000;
  expect(Math.abs(secondsLeft - actualLeft)).toBeLessThan(2);
  await screenshot(page, "sale-countdown-desktop");

  // It turns live at the start, exactly when the countdown runs out.
  await page.waitForFunction(
    () => !(document.querySelector("[data-testid=buy-button]") as HTMLButtonElement | null)?.disabled,
    undefined,
    { timeout: 25_000 },
  );
  expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(sale.startsAt) - 1_000);
  await buy.click();

  // The order appears, reserved or already confirmed, and becomes confirmed without a reload.
  const status = page.locator("[data-order-status]");
  await status.first().waitFor({ timeout: 10_000 });
  expect(["reserved", "confirmed"]).toContain(await status.first().innerText());
  await page.locator('[data-order-status="confirmed"]').waitFor({ timeout: 30_000 });
  await screenshot(page, "sale-confirmed-desktop");

  // The order page has the payment window and pays.
  await page.getByRole("link", { name: "View order and pay" }).click();
  await page.getByRole("button", { name: "Pay now" }).waitFor();
  expect(await page.locator("[data-countdown]").first().innerText()).toMatch(/^1[45]:\d\d$/);
  await screenshot(page, "order-desktop");
  await page.getByRole("button", { name: "Pay now" }).click();
  await page.locator('[data-order-status="paid"]').waitFor();

  // My orders lists it.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My orders" }).click();
  await page.getByRole("link", { name: sale.title }).waitFor();
  await screenshot(page, "my-orders-desktop");

  expect(errors).toEqual([]);
  await context.close();
});

test("sign-in shows field errors and a wrong password", async () => {
  const { page, context, errors } = await chromium.openPage();
  await page.goto("/signin");
  // The app renders the form itself: tab only once it is there (a Tab pressed while the app mounts lands on a
  // document whose focus the render then drops).
  await page.getByLabel("Username").waitFor();

  // Keyboard: the skip link comes first, then the header, then the form in reading order.
  const focused = () =>
    page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim() || "");
  await page.keyboard.press("Tab");
  expect(await focused()).toBe("Skip to content");
  const order: string[] = [];
  for (let i = 0; i < 8 && !order.includes("password"); i++) {
    await page.keyboard.press("Tab");
    order.push(await focused());
  }
  expect(order.slice(-2)).toEqual(["username", "password"]);
  await page.keyboard.press("Tab");
  expect(await focused()).toBe("Sign in");
  // Too short: the shared schema's messages under each field, tied to the input.
  await page.getByLabel("Username").fill("ab");
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => page.locator("[data-field-error=username]").innerText()).toMatch(/3–32/);
  expect(await page.locator("[data-field-error=password]").innerText()).toMatch(/8–128/);
  expect(await page.getByLabel("Username").getAttribute("aria-invalid")).toBe("true");
  await screenshot(page, "signin-errors-desktop");

  // A taken username on sign-up comes back from the API as a field error.
  const taken = uniqueName("taken");
  const res = await fetch(new URL("/api/auth/register", page.url()), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: taken, password: "long enough pass" }),
  });
  expect(res.status).toBe(201);
  await page.goto("/signup");
  await page.getByLabel("Username").fill(taken);
  await page.getByLabel("Password").fill("long enough pass");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect.poll(() => page.locator("[data-field-error=username]").innerText()).toMatch(/taken/i);

  // 409 from the API is logged by Chromium as a failed resource: that one is expected here.
  expect(errors.filter((e) => !/status of 409/.test(e))).toEqual([]);
  await context.close();
});
