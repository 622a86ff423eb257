/** Sign-in/up and the merchant's create-sale form: labels, field-level errors (ours and the API's). */
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { CreateSaleForm } from "../../web/src/admin/CreateSaleForm.tsx";
import { SellThroughChart, ratesOf } from "../../web/src/admin/SellThroughChart.tsx";
import { setAdminToken } from "../../web/src/admin/admin-api.ts";
import { currentPath, navigate } from "../../web/src/lib/router.ts";
import { currentUser } from "../../web/src/lib/shop.ts";
import { AuthForm } from "../../web/src/pages/Auth.tsx";
import { Home } from "../../web/src/pages/Home.tsx";
import { apiError, json, makeSale, mockFetch } from "./helpers.ts";

beforeEach(() => {
  currentUser.value = null;
  history.replaceState(null, "", "/signup");
  localStorage.clear();
  sessionStorage.clear();
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function type(label: string | RegExp, value: string) {
  fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

describe("sign up / sign in", () => {
  test("labelled Username and Password; the shared schema's messages before anything is sent", async () => {
    const calls = mockFetch(() => json({}));
    render(<AuthForm mode="signup" />);
    type("Username", "a");
    type("Password", "short");
    fireEvent.click(screen.getByRole("button", { name: "Sign up" }));
    await screen.findByText("Username must be 3–32 characters");
    expect(screen.getByText("Password must be 8–128 characters")).toBeTruthy();
    const username = screen.getByLabelText("Username");
    expect(username.getAttribute("aria-invalid")).toBe("true");
    expect(username.getAttribute("aria-describedby")).toContain("username-error");
    expect(calls).toHaveLength(0);
  });

  test("the API's details[].path errors land under their field", async () => {
    mockFetch(() =>
      apiError(409, "USERNAME_TAKEN", "That username is taken", [
        { path: ["username"], message: "That username is taken" },
      ]),
    );
    render(<AuthForm mode="signup" />);
    type("Username", "alice");
    type("Password", "long enough");
    fireEvent.click(screen.getByRole("button", { name: "Sign up" }));
    const error = await screen.findByText("That username is taken");
    expect(error.id).toBe("username-error");
  });

  test("wrong password is a form-level alert; success signs in and follows ?next=", async () => {
    navigate("/signin?next=%2Fsales%2Fabc", { replace: true });
    let ok = false;
    mockFetch((_path, init) => {
      const body = JSON.parse(String(init.body));
      return ok
        ? json({ user: { id: "u1", username: body.username } })
        : apiError(401, "INVALID_CREDENTIALS", "Wrong username or password");
    });
    render(<AuthForm mode="signin" />);
    type("Username", "alice");
    type("Password", "wrong password");
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/Wrong username or password/);

    ok = true;
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(currentPath.value).toBe("/sales/abc"));
    expect(currentUser.value).toEqual({ id: "u1", username: "alice" });
    expect(localStorage.getItem("minishop.signedIn")).toBe("1");
  });
});

describe("merchant: create a sale", () => {
  test("validation messages per field, then the API's own", async () => {
    setAdminToken("t0ken");
    const posted: unknown[] = [];
    mockFetch((_path, init) => {
      posted.push(JSON.parse(String(init.body)));
      expect(new Headers(init.headers).get("Authorization")).toBe("Bearer t0ken");
      return apiError(400, "VALIDATION_FAILED", "The request is not valid", [
        { path: ["currency"], message: "ISO 4217 code, e.g. USD" },
      ]);
    });
    render(<CreateSaleForm onCreated={() => {}} />);
    fireEvent.click(screen.getByRole("button", { name: "Create sale" }));
    await screen.findByText("Give the sale a title");
    expect(screen.getByText("Enter a price like 19.99")).toBeTruthy();
    expect(posted).toHaveLength(0);

    type("Title", "Lamp");
    type("Price", "12.50");
    type("Currency", "usd");
    fireEvent.click(screen.getByRole("button", { name: "Create sale" }));
    await screen.findByText("ISO 4217 code, e.g. USD");
    expect(posted[0]).toMatchObject({ title: "Lamp", priceCents: 1250, currency: "USD", stock: 100 });
  });

  test("the sell-through chart is an SVG with a text alternative, and rates per second below it", () => {
    const t = Date.parse("2026-11-24T10:00:00Z");
    render(
      <SellThroughChart
        stock={100}
        points={[
          { t, sold: 0, attempts: 0, rejected: 0 },
          { t: t + 1_000, sold: 40, attempts: 50, rejected: 10 },
          { t: t + 3_000, sold: 100, attempts: 450, rejected: 350 },
        ]}
      />,
    );
    const [chart, rates] = screen.getAllByRole("img");
    expect(chart.getAttribute("aria-label")).toBe("Sold 100 of 100 (100%) over 3 s");
    const points = chart.querySelector("polyline")!.getAttribute("points")!.split(" ");
    expect(points).toHaveLength(3);
    // Full sell-through reaches the top of the plot area.
    expect(points[2]).toMatch(/,12\.0$/);
    // Rates are differences over the time apart: 50/s then 400/2 = 200/s attempts, 10/s then 170/s rejections.
    expect(
      ratesOf([
        { t, sold: 0, attempts: 0, rejected: 0 },
        { t: t + 1_000, sold: 40, attempts: 50, rejected: 10 },
        { t: t + 3_000, sold: 100, attempts: 450, rejected: 350 },
      ]),
    ).toEqual([
      { t: t + 1_000, attempts: 50, rejected: 10 },
      { t: t + 3_000, attempts: 200, rejected: 170 },
    ]);
    expect(rates.getAttribute("aria-label")).toContain("Peak 200 attempts per second, 170 rejections per second");
  });
});

describe("storefront", () => {
  test("lists sales by title, grouped live / coming up / over, with a countdown for scheduled ones", async () => {
    const now = Date.now();
    const live = makeSale({ id: "11111111-1111-4111-8111-111111111111", title: "Live one" });
    const soon = makeSale({
      id: "22222222-2222-4222-8222-222222222222",
      title: "Soon one",
      status: "scheduled",
      startsAt: new Date(now + 125_000).toISOString(),
    });
    const gone = makeSale({
      id: "33333333-3333-4333-8333-333333333333",
      title: "Gone",
      status: "sold_out",
      remaining: 0,
    });
    mockFetch(() => json({ serverTime: new Date(now).toISOString(), sales: [gone, soon, live] }));
    render(<Home />);
    await screen.findByRole("link", { name: "Live one" });
    // Three groups, so a sold-out sale is never listed among the live ones.
    const groups = screen.getAllByRole("heading", { level: 2 }).map((h) => h.textContent);
    expect(groups).toEqual(["Live now", "Coming up", "Sold out and ended"]);
    const inGroup = (group: string) =>
      [...document.querySelectorAll(`[data-sale-group="${group}"] h3`)].map((h) => h.textContent);
    expect(inGroup("live")).toEqual(["Live one"]);
    expect(inGroup("upcoming")).toEqual(["Soon one"]);
    expect(inGroup("over")).toEqual(["Gone"]);
    const soonCard = screen.getByRole("link", { name: "Soon one" }).closest("li")!;
    expect(soonCard.querySelector("[data-countdown]")!.textContent).toMatch(/^2:0[45]$/);
    expect(screen.getByText("Sold out")).toBeTruthy();
  });
});

describe("merchant: token", () => {
  test("a wrong token is refused with a message and not kept; a right one opens the dashboard", async () => {
    const { AdminPage } = await import("../../web/src/admin/AdminPage.tsx");
    setAdminToken(null);
    mockFetch((path, init) => {
      const auth = new Headers(init.headers).get("Authorization");
      if (auth !== "Bearer right") return apiError(401, "UNAUTHENTICATED", "A valid admin token is required");
      if (path === "/admin/api/sales") return json({ sales: [] });
      if (path === "/admin/api/failed-orders") return json({ failedOrders: [] });
      return apiError(404, "NOT_FOUND");
    });
    render(<AdminPage />);
    type("Admin token", "wrong");
    fireEvent.click(screen.getByRole("button", { name: "Open dashboard" }));
    await screen.findByText("That token was not accepted");
    expect(sessionStorage.getItem("minishop.adminToken")).toBeNull();

    type("Admin token", "right");
    fireEvent.click(screen.getByRole("button", { name: "Open dashboard" }));
    await screen.findByRole("heading", { name: "Merchant dashboard" });
    await screen.findByText(/No sales yet/);
    expect(sessionStorage.getItem("minishop.adminToken")).toBe("right");
  });
});

describe("sign-up when the shop asks for proof of work (production)", () => {
  test("solves a challenge with a visible progress state, then signs up with it", async () => {
    const { createChallenge } = await import("altcha-lib");
    const { deriveKey } = await import("altcha-lib/algorithms/web/pbkdf2");
    const challenge = await createChallenge({
      algorithm: "PBKDF2/SHA-256",
      cost: 100,
      counter: 10,
      deriveKey,
      hmacSignatureSecret: "test",
      hmacKeySignatureSecret: "test-key",
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls = mockFetch(async (path, init) => {
      if (path === "/api/challenge") {
        await gate;
        return json(challenge);
      }
      if (!new Headers(init.headers).has("X-Altcha"))
        return apiError(403, "CHALLENGE_REQUIRED", "Solve a challenge", { reason: "missing" });
      return json({ user: { id: "u9", username: "newbie" } }, 201);
    });
    render(<AuthForm mode="signup" />);
    type("Username", "newbie");
    type("Password", "long enough");
    fireEvent.click(screen.getByRole("button", { name: "Sign up" }));
    const progress = await screen.findByRole("progressbar", { name: "Quick check" });
    expect(progress.closest("[role=status]")?.textContent).toMatch(/quick check on your device/);
    expect(screen.getByRole("button", { name: "Quick check" }).getAttribute("aria-busy")).toBe("true");
    release();
    await waitFor(() => expect(currentUser.value?.username).toBe("newbie"));
    const registers = calls.filter((c) => c.path === "/api/auth/register");
    expect(registers).toHaveLength(2);
    const proof = new Headers(registers[1].init.headers).get("X-Altcha")!;
    expect(JSON.parse(atob(proof)).solution.counter).toBe(10);
  });
});
