/**
 * The queue API of docs/api.md ("Queue"), typed by the shared shapes: join, read the ticket, and the live feed
 * (a WebSocket) with polling as its fallback.
 */
import type { QueueUpdate, Ticket } from "../../../lib/contract/queue.ts";
import { ApiFailure, apiRequest } from "../lib/api.ts";
import { CHALLENGE_HEADER } from "../lib/challenge.ts";

const queuePath = (saleId: string) => `/api/sales/${encodeURIComponent(saleId)}/queue`;

/** Joins; `proof` is a solved challenge's `X-Altcha` value, for a `challenge` sale (docs/api.md "Proof of work"). */
export async function joinQueue(saleId: string, proof?: string): Promise<Ticket> {
  const headers = proof ? { [CHALLENGE_HEADER]: proof } : undefined;
  return (await apiRequest<{ ticket: Ticket }>(queuePath(saleId), { method: "POST", headers })).data.ticket;
}

/** The shopper's ticket, or null when they have not joined. */
export async function fetchTicket(saleId: string, signal?: AbortSignal): Promise<Ticket | null> {
  try {
    return (await apiRequest<{ ticket: Ticket }>(queuePath(saleId), { signal })).data.ticket;
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 404) return null;
    throw err;
  }
}

/**
 * Opens the live feed; `onUpdate` gets every message, `onDown` is called once when the feed cannot be had or
 * drops (the caller polls then). Returns the close function.
 */
export function openLiveFeed(saleId: string, onUpdate: (update: QueueUpdate) => void, onDown: () => void): () => void {
  if (typeof WebSocket === "undefined") {
    onDown();
    return () => {};
  }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let closedByUs = false;
  let down = false;
  const ws = new WebSocket(`${scheme}//${location.host}${queuePath(saleId)}/live`);
  const fail = () => {
    if (closedByUs || down) return;
    down = true;
    onDown();
  };
  ws.onmessage = (e) => {
    try {
      const update = JSON.parse(String(e.data)) as QueueUpdate;
      if (update.type === "update") onUpdate(update);
    } catch {
      // Not ours: ignored.
    }
  };
  ws.onerror = fail;
  ws.onclose = fail;
  return () => {
    closedByUs = true;
    ws.close(1000, "bye");
  };
}
