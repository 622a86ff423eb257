/** The web app's pure pieces: formats, retry timing, error mapping, the server clock, sale status. */
import { afterEach, describe, expect, test, vi } from "vitest";
import { fieldErrors, parseRetryAfter } from "../../web/src/lib/api.ts";
import { offsetMs, recordServerTime, resetClock, serverNow } from "../../web/src/lib/clock.ts";
import { formatCountdown, formatPrice } from "../../web/src/lib/format.ts";
import { retryDelayMs } from "../../web/src/lib/retry.ts";
import { matchRoute, safeNext } from "../../web/src/lib/router.ts";
import { effectiveStatus } from "../../web/src/lib/sale-status.ts";
import { buildSaleInput, parsePriceCents } from "../../web/src/admin/CreateSaleForm.tsx";
import { makeSale } from "./helpers.ts";

afterEach(() => {
  vi.restoreAllMocks();
  resetClock();
});

describe("formatCountdown", () => {
  test("m:ss under an hour, h:mm:ss from an hour, whole seconds rounded up", () => {
    expect(formatCountdown(0)).toBe("0:00");
    expect(formatCountdown(-5_000)).toBe("0:00");
    expect(formatCountdown(1)).toBe("0:01");
    expect(formatCountdown(5_000)).toBe("0:05");
    expect(formatCountdown(4_001)).toBe("0:05");
    expect(formatCountdown(65_000)).toBe("1:05");
    expect(formatCountdown(3_599_000)).toBe("59:59");
    expect(formatCountdown(3_600_000)).toBe("1:00:00");
    expect(formatCountdown(3_600_000 + 61_000)).toBe("1:01:01");
    expect(formatCountdown(26 * 3_600_000)).toBe("26:00:00");
  });

  test("prices in the sale's currency", () => {
    expect(formatPrice(4999, "USD")).toBe("$49.99");
    expect(formatPrice(100, "EUR")).toBe("€1.00");
  });
});

describe("retryDelayMs", () => {
  test("never sooner than Retry-After, with up to 50 % jitter on top", () => {
    expect(retryDelayMs(2_000, 1, () => 0)).toBe(2_000);
    expect(retryDelayMs(2_000, 1, () => 0.999)).toBeLessThanOrEqual(3_000);
    expect(retryDelayMs(2_000, 1, () => 0.999)).toBeGreaterThan(2_900);
    // Small Retry-After values still get at least 250 ms of spread.
    expect(retryDelayMs(0, 1, () => 1)).toBe(250);
  });

  test("exponential backoff without Retry-After, capped at 8 s", () => {
    expect(retryDelayMs(null, 1, () => 0)).toBe(500);
    expect(retryDelayMs(null, 2, () => 0)).toBe(1_000);
    expect(retryDelayMs(null, 3, () => 0)).toBe(2_000);
    expect(retryDelayMs(null, 10, () => 0)).toBe(8_000);
  });

  test("Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3_000);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
    const now = Date.parse("2026-11-24T10:00:00Z");
    expect(parseRetryAfter("Tue, 24 Nov 2026 10:00:05 GMT", now)).toBe(5_000);
  });
});

describe("server clock", () => {
  test("the offset comes from serverTime plus half the round trip, whatever the device clock says", () => {
    // The device clock is two hours fast.
    const real = Date.now();
    vi.spyOn(Date, "now").mockReturnValue(real + 2 * 3_600_000);
    const perf = vi.spyOn(performance, "now");
    perf.mockReturnValue(1_000);
    // Sent at 1000 ms, answered at 1200 ms: the server read its clock ~100 ms before the answer arrived.
    recordServerTime(new Date(real).toISOString(), 1_000, 1_200);
    perf.mockReturnValue(1_200);
    expect(serverNow()).toBe(real + 100);
    expect(Math.round(offsetMs() / 1000)).toBe(-7_200);
    // It advances with the monotonic clock, not with Date.now.
    perf.mockReturnValue(6_200);
    expect(serverNow()).toBe(real + 5_100);
  });

  test("keeps the sample with the smaller round trip", () => {
    const perf = vi.spyOn(performance, "now");
    recordServerTime("2026-11-24T10:00:00.000Z", 0, 100); // rtt 100: server ≈ 10:00:00.050 at 100
    recordServerTime("2026-11-24T10:00:05.000Z", 1_000, 3_000); // rtt 2000: worse, ignored
    perf.mockReturnValue(100);
    expect(new Date(serverNow()).toISOString()).toBe("2026-11-24T10:00:00.050Z");
  });
});

