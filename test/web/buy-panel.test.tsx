/**
 * The Buy now button through its states, against a scripted API: countdown, purchase, order status polling,
 * automatic retry after 429 (visible, honouring Retry-After), sold out, already bought, paused, signed out.
 */
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { BuyPanel } from "../../web/src/components/BuyPanel.tsx";
import { recordServerTime, resetClock } from "../../web/src/lib/clock.ts";
import { currentPath } from "../../web/src/lib/router.ts";
import { currentUser } from "../../web/src/lib/shop.ts";
import { SalePage } from "../../web/src/pages/SalePage.tsx";
import { apiError, json, makeOrder, makeSale, mockFetch } from "./helpers.ts";

beforeEach(() => {
  currentUser.value = { id: "user-1", username: "shopper" };
  history.replaceState(null, "", "/sales/x");
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  resetClock();
});

const buyButton = () => screen.getByRole("button", { name: /Buy now|Buying|Waiting|Paused|Sold out|Ended/ });

describe("before the start", () => {
  test("Buy now is disabled with a countdown on the server's clock, and turns live at the start", async () => {
    // The device clock is an hour slow; the server says the sale starts in 1.2 s.
    const serverStart = Date.now() + 1_200;
    const sale = makeSale({ status: "scheduled", startsAt: new Date(serverStart).toISOString() });
    vi.spyOn(Date, "now").mockImplementation(() => performance.timeOrigin + performance.now() - 3_600_000);
    recordServerTime(new Date(serverStart - 1_200).toISOString(), performance.now(), performance.now());
    mockFetch((path) => (path === "/api/orders" ? json({ orders: [] }) : apiError(404, "NOT_FOUND")));

    render(<BuyPanel sale={sale} onStale={() => {}} />);
    const button = screen.getByRole("button", { name: "Buy now" });
    expect(button).toHaveProperty("disabled", true);
    expect(screen.getByText(/Starts in/).textContent).toMatch(/Starts in 0:0[12]/);
    // Accessible countdown text for screen readers: spoken text beside the digits, not a prohibited aria-label.
    const countdown = document.querySelector("[data-countdown]")!;
    expect(countdown.getAttribute("aria-hidden")).toBe("true");
    expect(countdown.nextElementSibling?.textContent).toMatch(/second/);
    expect(document.querySelector("[aria-label]")).toBeNull();

    await waitFor(() => expect(screen.getByRole("button", { name: "Buy now" })).toHaveProperty("disabled", false), {
      timeout: 3_000,
    });
  });
});

