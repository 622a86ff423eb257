/**
 * The draw and registration API of docs/api.md ("Draw", "Registration"), typed by the shared shapes, and the
 * draw's ranking recomputed in the browser with Web Crypto — the same `rankKey` the server uses (lib/contract/draw.ts).
 */
import { rankKey, sha256hex, type Entry, type PublicDraw, type Registration } from "../../../lib/contract/draw.ts";
import { apiRequest } from "../lib/api.ts";

export async function enterDraw(saleId: string): Promise<Entry> {
  return (await apiRequest<{ entry: Entry }>(`/api/sales/${encodeURIComponent(saleId)}/entries`, { method: "POST" }))
    .data.entry;
}

/** The shopper's entry and registration in a sale, each null when there is none (`GET /api/sales/:id/me`). */
export async function fetchMine(
  saleId: string,
  signal?: AbortSignal,
): Promise<{ entry: Entry | null; registration: Registration | null }> {
  return (
    await apiRequest<{ entry: Entry | null; registration: Registration | null }>(
      `/api/sales/${encodeURIComponent(saleId)}/me`,
      { signal },
    )
  ).data;
}

/** The shopper's entry, or null when they have not entered. */
export async function fetchMyEntry(saleId: string, signal?: AbortSignal): Promise<Entry | null> {
  return (await fetchMine(saleId, signal)).entry;
}

export async function fetchPublicDraw(saleId: string, signal?: AbortSignal): Promise<PublicDraw> {
  return (await apiRequest<PublicDraw>(`/api/sales/${encodeURIComponent(saleId)}/draw`, { signal })).data;
}

export async function registerForSale(saleId: string): Promise<Registration> {
  const path = `/api/sales/${encodeURIComponent(saleId)}/registrations`;
  return (await apiRequest<{ registration: Registration }>(path, { method: "POST" })).data.registration;
}

export async function fetchMyRegistration(saleId: string, signal?: AbortSignal): Promise<Registration | null> {
  return (await fetchMine(saleId, signal)).registration;
}

export interface Verification {
  commitmentMatches: boolean;
  rankingMatches: boolean;
  ranking: string[];
}

/**
 * Recomputes a revealed draw: SHA-256 of the seed against the commitment, and every entry's rank key, sorted,
 * against the published winners and waitlist. Hashes in slices so the page stays responsive (`onProgress`).
 */
export async function verifyDraw(
  draw: Extract<PublicDraw, { seed: string }>,
  onProgress?: (done: number, total: number) => void,
): Promise<Verification> {
  const commitmentMatches = (await sha256hex(draw.seed)) === draw.commitment;
  const keyed: { userId: string; key: string }[] = [];
  const SLICE = 2_000;
  for (let i = 0; i < draw.entries.length; i += SLICE) {
    const slice = draw.entries.slice(i, i + SLICE);
    const keys = await Promise.all(slice.map((u) => rankKey(draw.seed, u)));
    slice.forEach((userId, j) => keyed.push({ userId, key: keys[j] }));
    onProgress?.(keyed.length, draw.entries.length);
  }
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.userId < b.userId ? -1 : 1));
  const ranking = keyed.map((k) => k.userId);
  const published = [...draw.winners, ...draw.waitlist];
  const rankingMatches = published.length === ranking.length && ranking.every((u, i) => u === published[i]);
  return { commitmentMatches, rankingMatches, ranking };
}
