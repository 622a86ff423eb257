/**
 * The edge of the concurrent model test: the gateway's sold-out/ended short-circuit as the purchase route
 * applies it (workers/gateway/routes/sales.ts): its `ClosedSales` verdict, and the replay check with the
 * buyers filter the object publishes (workers/gateway/replay.ts), in front of the object.
 */
import { ClosedSales } from "../../workers/gateway/guards.ts";
import { knownBuyers, learnBuyers, mayBeReplay } from "../../workers/gateway/replay.ts";
import { SESSION_COOKIE } from "../../workers/gateway/session.ts";
import type { PurchaseRequest, PurchaseResult } from "../../durable-objects/sale-item.ts";

export interface Edge {
  /** The edge's own answer (an error code) when it sheds the attempt, else null: the object decides. */
  decide(saleId: string, userId: string, key: string | undefined): string | null;
  /** What the edge adds to the request it forwards. */
  request(saleId: string, request: PurchaseRequest): PurchaseRequest;
  /** What the edge learns from the object's answer. */
  learn(saleId: string, result: PurchaseResult): void;
}

/** A session cookie naming the shopper (the short-circuit reads it unverified; see replay.ts). */
function cookieOf(userId: string): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${SESSION_COOKIE}=${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: userId, name: userId })}.c2ln`;
}

export function edgeFor(now: () => number): Edge {
  const closed = new ClosedSales(now);
  return {
    decide(saleId, userId, key) {
      const reason = closed.get(saleId);
      if (!reason) return null;
      const headers = new Headers({ Cookie: cookieOf(userId) });
      if (key !== undefined) headers.set("Idempotency-Key", key);
      if (mayBeReplay(saleId, headers)) return null;
      return reason === "ended" ? "ENDED" : "SOLD_OUT";
    },
    request: (saleId, request) => ({ ...request, knownBuyers: knownBuyers(saleId)?.version }),
    learn(saleId, result) {
      learnBuyers(saleId, result.buyers);
      if (result.saleStatus === "sold_out" || result.saleStatus === "ended")
        closed.set(saleId, result.saleStatus, result.saleStatus === "ended" ? 60_000 : 1_000);
    },
  };
}
