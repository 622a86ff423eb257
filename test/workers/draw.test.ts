/**
 * Draw sales and pre-registration through the gateway, as shoppers and merchants reach them (docs/api.md "Draw"
 * and "Registration"): the commitment published from creation, entries only between the start and the draw, the
 * draw reproducible from the revealed seed, winners = stock with reserved orders through the usual pipeline
 * (reconcile sees them), a cancelled winner's unit reaching the first waitlisted entry, and registration closing
 * at the start.
 */
import { describe, expect, it } from "vitest";
import { rankKey, sha256hex, type Entry } from "../../lib/contract/draw.ts";
import type { Order, Sale } from "../../lib/contract/schemas.ts";
import { ADMIN, call, database, json, purchase, shopper, waitFor } from "./helpers.ts";

type ErrorBody = { error: { code: string } };
type Drawn = {
  commitment: string;
  seed: string;
  algorithm: string;
  entries: string[];
  winners: string[];
  waitlist: string[];
};

async function createHotSale(
  options: Record<string, unknown>,
): Promise<{ status: number; sale?: Sale; body: unknown }> {
  const res = await call("/admin/api/sales", {
    method: "POST",
    headers: ADMIN,
    body: json({ title: `Hot ${crypto.randomUUID().slice(0, 8)}`, priceCents: 10_000, stock: 2, ...options }),
  });
  const body = (await res.json()) as { sale?: Sale };
  return { status: res.status, sale: body.sale, body };
}

const iso = (ms: number) => new Date(ms).toISOString();

async function enter(saleId: string, cookie: string) {
  const res = await call(`/api/sales/${saleId}/entries`, { method: "POST", cookie });
  return { status: res.status, body: (await res.json()) as { entry?: Entry; error?: { code: string } } };
}

async function myEntry(saleId: string, cookie: string) {
  const res = await call(`/api/sales/${saleId}/entries/me`, { cookie });
  return { status: res.status, body: (await res.json()) as { entry?: Entry; error?: { code: string } } };
}

/** The ranking anyone can compute from the revealed seed (docs/api.md "Draw"). */
async function recompute(seed: string, entries: string[]): Promise<string[]> {
  const keyed = await Promise.all(entries.map(async (u) => ({ u, k: await rankKey(seed, u) })));
  return keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.u);
}

