/**
 * Shared by the browser tests: headless Chromium from the Debian package (never a downloaded build), pages
 * that record console errors, screenshots in test-results/screenshots/, and the admin API for set-up.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from "playwright-core";
import { afterAll, beforeAll, inject } from "vitest";
import type { Sale } from "../../lib/contract/schemas.ts";

export const baseUrl = inject("baseUrl");
export const adminToken = inject("adminToken");

const SCREENSHOTS = path.resolve(import.meta.dirname, "../../test-results/screenshots");
mkdirSync(SCREENSHOTS, { recursive: true });

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-dev-shm-usage",
    ],
  });
}

/**
 * One Chromium for a test file: launched before its tests, closed after them.
 *
 * @example
 * const chromium = useBrowser();
 * test("…", async () => { const { page } = await chromium.openPage(); });
 */
/** A phone's screen (390 px wide, touch), as the shopper pages are checked on. */
export const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
};

export function useBrowser(): {
  openPage: (options?: BrowserContextOptions) => Promise<TrackedPage>;
  /** `openPage` on a PHONE, with `options` on top (a locale, …). */
  openPhonePage: (options?: BrowserContextOptions) => Promise<TrackedPage>;
} {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  const open = (options: BrowserContextOptions = {}) => {
    if (!browser) throw new Error("useBrowser: the browser is not launched (call it at the top of the file)");
    return openPage(browser, options);
  };
  return { openPage: open, openPhonePage: (options = {}) => open({ ...PHONE, ...options }) };
}

export interface TrackedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions seen so far. */
  errors: string[];
}

export async function openPage(browser: Browser, options: BrowserContextOptions = {}): Promise<TrackedPage> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  return { page, context, errors };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Whether anything makes the page scroll sideways. */
export function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; clientWidth: number }> {
  return page.evaluate(() => ({
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    clientWidth: document.documentElement.clientWidth,
  }));
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export async function createSaleViaApi(input: {
  title: string;
  startsInMs: number;
  stock?: number;
  durationMs?: number;
  priceCents?: number;
  paymentWindowSeconds?: number;
  /** An exact start (ms since the epoch), instead of `startsInMs` from now. */
  startsAtMs?: number;
  perUserLimit?: number;
  /** Buying needs a solved proof-of-work challenge (docs/api.md "Proof of work"). */
  challenge?: boolean;
}): Promise<Sale> {
  const starts = input.startsAtMs ?? Date.now() + input.startsInMs;
  const res = await fetch(`${baseUrl}/admin/api/sales`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      title: input.title,
      description: "Made by the browser tests.",
      priceCents: input.priceCents ?? 1299,
      stock: input.stock ?? 10,
      perUserLimit: input.perUserLimit,
      startsAt: new Date(starts).toISOString(),
      endsAt: new Date(starts + (input.durationMs ?? 3_600_000)).toISOString(),
      ...(input.paymentWindowSeconds ? { paymentWindowSeconds: input.paymentWindowSeconds } : {}),
      ...(input.challenge ? { challenge: true } : {}),
    }),
  });
  if (res.status !== 201) throw new Error(`create sale: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { sale: Sale }).sale;
}

/**
 * A new shopper signed in inside `context` (through the API, sharing the context's cookie jar), with the
 * app's signed-in hint set so the page asks who it is on load.
 */
export async function signUpInContext(context: BrowserContext, prefix = "shopper"): Promise<{ username: string }> {
  const username = uniqueName(prefix);
  const res = await context.request.post(`${baseUrl}/api/auth/register`, {
    data: { username, password: "correct horse battery" },
  });
  if (res.status() !== 201) throw new Error(`register: ${res.status()} ${await res.text()}`);
  await context.addInitScript(() => localStorage.setItem("minishop.signedIn", "1"));
  return { username };
}

/** Buys one unit of `saleId` as the context's shopper (the API, not the page). */
export async function purchaseInContext(context: BrowserContext, saleId: string): Promise<{ id: string }> {
  const res = await context.request.post(`${baseUrl}/api/sales/${saleId}/purchase`, { data: {} });
  if (res.status() !== 202) throw new Error(`purchase: ${res.status()} ${await res.text()}`);
  return ((await res.json()) as { order: { id: string } }).order;
}
