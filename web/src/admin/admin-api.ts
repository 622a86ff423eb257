/**
 * The merchants' API with the bearer token. The token is asked for once and kept in sessionStorage: it
 * lives as long as the tab, never in localStorage (no trace left once the tab is closed), never in a URL.
 */
import { signal } from "@preact/signals";
import type {
  AdminOrder,
  FailedOrder,
  ReconcileResult,
  Sale,
  SaleStats,
  SeriesPoint,
} from "../../../lib/contract/schemas.ts";
import type { CreateSaleInput, UpdateSaleInput } from "../../../lib/contract/schemas.ts";
import { ApiFailure, apiRequest, type ApiRequest } from "../lib/api.ts";

const STORAGE_KEY = "minishop.adminToken";

function readStoredToken(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export const adminToken = signal<string | null>(readStoredToken());

export function setAdminToken(token: string | null): void {
  adminToken.value = token;
  try {
    if (token) sessionStorage.setItem(STORAGE_KEY, token);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage disabled: the token lives in memory for this page only.
  }
}

export type SaleWithStats = Sale & { stats: SaleStats };

export type { AdminOrder, FailedOrder, ReconcileResult, SeriesPoint };

/** A request with the kept admin token; a 401 forgets the token (the dashboard asks again). */
export async function adminRequest<T>(path: string, init: ApiRequest = {}): Promise<T> {
  const token = adminToken.value;
  if (!token) throw new ApiFailure(401, "UNAUTHENTICATED", "Enter the admin token");
  try {
    return (await apiRequest<T>(path, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } }))
      .data;
  } catch (err) {
    // A wrong or rotated token: forget it so the dashboard asks again.
    if (err instanceof ApiFailure && err.status === 401) setAdminToken(null);
    throw err;
  }
}

/** Checks a token before it is kept: resolves when the admin API accepts it. */
export async function verifyAdminToken(token: string): Promise<void> {
  await apiRequest("/admin/api/sales", { headers: { Authorization: `Bearer ${token}` } });
}

export const salePath = (id: string) => `/admin/api/sales/${encodeURIComponent(id)}`;

export const adminApi = {
  listSales: (signal?: AbortSignal) =>
    adminRequest<{ sales: SaleWithStats[] }>("/admin/api/sales", { signal }).then((b) => b.sales),
  getSale: (id: string, signal?: AbortSignal) =>
    adminRequest<{ sale: SaleWithStats }>(salePath(id), { signal }).then((b) => b.sale),
  createSale: (input: CreateSaleInput) =>
    adminRequest<{ sale: Sale }>("/admin/api/sales", { method: "POST", body: input }).then((b) => b.sale),
  updateSale: (id: string, input: UpdateSaleInput) =>
    adminRequest<{ sale: Sale }>(salePath(id), { method: "PATCH", body: input }).then((b) => b.sale),
  endSale: (id: string) => adminRequest<{ sale: Sale }>(`${salePath(id)}/end`, { method: "POST" }).then((b) => b.sale),
  deleteSale: (id: string) => adminRequest<void>(salePath(id), { method: "DELETE" }),
  series: (id: string, signal?: AbortSignal) =>
    adminRequest<{ points: SeriesPoint[] }>(`${salePath(id)}/series`, { signal }).then((b) => b.points),
  deleteImage: (id: string) =>
    adminRequest<{ sale: Sale }>(`${salePath(id)}/image`, { method: "DELETE" }).then((b) => b.sale),
  pause: (id: string) => adminRequest<{ sale: Sale }>(`${salePath(id)}/pause`, { method: "POST" }).then((b) => b.sale),
  resume: (id: string) =>
    adminRequest<{ sale: Sale }>(`${salePath(id)}/resume`, { method: "POST" }).then((b) => b.sale),
  orders: (id: string, cursor: string | null, limit = 50, signal?: AbortSignal) =>
    adminRequest<{ orders: AdminOrder[]; nextCursor: string | null }>(
      `${salePath(id)}/orders?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      { signal },
    ),
  reconcile: (id: string) => adminRequest<ReconcileResult>(`${salePath(id)}/reconcile`, { method: "POST" }),
  failedOrders: (signal?: AbortSignal) =>
    adminRequest<{ failedOrders: FailedOrder[] }>("/admin/api/failed-orders", { signal }).then((b) => b.failedOrders),
  replay: (id: string) =>
    adminRequest<{ replayed: boolean; orderId: string }>(`/admin/api/failed-orders/${encodeURIComponent(id)}/replay`, {
      method: "POST",
    }),
};

/**
 * Uploads a product photo: the file's own bytes as the body, its type as `Content-Type` (docs/api.md
 * "Product image"); the server checks both. Failures come back as `ApiFailure` with the contract's code.
 */
export async function uploadSaleImage(saleId: string, file: Blob): Promise<Sale> {
  const token = adminToken.value;
  if (!token) throw new ApiFailure(401, "UNAUTHENTICATED", "Enter the admin token");
  let res: Response;
  try {
    res = await fetch(`${salePath(saleId)}/image`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": file.type || "application/octet-stream" },
      body: file,
    });
  } catch {
    throw new ApiFailure(0, "NETWORK", "Can't reach MiniShop — check your connection");
  }
  const body = (await res.json().catch(() => null)) as {
    sale?: Sale;
    error?: { code: string; message: string };
  } | null;
  if (res.ok && body?.sale) return body.sale;
  if (res.status === 401) setAdminToken(null);
  const code = (body?.error?.code ?? "UNKNOWN") as ConstructorParameters<typeof ApiFailure>[1];
  throw new ApiFailure(res.status, code, body?.error?.message ?? `The upload failed (${res.status})`);
}

/**
 * The orders CSV needs the bearer token, so a plain link can't fetch it: fetch it here and hand the browser
 * a Blob to save.
 */
export async function downloadOrdersCsv(saleId: string): Promise<void> {
  const token = adminToken.value;
  if (!token) throw new ApiFailure(401, "UNAUTHENTICATED", "Enter the admin token");
  const res = await fetch(`${salePath(saleId)}/orders?format=csv`, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new ApiFailure(res.status, "UNKNOWN", `The CSV export failed (${res.status})`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = `orders-${saleId}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
