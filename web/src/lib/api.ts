/**
 * The one way the web app talks HTTP: the platform's `fetch`, JSON in and out, and every failure turned into
 * an `ApiFailure` carrying the contract's error body (docs/api.md "Errors") plus `Retry-After`.
 *
 * A network failure (offline, connection reset) is an `ApiFailure` too, with status 0 and code `NETWORK`,
 * so callers handle one kind of error.
 */
import type { ErrorBody, ErrorCode } from "../../../lib/errors.ts";
import { errorText } from "../i18n/shop.ts";

export type FailureCode = ErrorCode | "NETWORK" | "UNKNOWN";

/** One entry of `details` on a `400 VALIDATION_FAILED` (zod's issues, path as strings). */
export interface FieldIssue {
  path: (string | number)[];
  message: string;
  code?: string;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: FailureCode,
    message: string,
    readonly details?: unknown,
    /** From the `Retry-After` header (seconds or an HTTP date), in milliseconds; null when absent. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = "ApiFailure";
  }
}

export interface ApiRequest {
  method?: "GET" | "POST" | "PATCH";
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ApiResponse<T> {
  data: T;
  response: Response;
}

/** `Retry-After` is either delta-seconds or an HTTP date; anything else is ignored. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

async function failureFrom(response: Response): Promise<ApiFailure> {
  const retryAfterMs = parseRetryAfter(response.headers.get("Retry-After"));
  let body: Partial<ErrorBody> | null = null;
  try {
    body = (await response.json()) as Partial<ErrorBody>;
  } catch {
    // Not the contract's body (a proxy's HTML page, say): the status alone speaks.
  }
  const error = body?.error;
  if (error && typeof error.code === "string") {
    return new ApiFailure(
      response.status,
      error.code,
      error.message ?? response.statusText,
      error.details,
      retryAfterMs,
    );
  }
  return new ApiFailure(response.status, "UNKNOWN", `The server answered ${response.status}`, undefined, retryAfterMs);
}

/**
 * @example
 * const { data } = await apiRequest<{ sales: Sale[] }>("/api/sales");
 */
export async function apiRequest<T>(path: string, init: ApiRequest = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { Accept: "application/json", ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(init.body);
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? "GET",
      headers,
      body,
      credentials: "same-origin",
      signal: init.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiFailure(0, "NETWORK", "Can't reach MiniShop — check your connection");
  }
  if (!response.ok) throw await failureFrom(response);
  const data = response.status === 204 ? (undefined as T) : ((await response.json()) as T);
  return { data, response };
}

/**
 * Field-level messages from a failure's `details` (zod issues or `[{path, message}]`), keyed by the first
 * path segment; the first message per field wins.
 */
export function fieldErrors(details: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(details)) return out;
  for (const issue of details as Partial<FieldIssue>[]) {
    const key = issue?.path?.[0];
    if (key === undefined || typeof issue.message !== "string") continue;
    out[String(key)] ??= issue.message;
  }
  return out;
}

/**
 * The message to show a person for a failure, in their language and words rather than the server's codes:
 * the app's text for the error code (web/src/i18n/shop.ts), else the server's own message.
 */
export function describeFailure(err: unknown): string {
  if (err instanceof ApiFailure) return errorText(err.code) ?? err.message;
  return errorText("UNKNOWN")!;
}