describe("buying", () => {
  test("202 shows the order, reserved then confirmed, without a reload", async () => {
    const sale = makeSale();
    const order = makeOrder({ saleId: sale.id });
    let polls = 0;
    const calls = mockFetch((path, init) => {
      if (path === "/api/orders") return json({ orders: [] });
      if (path === `/api/sales/${sale.id}/purchase`) return json({ order }, 202);
      if (path === `/api/orders/${order.id}`)
        return json({ order: { ...order, status: ++polls >= 1 ? "confirmed" : "reserved" } });
      return apiError(404, "NOT_FOUND", `unexpected ${init.method} ${path}`);
    });
    render(<BuyPanel sale={sale} onStale={() => {}} />);
    fireEvent.click(screen.getByRole("button", { name: "Buy now" }));

    await screen.findByText("reserved");
    await waitFor(() => expect(screen.getByText("confirmed")).toBeTruthy(), { timeout: 3_000 });
    const purchase = calls.find((c) => c.path.endsWith("/purchase"))!;
    expect(purchase.method).toBe("POST");
    expect(new Headers(purchase.init.headers).get("Idempotency-Key")).toMatch(/\S{8,}/);
    expect(screen.getByRole("link", { name: "View order and pay" }).getAttribute("href")).toBe(`/orders/${order.id}`);
  });

  test("429 retries automatically after Retry-After, says so, and keeps the same Idempotency-Key", async () => {
    const sale = makeSale();
    const order = makeOrder({ saleId: sale.id, status: "confirmed" });
    let attempts = 0;
    const calls = mockFetch((path) => {
      if (path === "/api/orders") return json({ orders: [] });
      if (path.endsWith("/purchase")) {
        attempts++;
        return attempts === 1
          ? apiError(429, "RATE_LIMITED", "The sale is busy", undefined, { "Retry-After": "1" })
          : json({ order }, 202);
      }
      return json({ order });
    });
    render(<BuyPanel sale={sale} onStale={() => {}} />);
    const started = performance.now();
    fireEvent.click(screen.getByRole("button", { name: "Buy now" }));

    await screen.findByText(/Lots of shoppers right now\. Retrying automatically in \d s/);
    expect(buyButton()).toHaveProperty("disabled", true);
    await screen.findByText("confirmed", undefined, { timeout: 3_000 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_000);
    const keys = calls
      .filter((c) => c.path.endsWith("/purchase"))
      .map((c) => new Headers(c.init.headers).get("Idempotency-Key"));
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  test("410 turns the button into Sold out", async () => {
    const sale = makeSale();
    const onStale = vi.fn();
    mockFetch((path) => (path === "/api/orders" ? json({ orders: [] }) : apiError(410, "SOLD_OUT", "Sold out")));
    render(<BuyPanel sale={sale} onStale={onStale} />);
    fireEvent.click(screen.getByRole("button", { name: "Buy now" }));
    const soldOut = await screen.findByRole("button", { name: "Sold out" });
    expect(soldOut).toHaveProperty("disabled", true);
    expect(onStale).toHaveBeenCalled();
  });

  test("409 ALREADY_PURCHASED links to the existing order", async () => {
    const sale = makeSale();
    mockFetch((path) =>
      path === "/api/orders"
        ? json({ orders: [] })
        : apiError(409, "ALREADY_PURCHASED", "Already bought", { orderId: "b".repeat(48) }),
    );
    render(<BuyPanel sale={sale} onStale={() => {}} />);
    fireEvent.click(screen.getByRole("button", { name: "Buy now" }));
    const link = await screen.findByRole("link", { name: "View your order" });
    expect(link.getAttribute("href")).toBe(`/orders/${"b".repeat(48)}`);
    expect(screen.getByText(/already bought this one/)).toBeTruthy();
  });

  test("423 PAUSED says Paused", async () => {
    mockFetch((path) => (path === "/api/orders" ? json({ orders: [] }) : apiError(423, "PAUSED", "Paused")));
    render(<BuyPanel sale={makeSale()} onStale={() => {}} />);
    fireEvent.click(screen.getByRole("button", { name: "Buy now" }));
    expect(await screen.findByRole("button", { name: "Paused" })).toHaveProperty("disabled", true);
  });

  test("503 UNAVAILABLE retries with a visible message", async () => {
    let attempts = 0;
    mockFetch((path) => {
      if (path === "/api/orders") return json({ orders: [] });
      attempts++;
      return apiError(503, "UNAVAILABLE", "Try again", undefined, { "Retry-After": "5" });
    });
    render(<BuyPanel sale={makeSale()} onStale={() => {}} />);
    fireEvent.click(screen.getByRole("button", { name: "Buy now" }));
    await screen.findByText(/briefly unavailable\. Retrying automatically in [5-8] s/);
    expect(attempts).toBe(1);
  });

  test("an order already held for this sale is shown instead of the button", async () => {
    const sale = makeSale();
    mockFetch((path) => {
      if (path === "/api/orders") return json({ orders: [makeOrder({ saleId: sale.id, status: "confirmed" })] });
      return json({ order: makeOrder({ saleId: sale.id, status: "confirmed" }) });
    });
    render(<BuyPanel sale={sale} onStale={() => {}} />);
    await screen.findByText("confirmed");
    expect(screen.queryByRole("button", { name: "Buy now" })).toBeNull();
  });

  test("signed out, Buy now's 401 goes to sign-in and comes back", async () => {
    currentUser.value = null;
    const calls = mockFetch(() => apiError(401, "UNAUTHENTICATED"));
    render(<BuyPanel sale={makeSale()} onStale={() => {}} />);
    fireEvent.click(screen.getByRole("button", { name: "Buy now" }));
    await waitFor(() => expect(currentPath.value).toBe("/signin"));
    expect(location.search).toBe(`?next=${encodeURIComponent("/sales/x")}`);
    // The server decides who is signed in (the cookie is invisible to the page): it was asked.
    expect(calls.filter((c) => c.path.endsWith("/purchase"))).toHaveLength(1);
  });
});

describe("sale page", () => {
  test("shows title, price, remaining and status from GET /api/sales/:id", async () => {
    const sale = makeSale({ remaining: 3, stock: 10 });
    mockFetch((path) => {
      if (path === `/api/sales/${sale.id}`) return json({ serverTime: new Date().toISOString(), sale });
      if (path === "/api/orders") return json({ orders: [] });
      return apiError(404, "NOT_FOUND");
    });
    render(<SalePage id={sale.id} />);
    await screen.findByRole("heading", { name: sale.title });
    expect(screen.getByText("$49.99")).toBeTruthy();
    expect(screen.getByText(/of\s+10\s+left/).textContent).toMatch(/3\s+of\s+10\s+left/);
    expect(screen.getByText("Live")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Buy now" })).toHaveProperty("disabled", false);
  });

  test("an unknown sale says so", async () => {
    mockFetch(() => apiError(404, "NOT_FOUND", "No such sale"));
    render(<SalePage id="nope" />);
    await screen.findByRole("heading", { name: "Sale not found" });
  });
});

describe("clock edge", () => {
  test("403 NOT_STARTED moments before the start tries again right after it", async () => {
    const sale = makeSale();
    const order = makeOrder({ saleId: sale.id, status: "confirmed" });
    let attempts = 0;
    mockFetch((path) => {
      if (path === "/api/orders") return json({ orders: [] });
      if (path.endsWith("/purchase")) {
        attempts++;
        return attempts === 1
          ? apiError(403, "NOT_STARTED", "Not started", { startsAt: new Date(Date.now() + 300).toISOString() })
          : json({ order }, 202);
      }
      if (path === `/api/sales/${sale.id}`) return json({ serverTime: new Date().toISOString(), sale });
      return json({ order });
    });
    render(<BuyPanel sale={sale} onStale={() => {}} />);
    fireEvent.click(screen.getByRole("button", { name: "Buy now" }));
    await screen.findByText(/Not quite open yet/);
    await screen.findByText("confirmed", undefined, { timeout: 3_000 });
    expect(attempts).toBe(2);
  });
});

describe("a sale with proof of work", () => {
  /** A real challenge (altcha-lib, as the gateway signs them) with a small counter, so the solve is quick. */
  async function smallChallenge() {
    const { createChallenge } = await import("altcha-lib");
    const { deriveKey } = await import("altcha-lib/algorithms/web/pbkdf2");
    return createChallenge({
      algorithm: "PBKDF2/SHA-256",
      cost: 100,
      counter: 20,
      deriveKey,
      hmacSignatureSecret: "test",
      hmacKeySignatureSecret: "test-key",
    });
  }

  test("solves a challenge before buying, shows that it is working, and solves again when told it was spent", async () => {
    const sale = makeSale({ challenge: true });
    const order = makeOrder({ saleId: sale.id, status: "confirmed" });
    let purchases = 0;
    let releaseChallenge: () => void = () => {};
    const challengeGate = new Promise<void>((resolve) => (releaseChallenge = resolve));
    const calls = mockFetch(async (path) => {
      if (path === "/api/orders") return json({ orders: [] });
      if (path === "/api/challenge") {
        await challengeGate;
        return json(await smallChallenge());
      }
      if (path === `/api/sales/${sale.id}/purchase`) {
        return ++purchases === 1
          ? apiError(403, "CHALLENGE_REQUIRED", "used already", { reason: "spent" })
          : json({ order }, 202);
      }
      if (path === `/api/orders/${order.id}`) return json({ order });
      return apiError(404, "NOT_FOUND");
    });
    render(<BuyPanel sale={sale} onStale={() => {}} />);
    fireEvent.click(screen.getByRole("button", { name: "Buy now" }));

    // While the device works: a named progress bar in a live region, the button busy and saying so, a way out.
    const progress = await screen.findByRole("progressbar", { name: "Quick check" });
    expect(progress.closest("[role=status]")).not.toBeNull();
    expect(screen.getByTestId("buy-button").getAttribute("aria-busy")).toBe("true");
    expect(screen.getByRole("button", { name: "Stop trying" })).toBeTruthy();
    releaseChallenge();

    await screen.findByText("confirmed", {}, { timeout: 5_000 });
    const posts = calls.filter((c) => c.path.endsWith("/purchase"));
    expect(posts).toHaveLength(2);
    const proofs = posts.map((c) => new Headers(c.init.headers).get("X-Altcha"));
    expect(proofs.every((p) => p && JSON.parse(atob(p)).solution.counter === 20)).toBe(true);
    // A fresh challenge for the second try, the same intent (Idempotency-Key).
    expect(proofs[0]).not.toBe(proofs[1]);
    expect(calls.filter((c) => c.path === "/api/challenge")).toHaveLength(2);
    const keys = posts.map((c) => new Headers(c.init.headers).get("Idempotency-Key"));
    expect(keys[0]).toBe(keys[1]);
  });

  test("a sale without it buys without a challenge", async () => {
    const sale = makeSale();
    const order = makeOrder({ saleId: sale.id, status: "confirmed" });
    const calls = mockFetch((path) => {
      if (path === "/api/orders") return json({ orders: [] });
      if (path === `/api/sales/${sale.id}/purchase`) return json({ order }, 202);
      if (path === `/api/orders/${order.id}`) return json({ order });
      return apiError(404, "NOT_FOUND");
    });
    render(<BuyPanel sale={sale} onStale={() => {}} />);
    fireEvent.click(screen.getByRole("button", { name: "Buy now" }));
    await screen.findByText("confirmed");
    expect(calls.some((c) => c.path === "/api/challenge")).toBe(false);
    expect(new Headers(calls.find((c) => c.path.endsWith("/purchase"))!.init.headers).has("X-Altcha")).toBe(false);
  });
});
