/**
 * The merchants' draw and registration API (docs/api.md "Draw", "Registration"; admin `GET /admin/api/sales/:id/draw`
 * and `/draw/ranking`): the draw's state and ranking, and the before-the-start edits of a draw or registration sale.
 */
import type { DrawStats, EntryState } from "../../../lib/contract/draw.ts";
import type { Sale } from "../../../lib/contract/schemas.ts";
import { adminRequest, salePath } from "./admin-api.ts";

export interface RankingRow {
  rank: number;
  userId: string;
  orderId: string | null;
  state: EntryState;
  waitlistPosition?: number;
}

export const drawAdminApi = {
  draw: (id: string, signal?: AbortSignal) =>
    adminRequest<{ draw: DrawStats }>(`${salePath(id)}/draw`, { signal }).then((b) => b.draw),
  ranking: (id: string, from: number, limit: number, signal?: AbortSignal) =>
    adminRequest<{ ranking: RankingRow[]; nextFrom: number | null }>(
      `${salePath(id)}/draw/ranking?from=${from}&limit=${limit}`,
      { signal },
    ),
  /** Before the start: move the draw, or switch registration on or off. */
  update: (id: string, patch: { drawAt?: string; registrationRequired?: boolean }) =>
    adminRequest<{ sale: Sale }>(salePath(id), { method: "PATCH", body: patch }).then((b) => b.sale),
};
