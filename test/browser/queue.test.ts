/**
 * The queue screen in real Chromium on a phone (docs/api.md "Queue"): a shopper joins before the start, is told
 * the place is drawn at the start, is admitted with the stock and buys; another, joining after the sell-out, reads
 * "sold out, you were number 2", in Chinese too. axe finds no violation on the screen; nothing scrolls sideways;
 * the console stays quiet (the live feed connects).
 */
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "vitest";
import type { Sale } from "../../lib/contract/schemas.ts";
import {
  adminToken,
  baseUrl,
  horizontalOverflow,
  screenshot,
  signUpInContext,
  uniqueName,
  useBrowser,
} from "./helpers.ts";

const chromium = useBrowser();

async function createQueueSale(stock: number, startsInMs: number): Promise<Sale> {
  const starts = Date.now() + startsInMs;
  const res = await fetch(`${baseUrl}/admin/api/sales`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      title: uniqueName("Queued phone"),
      description: "Made by the browser tests.",
      priceCents: 4_999,
      stock,
      queue: true,
      startsAt: new Date(starts).toISOString(),
      endsAt: new Date(starts + 3_600_000).toISOString(),
    }),
  });
  if (res.status !== 201) throw new Error(`create sale: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { sale: Sale }).sale;
}

async function axeViolations(page: import("playwright-core").Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test(
  "join before the start, get admitted, buy; late joiners read 'sold out, you were #N'",
  { timeout: 120_000 },
  async () => {
    const sale = await createQueueSale(1, 12_000);
    const { page, context, errors } = await chromium.openPhonePage();
    await signUpInContext(context, "queuer");
    await page.goto(`/sales/${sale.id}`);
    await page.getByRole("heading", { name: "Queue", exact: true }).waitFor();
    await page.getByRole("button", { name: "Join the queue" }).click();
    await page.getByText("Your place is drawn at random when the sale starts").waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, "queue-joined-phone");

    // The start: the only ticket is admitted (stock 1), the Buy now button appears, and the purchase goes through.
    await page.locator('[data-ticket-state="admitted"]').waitFor({ timeout: 40_000 });
    await page.getByText("It's your turn!").waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, "queue-admitted-phone");
    await page.getByRole("button", { name: "Buy now" }).click();
    await page.locator('[data-ticket-state="purchased"]').waitFor({ timeout: 20_000 });
    const overflow = await horizontalOverflow(page);
    expect(overflow.scrollWidth).toBeLessThanOrEqual(overflow.clientWidth);
    expect(errors).toEqual([]);
    await context.close();

    // A shopper who joins after the sell-out is told so, with their place.
    for (const locale of ["en", "zh-CN"] as const) {
      const late = await chromium.openPhonePage({ locale });
      await signUpInContext(late.context, "late");
      await late.page.goto(`/sales/${sale.id}`);
      await late.page.locator('[data-ticket-state="none"]').waitFor();
      await late.page.locator("section[aria-labelledby='queue-heading'] button").click();
      await late.page.locator('[data-ticket-state="sold_out"]').waitFor({ timeout: 20_000 });
      const expected = locale === "en" ? "Sold out — you were number" : "已售罄——你当时排在第";
      await late.page.getByText(expected).waitFor();
      expect(await axeViolations(late.page)).toEqual([]);
      await screenshot(late.page, `queue-sold-out-${locale}-phone`);
      expect(late.errors).toEqual([]);
      await late.context.close();
    }
  },
);
