/**
 * Queue sales through the gateway, as shoppers and merchants reach them (docs/api.md "Queue"): one ticket per
 * shopper, no place before the start, a random order for the early tickets at the start and arrival order after
 * it, admission never beyond the stock left, NOT_ADMITTED without an admitted ticket, a purchase marking the
 * ticket, everyone waiting told `sold_out` at sell-out and returned stock going to the first of them, expired
 * admissions giving their place back — and sales without a queue untouched (no queue object, no extra call).
 */
import { env } from "cloudflare:workers";
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SaleQueue } from "../../durable-objects/sale-queue.ts";
import type { QueueStats, QueueUpdate, Ticket } from "../../lib/contract/queue.ts";
import type { Order, Sale } from "../../lib/contract/schemas.ts";
import { ADMIN, call, createSale, json, purchase, shopper, waitFor } from "./helpers.ts";

type Shopper = Awaited<ReturnType<typeof shopper>>;

async function createQueueSale(options: { stock: number; startsInMs: number; durationMs?: number }): Promise<Sale> {
  const start = Date.now() + options.startsInMs;
  const res = await call("/admin/api/sales", {
    method: "POST",
    headers: ADMIN,
    body: json({
      title: `Queued ${crypto.randomUUID().slice(0, 8)}`,
      priceCents: 10_000,
      stock: options.stock,
      queue: true,
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(start + (options.durationMs ?? 3_600_000)).toISOString(),
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { sale: Sale }).sale;
}

async function join(saleId: string, who: Shopper) {
  const res = await call(`/api/sales/${saleId}/queue`, { method: "POST", cookie: who.cookie });
  return { status: res.status, body: (await res.json()) as { ticket?: Ticket; error?: { code: string } } };
}

async function ticketOf(saleId: string, who: Shopper): Promise<Ticket> {
  const res = await call(`/api/sales/${saleId}/queue`, { cookie: who.cookie });
  expect(res.status).toBe(200);
  return ((await res.json()) as { ticket: Ticket }).ticket;
}

async function queueStats(saleId: string): Promise<QueueStats> {
  const res = await call(`/admin/api/sales/${saleId}`, { headers: ADMIN });
  return ((await res.json()) as { sale: { stats: { queue: QueueStats } } }).sale.stats.queue;
}

function queueStub(saleId: string) {
  return env.SALE_QUEUE.get(env.SALE_QUEUE.idFromName(saleId));
}

describe("queue sales", () => {
  it("shuffles the early tickets at the start, queues later ones in arrival order, and admits no more than the stock", async () => {
    const sale = await createQueueSale({ stock: 2, startsInMs: 2_500 });
    expect(sale.queue).toBe(true);
    const early = await Promise.all(Array.from({ length: 6 }, () => shopper("early")));
    for (const s of early) {
      const first = await join(sale.id, s);
      expect(first.status).toBe(200);
      expect(first.body.ticket).toMatchObject({ saleId: sale.id, state: "waiting", position: null, queueNumber: null });
      expect(first.body.ticket!.refreshAfterSeconds).toBeGreaterThanOrEqual(0.5);
      expect(first.body.ticket!.refreshAfterSeconds).toBeLessThanOrEqual(30);
      // Joining again is the same ticket.
      expect((await join(sale.id, s)).body.ticket).toMatchObject({ state: "waiting", position: null });
    }
    const outsider = await shopper("outsider");
    expect((await call(`/api/sales/${sale.id}/queue`, { cookie: outsider.cookie })).status).toBe(404);
    // Before the start a purchase is NOT_STARTED, as for any sale.
    expect((await purchase(sale.id, early[0].cookie)).body.error?.code).toBe("NOT_STARTED");

    await waitFor("the start's shuffle", async () => (await ticketOf(sale.id, early[0])).queueNumber !== null);
    const late = await shopper("late");
    expect((await join(sale.id, late)).body.ticket!.queueNumber).toBe(7);

    // The early tickets hold places 1..6, each once; the late one is behind all of them.
    await waitFor("two admissions", async () => (await queueStats(sale.id)).admitted === 2);
    const tickets = await Promise.all(early.map((s) => ticketOf(sale.id, s)));
    expect(tickets.map((t) => t.queueNumber).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    for (const t of tickets) {
      if (t.queueNumber! <= 2) {
        expect(t.state).toBe("admitted");
        expect(Date.parse(t.admittedUntil!) - Date.now()).toBeGreaterThan(25_000);
      } else {
        expect(t).toMatchObject({ state: "waiting", position: t.queueNumber! - 2 });
        expect(t.estimatedWaitSeconds).toBeGreaterThan(0);
      }
    }
    const stats = await queueStats(sale.id);
    expect(stats).toMatchObject({ waiting: 5, admitted: 2, purchased: 0, joined: 7 });

    // Without an admitted ticket: 403 NOT_ADMITTED (also for a shopper with no ticket at all).
    const byNumber = (n: number) => early[tickets.findIndex((t) => t.queueNumber === n)];
    expect((await purchase(sale.id, byNumber(3).cookie)).status).toBe(403);
    expect((await purchase(sale.id, byNumber(3).cookie)).body.error?.code).toBe("NOT_ADMITTED");
    expect((await purchase(sale.id, outsider.cookie)).body.error?.code).toBe("NOT_ADMITTED");

    // The admitted ones buy; their tickets become `purchased`.
    const bought: Order[] = [];
    for (const n of [1, 2]) {
      const p = await purchase(sale.id, byNumber(n).cookie);
      expect(p.status).toBe(202);
      bought.push(p.body.order!);
      if (n === 1) {
        // A used ticket still reaches the sale's object: a second purchase is ALREADY_PURCHASED, not NOT_ADMITTED.
        await waitFor("ticket used", async () => (await ticketOf(sale.id, byNumber(1))).state === "purchased");
        expect((await purchase(sale.id, byNumber(1).cookie)).body.error?.code).toBe("ALREADY_PURCHASED");
      }
    }
    await waitFor("tickets used", async () => (await ticketOf(sale.id, byNumber(2))).state === "purchased");

    // Sold out: nobody is left waiting.
    await waitFor("sold out", async () => (await ticketOf(sale.id, byNumber(6))).state === "sold_out");
    for (const s of [...early.filter((_, i) => tickets[i].queueNumber! > 2), late]) {
      const t = await ticketOf(sale.id, s);
      expect(t).toMatchObject({ state: "sold_out", position: 0 });
      expect(t.queueNumber).toBeGreaterThan(2);
    }
    expect(await queueStats(sale.id)).toMatchObject({ waiting: 5, admitted: 0, purchased: 2 });

    // A unit comes back (a cancel): the first sold-out ticket in queue order gets it; the rest wait again.
    const cancel = await call(`/api/orders/${bought[0].id}/cancel`, { method: "POST", cookie: byNumber(1).cookie });
    expect(cancel.status).toBe(200);
    await waitFor("#3 admitted", async () => (await ticketOf(sale.id, byNumber(3))).state === "admitted");
    expect(await ticketOf(sale.id, byNumber(4))).toMatchObject({ state: "waiting", position: 1 });
    expect((await purchase(sale.id, byNumber(3).cookie)).status).toBe(202);
  });

  it("expires unused admissions and passes their place on", async () => {
    const sale = await createQueueSale({ stock: 1, startsInMs: 1_500 });
    const [a, b] = await Promise.all([shopper("slow"), shopper("next")]);
    await join(sale.id, a);
    await join(sale.id, b);
    await waitFor("an admission", async () => (await queueStats(sale.id)).admitted === 1);
    const [ta, tb] = [await ticketOf(sale.id, a), await ticketOf(sale.id, b)];
    const [first, second] = ta.state === "admitted" ? [a, b] : [b, a];
    expect((ta.state === "admitted" ? tb : ta).state).toBe("waiting");

    // The admitted shopper lets the window pass (the queue's clock moves past admittedUntil).
    await runInDurableObject(queueStub(sale.id), async (q: SaleQueue) => {
      const skew = 61_000;
      q.clock = () => Date.now() + skew;
      await q.alarm();
    });
    expect((await ticketOf(sale.id, first)).state).toBe("expired");
    expect((await purchase(sale.id, first.cookie)).body.error?.code).toBe("NOT_ADMITTED");
    expect((await ticketOf(sale.id, second)).state).toBe("admitted");
    expect(await queueStats(sale.id)).toMatchObject({ admitted: 1, expired: 1, abandonRate: 1 });
    expect((await purchase(sale.id, second.cookie)).status).toBe(202);
  });

  it("pushes the ticket over a WebSocket, and refuses a plain GET of the feed", async () => {
    const sale = await createQueueSale({ stock: 1, startsInMs: 1_500 });
    const s = await shopper("live");
    await join(sale.id, s);
    expect((await call(`/api/sales/${sale.id}/queue/live`, { cookie: s.cookie })).status).toBe(400);
    const res = await call(`/api/sales/${sale.id}/queue/live`, { cookie: s.cookie, headers: { Upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const updates: QueueUpdate[] = [];
    ws.addEventListener("message", (e) => updates.push(JSON.parse(e.data as string) as QueueUpdate));
    ws.accept();
    await waitFor("the admission pushed", async () => updates.some((u) => u.ticket?.state === "admitted"));
    expect(updates[0]).toMatchObject({ type: "update", remaining: 1 });
    expect(updates.at(-1)!.ticket).toMatchObject({ saleId: sale.id, state: "admitted", queueNumber: 1 });
    ws.close(1000, "done");
  });

  it("leaves sales without a queue alone: no queue object, no queue routes", async () => {
    const before = (await listDurableObjectIds(env.SALE_QUEUE)).length;
    const sale = await createSale({ stock: 3 });
    expect(sale.queue).toBe(false);
    const s = await shopper("plain");
    expect((await join(sale.id, s)).status).toBe(404);
    expect((await call(`/api/sales/${sale.id}/queue`, { cookie: s.cookie })).status).toBe(404);
    expect((await purchase(sale.id, s.cookie)).status).toBe(202);
    expect((await listDurableObjectIds(env.SALE_QUEUE)).length).toBe(before);
    // A draw sale has no queue.
    const now = Date.now();
    const draw = await call("/admin/api/sales", {
      method: "POST",
      headers: ADMIN,
      body: json({
        title: "draw with queue",
        priceCents: 1,
        stock: 1,
        mode: "draw",
        queue: true,
        startsAt: new Date(now + 60_000).toISOString(),
        drawAt: new Date(now + 120_000).toISOString(),
        endsAt: new Date(now + 3_600_000).toISOString(),
      }),
    });
    expect(draw.status).toBe(400);
  });
});
