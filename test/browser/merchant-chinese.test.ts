/**
 * The merchant dashboard in Simplified Chinese (issue 19, docs/api.md "Languages"), in real Chromium: every
 * dashboard screen — the token form and its errors, the sales list, the create form and its field errors, a live
 * first-come sale (counters, revenue, chart, registration, orders, photo, controls, reconcile), a scheduled sale
 * (the edit form), a draw sale (the draw), an unknown sale — shows no English word except names and data (sale
 * titles, usernames, ids, currency and file-format codes, PostgreSQL). Each screen is screenshotted at 1280 px.
 */
import type { Page } from "playwright-core";
import { expect, test } from "vitest";
import {
  adminToken,
  baseUrl,
  createSaleViaApi,
  purchaseInContext,
  screenshot,
  signUpInContext,
  useBrowser,
} from "./helpers.ts";

const chromium = useBrowser();

/** Words a Chinese dashboard may show in Latin letters: product and format names, codes. */
const ALLOWED = new Set(["PostgreSQL", "CSV", "ISO", "USD", "CNY", "US", "PNG", "JPEG", "WebP", "MiB"]);

/**
 * The Latin words on the page outside the allowed names and the given data (titles, usernames), and outside
 * ids (hexadecimal runs, which `shortId` and the commitment show).
 */
async function englishWords(page: Page, data: string[]): Promise<string[]> {
  let text = await page.locator("main").innerText();
  for (const value of data) text = text.replaceAll(value, " ");
  const words = text.match(/[A-Za-z][A-Za-z0-9_-]*/g) ?? [];
  return [...new Set(words)].filter((w) => !ALLOWED.has(w) && !/^[0-9a-f-]*[0-9][0-9a-f-]*$/i.test(w));
}

async function createDrawSale(title: string): Promise<{ id: string }> {
  const now = Date.now();
  const res = await fetch(`${baseUrl}/admin/api/sales`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      title,
      priceCents: 9900,
      stock: 2,
      mode: "draw",
      startsAt: new Date(now + 3_600_000).toISOString(),
      drawAt: new Date(now + 5_400_000).toISOString(),
      endsAt: new Date(now + 7_200_000).toISOString(),
    }),
  });
  if (res.status !== 201) throw new Error(`create draw sale: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { sale: { id: string } }).sale;
}

test("every dashboard screen in Chinese shows no English but names and data", { timeout: 150_000 }, async () => {
  const live = await createSaleViaApi({ title: "实时秒杀", startsInMs: -1_000, stock: 5 });
  const scheduled = await createSaleViaApi({ title: "预约活动", startsInMs: 3_600_000 });
  const draw = await createDrawSale("抽签球鞋");
  const { page, context, errors } = await chromium.openPage({ locale: "zh-CN" });
  const { username } = await signUpInContext(context, "buyer");
  await purchaseInContext(context, live.id);
  // Data: the shopper's name and every sale's title (other test files share this stack and name theirs in English).
  const check = async (name: string) => {
    const listed = await fetch(`${baseUrl}/admin/api/sales`, { headers: { Authorization: `Bearer ${adminToken}` } });
    const titles = ((await listed.json()) as { sales: { title: string }[] }).sales.map((s) => s.title);
    const data = [username, ...titles.sort((a, b) => b.length - a.length)];
    expect(await englishWords(page, data), name).toEqual([]);
    await screenshot(page, `zh-dashboard-${name}`);
  };

  // The token form, empty and then with a wrong token.
  await page.goto("/admin");
  await page.locator("#admin-token").waitFor();
  await check("token");
  await page.getByRole("button", { name: "进入后台" }).click();
  await page.getByText("请输入管理令牌").waitFor();
  await page.locator("#admin-token").fill("not-the-token");
  await page.getByRole("button", { name: "进入后台" }).click();
  await page.getByText("该令牌未被接受").waitFor();
  await check("token-rejected");

  // The sales list, failed orders, and the create form with its field errors.
  await page.locator("#admin-token").fill(adminToken);
  await page.getByRole("button", { name: "进入后台" }).click();
  await page.locator(`tr[data-sale-id="${live.id}"]`).waitFor();
  await page.getByText("没有 — 每个订单都已写入数据库。").waitFor();
  await check("list");
  await page.locator("#sale-price").fill("abc");
  await page.locator("#sale-stock").fill("");
  await page.getByRole("button", { name: "创建活动" }).click();
  await page.getByText("请输入价格，例如 19.99").waitFor();
  await check("create-errors");

  // A live first-come sale: counters, revenue, chart, registration, orders with the shopper, photo, controls, reconcile.
  await page.goto(`/admin/sales/${live.id}`);
  await page.locator("svg[data-chart=sell-through]").waitFor();
  await page.locator("[data-username]").filter({ hasText: username }).waitFor({ timeout: 30_000 });
  await page.getByRole("button", { name: "对账" }).click();
  await page.locator("[data-reconcile-by-status]").waitFor();
  await check("sale-live");

  // A scheduled sale: the edit form.
  await page.goto(`/admin/sales/${scheduled.id}`);
  await page.getByRole("button", { name: "保存修改" }).waitFor();
  await check("sale-scheduled");

  // A draw sale before its start: the draw and moving it.
  await page.goto(`/admin/sales/${draw.id}`);
  await page.locator("[data-draw-phase]").waitFor();
  await page.getByText("报名中").waitFor();
  await check("sale-draw");

  // A sale that does not exist.
  await page.goto(`/admin/sales/${crypto.randomUUID()}`);
  await page.getByText("没有这个活动。").waitFor();
  await check("sale-unknown");

  expect(errors.filter((e) => !/\b(401|404)\b/.test(e))).toEqual([]);
  await context.close();
});