describe("draw sales", () => {
  it("validates the draw options", async () => {
    const now = Date.now();
    const base = { startsAt: iso(now + 60_000), endsAt: iso(now + 3_600_000) };
    // A draw needs drawAt, strictly between the start and the end; registration is for first-come sales.
    expect((await createHotSale({ ...base, mode: "draw" })).status).toBe(400);
    expect((await createHotSale({ ...base, mode: "draw", drawAt: iso(now + 30_000) })).status).toBe(400);
    expect((await createHotSale({ ...base, mode: "draw", drawAt: iso(now + 7_200_000) })).status).toBe(400);
    expect(
      (await createHotSale({ ...base, mode: "draw", drawAt: iso(now + 120_000), registrationRequired: true })).status,
    ).toBe(400);
    expect((await createHotSale({ ...base, drawAt: iso(now + 120_000) })).status).toBe(400);
    expect((await createHotSale({ ...base, mode: "lottery" })).status).toBe(400);
    // A plain sale echoes the defaults.
    const plain = await createHotSale(base);
    expect(plain.sale).toMatchObject({ mode: "first_come", registrationRequired: false });
    expect(plain.sale!.drawCommitment).toBeUndefined();
    // A first-come sale has no draw and takes no entries.
    expect((await call(`/api/sales/${plain.sale!.id}/draw`)).status).toBe(404);
    const s = await shopper("plain");
    expect((await enter(plain.sale!.id, s.cookie)).status).toBe(404);
  });

  it("refuses entries before the start, and keeps the seed secret until the draw", async () => {
    const now = Date.now();
    const { sale } = await createHotSale({
      mode: "draw",
      startsAt: iso(now + 60_000),
      drawAt: iso(now + 120_000),
      endsAt: iso(now + 3_600_000),
    });
    expect(sale!.drawCommitment).toMatch(/^[0-9a-f]{64}$/);
    const s = await shopper("early");
    const early = await enter(sale!.id, s.cookie);
    expect(early.status).toBe(403);
    expect(early.body.error!.code).toBe("NOT_STARTED");
    // Before the draw the public answer is the commitment alone.
    const before = (await (await call(`/api/sales/${sale!.id}/draw`)).json()) as Record<string, unknown>;
    expect(before).toEqual({ commitment: sale!.drawCommitment });
    // The merchant can move the draw before the start; the commitment stays.
    const patched = await call(`/admin/api/sales/${sale!.id}`, {
      method: "PATCH",
      headers: ADMIN,
      body: json({ drawAt: iso(now + 150_000) }),
    });
    expect(patched.status).toBe(200);
    const moved = ((await patched.json()) as { sale: Sale }).sale;
    expect(moved.drawAt).toBe(iso(now + 150_000));
    expect(moved.drawCommitment).toBe(sale!.drawCommitment);
    const bad = await call(`/admin/api/sales/${sale!.id}`, {
      method: "PATCH",
      headers: ADMIN,
      body: json({ drawAt: iso(now + 9_000_000) }),
    });
    expect(bad.status).toBe(400);
  });

  it("draws reproducibly from the revealed seed; winners = stock get reserved orders; a cancelled unit goes to the waitlist", async () => {
    const now = Date.now();
    const drawAt = now + 5_000;
    const { sale } = await createHotSale({
      mode: "draw",
      stock: 2,
      startsAt: iso(now - 1_000),
      drawAt: iso(drawAt),
      endsAt: iso(now + 3_600_000),
    });
    const saleId = sale!.id;
    const shoppers = await Promise.all(Array.from({ length: 5 }, (_, i) => shopper(`draw${i}`)));

    // Entering: 201, again 200 with the same entry; a purchase is not how a draw sale is bought.
    for (const s of shoppers) {
      const first = await enter(saleId, s.cookie);
      expect(first.status).toBe(201);
      expect(first.body.entry).toEqual({ saleId, userId: s.userId, state: "entered" });
    }
    const again = await enter(saleId, shoppers[0].cookie);
    expect(again.status).toBe(200);
    expect(again.body.entry).toEqual({ saleId, userId: shoppers[0].userId, state: "entered" });
    expect((await myEntry(saleId, shoppers[1].cookie)).body.entry!.state).toBe("entered");
    const outsider = await shopper("outsider");
    expect((await myEntry(saleId, outsider.cookie)).status).toBe(404);
    // The shopper's standing in one answer, null for none.
    const mine = await call(`/api/sales/${saleId}/me`, { cookie: outsider.cookie });
    expect(await mine.json()).toEqual({ entry: null, registration: null });
    const theirs = await call(`/api/sales/${saleId}/me`, { cookie: shoppers[0].cookie });
    expect(((await theirs.json()) as { entry: Entry }).entry).toEqual({
      saleId,
      userId: shoppers[0].userId,
      state: "entered",
    });
    const bought = await purchase(saleId, shoppers[0].cookie);
    expect(bought.status).toBe(403);
    expect(bought.body.error!.code).toBe("NOT_ADMITTED");

    // The draw runs from the object's alarm at drawAt; answers reflect it within 5 s.
    const drawn = await waitFor(
      "the draw",
      async () => {
        const d = (await (await call(`/api/sales/${saleId}/draw`)).json()) as Drawn;
        return d.seed ? d : null;
      },
      drawAt - Date.now() + 5_000,
    );
    expect(Date.now() - drawAt).toBeLessThan(5_000);

    // No entry after drawAt.
    const late = await enter(saleId, outsider.cookie);
    expect(late.status).toBe(409);
    expect(late.body.error!.code).toBe("ENTRIES_CLOSED");

    // The commitment matches the seed, and the ranking is reproducible from it.
    expect(drawn.commitment).toBe(sale!.drawCommitment);
    expect(await sha256hex(drawn.seed)).toBe(drawn.commitment);
    expect(drawn.algorithm).toBe("sha256-rank-v1");
    expect([...drawn.entries].sort()).toEqual(shoppers.map((s) => s.userId).sort());
    const ranking = await recompute(drawn.seed, drawn.entries);
    expect(drawn.winners).toEqual(ranking.slice(0, 2));
    expect(drawn.waitlist).toEqual(ranking.slice(2));

    // Winners = stock: each has a reserved order with the sale's payment window; the rest are waitlisted in order.
    const byId = new Map(shoppers.map((s) => [s.userId, s]));
    const orders: Order[] = [];
    for (const userId of drawn.winners) {
      const { body } = await myEntry(saleId, byId.get(userId)!.cookie);
      expect(body.entry).toMatchObject({ state: "won" });
      const res = await call(`/api/orders/${body.entry!.orderId}`, { cookie: byId.get(userId)!.cookie });
      const order = ((await res.json()) as { order: Order }).order;
      expect(["reserved", "confirmed"]).toContain(order.status);
      expect(Date.parse(order.expiresAt) - Date.parse(order.createdAt)).toBe(900_000);
      orders.push(order);
    }
    for (const [i, userId] of drawn.waitlist.entries()) {
      const { body } = await myEntry(saleId, byId.get(userId)!.cookie);
      expect(body.entry).toEqual({ saleId, userId, state: "waitlisted", waitlistPosition: i + 1 });
    }

    // The orders took the usual path: PostgreSQL has them, and reconcile counts them.
    const pg = database();
    await waitFor(
      "draw orders in PostgreSQL",
      async () => (await pg`select id from orders where sale_id = ${saleId}`).length === 2,
    );
    const reconcile = (await (
      await call(`/admin/api/sales/${saleId}/reconcile`, { method: "POST", headers: ADMIN })
    ).json()) as {
      ledgerSold: number;
      missing: number;
    };
    expect(reconcile).toMatchObject({ ledgerSold: 2, missing: 0 });

    // A winner cancels: the unit goes to the first waitlisted entry (and only to it), who is told by their entry.
    const loser = byId.get(drawn.winners[0])!;
    expect((await call(`/api/orders/${orders[0].id}/cancel`, { method: "POST", cookie: loser.cookie })).status).toBe(
      200,
    );
    const next = byId.get(drawn.waitlist[0])!;
    const promoted = await waitFor("the promotion", async () => {
      const { body } = await myEntry(saleId, next.cookie);
      return body.entry!.state === "won" ? body.entry : null;
    });
    expect(promoted.orderId).toMatch(/^[0-9a-f]{48}$/);
    const { body: secondInLine } = await myEntry(saleId, byId.get(drawn.waitlist[1])!.cookie);
    expect(secondInLine.entry).toMatchObject({ state: "waitlisted", waitlistPosition: 1 });
    // The cancelled winner stays "won" (their order says cancelled).
    expect((await myEntry(saleId, loser.cookie)).body.entry).toMatchObject({ state: "won", orderId: orders[0].id });

    // Merchants see the draw, its ranking and the waitlist movement.
    const stats = (
      (await (await call(`/admin/api/sales/${saleId}/draw`, { headers: ADMIN })).json()) as {
        draw: {
          phase: string;
          entries: number;
          winners: number;
          awarded: number;
          promoted: number;
          promotions: { userId: string }[];
        };
      }
    ).draw;
    expect(stats).toMatchObject({ phase: "drawn", entries: 5, winners: 2, awarded: 3, promoted: 1 });
    expect(stats.promotions.map((p) => p.userId)).toEqual([next.userId]);
    const page = (await (
      await call(`/admin/api/sales/${saleId}/draw/ranking?limit=10`, { headers: ADMIN })
    ).json()) as {
      ranking: { rank: number; userId: string; state: string }[];
    };
    expect(page.ranking.map((r) => r.userId)).toEqual(ranking);
    expect(page.ranking.map((r) => r.state)).toEqual(["won", "won", "won", "waitlisted", "waitlisted"]);
  });
});

