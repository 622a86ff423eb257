/**
 * A smoke run of every flow against a running stack (`npm start`, either runtime):
 * node bench/smoke.ts [http://127.0.0.1:8787] — register, sign in, me, list/get a sale, purchase (202, 409,
 * idempotent replay), order reserved → confirmed (PostgreSQL via the queue), pay, cancel returns stock, sold out
 * (410), admin stats/orders/CSV/reconcile/pause/resume/metrics, readyz, web app and manifest. Exits 1 on the
 * first failure. Used to prove the lean runtime serves what `wrangler dev` serves (docs/runtime.md).
 */
export {};

const base = process.argv[2] ?? "http://127.0.0.1:8787";
const ADMIN = { authorization: `Bearer ${process.env.ADMIN_TOKEN ?? "dev-admin-token"}` };
let failures = 0;

function check(name: string, ok: boolean, detail?: unknown) {
  process.stdout.write(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ` — ${JSON.stringify(detail)}`}\n`);
  if (!ok) failures++;
}

async function call(path: string, init: RequestInit & { cookie?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("cookie", init.cookie);
  if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
  const res = await fetch(base + path, { ...init, headers, redirect: "manual" });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, headers: res.headers };
}

async function register(name: string) {
  const res = await call("/api/auth/register", {
    method: "POST",
    body: JSON.stringify({ username: name, password: "correct horse battery" }),
  });
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0];
  return { res, cookie, id: res.body?.user?.id as string };
}

async function waitFor<T>(what: string, f: () => Promise<T | false>, ms = 15_000): Promise<T | false> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  check(`${what} within ${ms} ms`, false);
  return false;
}

const suffix = Math.random().toString(36).slice(2, 8);
check("GET /healthz", (await call("/healthz")).status === 200);
const ready = await call("/readyz");
check("GET /readyz", ready.status === 200, ready.body);
const home = await call("/");
check("GET / serves the web app", home.status === 200 && String(home.body).includes("<html"), home.status);
const manifest = await call("/manifest.webmanifest");
check("GET /manifest.webmanifest", manifest.status === 200 && typeof manifest.body === "object", manifest.status);
check("unknown API route is 404 NOT_FOUND", (await call("/api/nope")).body?.error?.code === "NOT_FOUND");

const alice = await register(`alice_${suffix}`);
check(
  "register → 201 + cookie",
  alice.res.status === 201 && alice.cookie.startsWith("minishop_session="),
  alice.res.body,
);
const login = await call("/api/auth/login", {
  method: "POST",
  body: JSON.stringify({ username: `alice_${suffix}`, password: "correct horse battery" }),
});
check("login → 200", login.status === 200, login.body);
check("GET /api/me", (await call("/api/me", { cookie: alice.cookie })).body?.user?.id === alice.id);
const bob = await register(`bob_${suffix}`);
const carol = await register(`carol_${suffix}`);

const now = Date.now();
const created = await call("/admin/api/sales", {
  method: "POST",
  headers: ADMIN,
  body: JSON.stringify({
    title: `smoke ${suffix}`,
    priceCents: 500,
    stock: 2,
    startsAt: new Date(now - 1000).toISOString(),
    endsAt: new Date(now + 3600e3).toISOString(),
  }),
});
check("admin creates a sale → 201", created.status === 201, created.body);
const saleId = created.body.sale.id as string;
check("admin without token → 401", (await call("/admin/api/sales")).status === 401);
const list = await waitFor("the sale listed", async () => {
  const r = await call("/api/sales");
  return r.body.sales?.some((s: { id: string }) => s.id === saleId) && r;
});
check("GET /api/sales lists it", !!list);
check("GET /api/sales/:id", (await call(`/api/sales/${saleId}`)).body?.sale?.id === saleId);

const p1 = await call(`/api/sales/${saleId}/purchase`, {
  method: "POST",
  cookie: alice.cookie,
  headers: { "idempotency-key": "k1" },
  body: "{}",
});
check("purchase → 202 reserved", p1.status === 202 && p1.body.order?.status === "reserved", p1.body);
const replay = await call(`/api/sales/${saleId}/purchase`, {
  method: "POST",
  cookie: alice.cookie,
  headers: { "idempotency-key": "k1" },
  body: "{}",
});
check(
  "same Idempotency-Key → same 202 order",
  replay.status === 202 && replay.body.order?.id === p1.body.order?.id,
  replay.body,
);
const again = await call(`/api/sales/${saleId}/purchase`, { method: "POST", cookie: alice.cookie, body: "{}" });
check(
  "second purchase → 409 ALREADY_PURCHASED",
  again.status === 409 && again.body.error?.code === "ALREADY_PURCHASED",
  again.body,
);
check(
  "purchase without session → 401",
  (await call(`/api/sales/${saleId}/purchase`, { method: "POST", body: "{}" })).status === 401,
);
const orderId = p1.body.order.id as string;
const confirmed = await waitFor("order confirmed (queue → PostgreSQL)", async () => {
  const r = await call(`/api/orders/${orderId}`, { cookie: alice.cookie });
  return r.body.order?.status === "confirmed" && r;
});
check("order becomes confirmed", !!confirmed);
check(
  "GET /api/orders lists it",
  (await call("/api/orders", { cookie: alice.cookie })).body.orders?.some((o: { id: string }) => o.id === orderId),
);
check("another shopper's order is 404", (await call(`/api/orders/${orderId}`, { cookie: bob.cookie })).status === 404);
const pay = await call(`/api/orders/${orderId}/pay`, { method: "POST", cookie: alice.cookie });
check("pay → paid", pay.status === 200 && pay.body.order?.status === "paid", pay.body);

const p2 = await call(`/api/sales/${saleId}/purchase`, { method: "POST", cookie: bob.cookie, body: "{}" });
check("bob buys the last item → 202", p2.status === 202, p2.body);
const p3 = await call(`/api/sales/${saleId}/purchase`, { method: "POST", cookie: carol.cookie, body: "{}" });
check("carol → 410 SOLD_OUT", p3.status === 410 && p3.body.error?.code === "SOLD_OUT", p3.body);
const cancel = await call(`/api/orders/${p2.body.order.id}/cancel`, { method: "POST", cookie: bob.cookie });
check("bob cancels → cancelled", cancel.status === 200 && cancel.body.order?.status === "cancelled", cancel.body);
const back = await waitFor(
  "returned stock purchasable",
  async () => {
    const r = await call(`/api/sales/${saleId}/purchase`, { method: "POST", cookie: carol.cookie, body: "{}" });
    return r.status === 202 && r;
  },
  5_000,
);
check("carol buys the returned item", !!back);

const stats = await call(`/admin/api/sales/${saleId}`, { headers: ADMIN });
check("admin stats", stats.status === 200 && typeof stats.body.sale?.stats?.attempts === "number", stats.body);
const orders = await waitFor("3 orders in PostgreSQL", async () => {
  const r = await call(`/admin/api/sales/${saleId}/orders`, { headers: ADMIN });
  return r.body.orders?.length === 3 && r;
});
check("admin orders from PostgreSQL", !!orders);
const csv = await call(`/admin/api/sales/${saleId}/orders?format=csv`, { headers: ADMIN });
check("orders CSV", csv.status === 200 && String(csv.body).includes(orderId), csv.status);
const rec = await call(`/admin/api/sales/${saleId}/reconcile`, { method: "POST", headers: ADMIN });
check("reconcile: nothing missing", rec.status === 200 && rec.body.missing === 0, rec.body);
check(
  "pause → 423 for shoppers",
  (await call(`/admin/api/sales/${saleId}/pause`, { method: "POST", headers: ADMIN })).status === 200,
);
const resumed = await call(`/admin/api/sales/${saleId}/resume`, { method: "POST", headers: ADMIN });
check("resume", resumed.status === 200, resumed.body);
const metrics = await call("/metrics", { headers: ADMIN });
check("GET /metrics (Prometheus text)", metrics.status === 200 && String(metrics.body).includes("# "), metrics.status);
check("GET /admin/api/failed-orders", (await call("/admin/api/failed-orders", { headers: ADMIN })).status === 200);
check(
  "16 KiB+ body → 413",
  (
    await call("/api/auth/login", {
      method: "POST",
      body: JSON.stringify({ username: "x".repeat(17_000), password: "y" }),
    })
  ).status === 413,
);

process.stdout.write(failures ? `${failures} check(s) failed\n` : "all checks passed\n");
process.exit(failures ? 1 : 0);
