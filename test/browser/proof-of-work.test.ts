/**
 * A sale with proof of work in real Chromium (docs/api.md "Proof of work"): Buy now loads the solver (a chunk of its
 * own, not in the first load), shows a named progress bar in a live region while the device works — in the
 * shopper's language, with no axe violations — and reserves the order with the solution.
 */
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "vitest";
import { createSaleViaApi, signUpInContext, uniqueName, useBrowser } from "./helpers.ts";

const chromium = useBrowser();

test.each([
  ["en-US", "Buy now", "Quick check"],
  ["zh-CN", "立即购买", "快速验证"],
])(
  "%s: Buy now in a challenge sale solves a quick check, visibly, then reserves",
  async (locale, buyName, checkName) => {
    const { page, context, errors } = await chromium.openPage({ locale });
    await signUpInContext(context, "pow");
    const sale = await createSaleViaApi({
      title: uniqueName("PoW phone"),
      startsInMs: -1_000,
      stock: 3,
      challenge: true,
    });
    const scripts: string[] = [];
    page.on("request", (r) => {
      if (r.resourceType() === "script") scripts.push(new URL(r.url()).pathname);
    });
    // Hold the challenge until the progress state has been checked (the solve itself takes well under a second).
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route("**/api/challenge", async (route) => {
      await held;
      await route.continue();
    });

    await page.goto(`/sales/${sale.id}`);
    await page.getByRole("button", { name: buyName }).click();
    const progress = page.getByRole("progressbar", { name: checkName });
    await progress.waitFor();
    expect(await page.getByRole("status").filter({ has: progress }).count()).toBe(1);
    expect(await page.getByTestId("buy-button").getAttribute("aria-busy")).toBe("true");
    const violations = (await new AxeBuilder({ page }).analyze()).violations.map((v) => `${v.id}: ${v.help}`);
    expect(violations).toEqual([]);
    release();

    await page.locator("[data-order-id]").waitFor({ timeout: 30_000 });
    // The solver came on demand, not with the page.
    expect(scripts.some((p) => p.includes("proof-of-work"))).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  },
);