describe("pre-registration", () => {
  it("registers before the start only, and lets only registered shoppers buy", async () => {
    const now = Date.now();
    const startsAt = now + 4_000;
    const { sale } = await createHotSale({
      registrationRequired: true,
      stock: 5,
      startsAt: iso(startsAt),
      endsAt: iso(now + 3_600_000),
    });
    expect(sale).toMatchObject({ mode: "first_come", registrationRequired: true });
    const saleId = sale!.id;
    const [registered, stranger] = await Promise.all([shopper("reg"), shopper("noreg")]);

    // Before the start: 201, then 200 with the same registration; "me" shows it; the merchant sees the count.
    const first = await call(`/api/sales/${saleId}/registrations`, { method: "POST", cookie: registered.cookie });
    expect(first.status).toBe(201);
    const { registration } = (await first.json()) as {
      registration: { saleId: string; userId: string; createdAt: string };
    };
    expect(registration).toMatchObject({ saleId, userId: registered.userId });
    const second = await call(`/api/sales/${saleId}/registrations`, { method: "POST", cookie: registered.cookie });
    expect(second.status).toBe(200);
    expect(((await second.json()) as { registration: unknown }).registration).toEqual(registration);
    expect((await call(`/api/sales/${saleId}/registrations/me`, { cookie: registered.cookie })).status).toBe(200);
    expect((await call(`/api/sales/${saleId}/registrations/me`, { cookie: stranger.cookie })).status).toBe(404);
    const stats = (await (await call(`/admin/api/sales/${saleId}`, { headers: ADMIN })).json()) as {
      sale: { stats: { registrations: number } };
    };
    expect(stats.sale.stats.registrations).toBe(1);
    // Buying before the start is NOT_STARTED, registered or not.
    expect((await purchase(saleId, registered.cookie)).body.error!.code).toBe("NOT_STARTED");

    // From the start: registration is closed, the stranger may not buy, the registered shopper may.
    await new Promise((r) => setTimeout(r, Math.max(0, startsAt - Date.now() + 50)));
    const closed = await call(`/api/sales/${saleId}/registrations`, { method: "POST", cookie: stranger.cookie });
    expect(closed.status).toBe(409);
    expect(((await closed.json()) as ErrorBody).error.code).toBe("REGISTRATION_CLOSED");
    const refused = await purchase(saleId, stranger.cookie);
    expect(refused.status).toBe(403);
    expect(refused.body.error!.code).toBe("NOT_REGISTERED");
    const bought = await purchase(saleId, registered.cookie);
    expect(bought.status).toBe(202);
    expect(bought.body.order!.status).toBe("reserved");
  });

  it("answers REGISTRATION_NOT_REQUIRED for sales that do not need it", async () => {
    const now = Date.now();
    const { sale } = await createHotSale({ startsAt: iso(now + 60_000), endsAt: iso(now + 3_600_000) });
    const s = await shopper("noneed");
    const res = await call(`/api/sales/${sale!.id}/registrations`, { method: "POST", cookie: s.cookie });
    expect(res.status).toBe(409);
    expect(((await res.json()) as ErrorBody).error.code).toBe("REGISTRATION_NOT_REQUIRED");
    // A body is refused; an unknown sale is a 404; no session is a 401.
    expect(
      (await call(`/api/sales/${sale!.id}/registrations`, { method: "POST", cookie: s.cookie, body: json({ x: 1 }) }))
        .status,
    ).toBe(400);
    expect(
      (await call(`/api/sales/${crypto.randomUUID()}/registrations`, { method: "POST", cookie: s.cookie })).status,
    ).toBe(404);
    expect((await call(`/api/sales/${sale!.id}/registrations`, { method: "POST" })).status).toBe(401);
  });
});
