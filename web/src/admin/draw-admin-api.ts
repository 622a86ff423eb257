/**
 * The merchants' draw and registration API (docs/api.md "Draw", "Registration"; admin `GET /admin/api/sales/:id/draw`
 * and `/draw/ranking`): the draw's state and ranking, and the before-the-start edits of a draw or registration sale.
 */
import type { DrawStats, EntryState } from "../../../lib/contract/draw.ts";
import type { Sale } from "../../../lib/contract/schemas.ts";
import { ApiFailure, apiRequest, type ApiRequest } from "../lib/api.ts";
import { adminToken, setAdminToken } from "./admin-api.ts";

export interface RankingRow {
  rank: number;
  userId: string;
  orderId: string | null;
  state: EntryState;
  waitlistPosition?: number;
}

async function request<T>(path: string, init: ApiRequest = {}): Promise<T> {
  const token = adminToken.value;
  if (!token) throw new ApiFailure(401, "UNAUTHENTICATED", "Enter the admin token");
  try {
    return (await apiRequest<T>(path, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } }))
      .data;
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) setAdminToken(null);
    throw err;
  }
}

const salePath = (id: string) => `/admin/api/sales/${encodeURIComponent(id)}`;

export const drawAdminApi = {
  draw: (id: string, signal?: AbortSignal) =>
    request<{ draw: DrawStats }>(`${salePath(id)}/draw`, { signal }).then((b) => b.draw),
  ranking: (id: string, from: number, limit: number, signal?: AbortSignal) =>
    request<{ ranking: RankingRow[]; nextFrom: number | null }>(
      `${salePath(id)}/draw/ranking?from=${from}&limit=${limit}`,
      { signal },
    ),
  /** Before the start: move the draw, or switch registration on or off. */
  update: (id: string, patch: { drawAt?: string; registrationRequired?: boolean }) =>
    request<{ sale: Sale }>(salePath(id), { method: "PATCH", body: patch }).then((b) => b.sale),
};