describe("sale status on the server's clock", () => {
  test("a scheduled sale is live once startsAt has passed, ended after endsAt", () => {
    const sale = makeSale({ status: "scheduled", startsAt: "2026-11-24T10:00:00Z", endsAt: "2026-11-24T11:00:00Z" });
    expect(effectiveStatus(sale, Date.parse("2026-11-24T09:59:59Z"))).toBe("scheduled");
    expect(effectiveStatus(sale, Date.parse("2026-11-24T10:00:00Z"))).toBe("live");
    expect(effectiveStatus(sale, Date.parse("2026-11-24T11:00:00Z"))).toBe("ended");
    expect(effectiveStatus({ ...sale, status: "paused" }, Date.parse("2026-11-24T10:30:00Z"))).toBe("paused");
    expect(effectiveStatus({ ...sale, remaining: 0 }, Date.parse("2026-11-24T10:30:00Z"))).toBe("sold_out");
  });
});

describe("errors, routes, forms", () => {
  test("field errors from the API's details, keyed by the first path segment", () => {
    expect(
      fieldErrors([
        { path: ["username"], message: "That username is taken" },
        { path: ["username"], message: "second message ignored" },
        { path: ["password"], code: "too_small", message: "Password must be 8–128 characters" },
        { message: "no path" },
      ]),
    ).toEqual({ username: "That username is taken", password: "Password must be 8–128 characters" });
    expect(fieldErrors(undefined)).toEqual({});
  });

  test("routes and safe redirects", () => {
    expect(matchRoute("/sales/:id", "/sales/abc")).toEqual({ id: "abc" });
    expect(matchRoute("/sales/:id", "/sales")).toBeNull();
    expect(safeNext("?next=/orders")).toBe("/orders");
    expect(safeNext("?next=//evil.example")).toBe("/");
    expect(safeNext("?next=https://evil.example")).toBe("/");
  });

  test("a sale form becomes the shared schema's input, or says what is wrong", () => {
    expect(parsePriceCents("19.99")).toBe(1999);
    expect(parsePriceCents("19.9")).toBe(1990);
    expect(parsePriceCents("7")).toBe(700);
    expect(parsePriceCents("-1")).toBeNull();
    expect(parsePriceCents("abc")).toBeNull();
    const values = {
      title: "Lamp",
      description: "",
      price: "24.50",
      currency: "usd",
      stock: "20",
      perUserLimit: "2",
      startsAt: "2099-11-24T10:00:00",
      endsAt: "2099-11-24T11:00:00",
      paymentWindowSeconds: "900",
    };
    const ok = buildSaleInput(values);
    expect(ok.errors).toEqual({});
    expect(ok.input).toMatchObject({ title: "Lamp", priceCents: 2450, currency: "USD", stock: 20, perUserLimit: 2 });
    expect(Date.parse(ok.input!.endsAt) - Date.parse(ok.input!.startsAt)).toBe(3_600_000);

    const bad = buildSaleInput({ ...values, title: " ", price: "x", stock: "0", endsAt: "2099-11-24T09:00:00" });
    expect(bad.input).toBeUndefined();
    expect(bad.errors).toMatchObject({
      title: "Give the sale a title",
      price: "Enter a price like 19.99",
      stock: "Stock must be 1–1,000,000",
      endsAt: "The end must be after the start",
    });
  });
});
