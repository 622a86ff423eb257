/**
 * The one way the web app talks HTTP: the platform's `fetch`, JSON in and out, and every failure turned into
 * an `ApiFailure` carrying the contract's error body (docs/api.md "Errors") plus `Retry-After`.
 *
 * A network failure (offline, connection reset) is an `ApiFailure` too, with status 0 and code `NETWORK`,
 * so callers handle one kind of error.
 */
import type { ErrorBody, ErrorCode } from "../../../lib/contract/errors.ts";
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
  method?: HttpMethod;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export type HttpMethod = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

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

async function failureFrom(response: Response, status: number): Promise<ApiFailure> {
  const retryAfterMs = parseRetryAfter(response.headers.get("Retry-After"));
  let body: Partial<ErrorBody> | null = null;
  try {
    body = (await response.json()) as Partial<ErrorBody>;
  } catch {
    // Not the contract's body (a proxy's HTML page, say): the status alone speaks.
  }
  const error = body?.error;
  if (error && typeof error.code === "string") {
    return new ApiFailure(status, error.code, error.message ?? response.statusText, error.details, retryAfterMs);
  }
  return new ApiFailure(status, "UNKNOWN", `The server answered ${status}`, undefined, retryAfterMs);
}

/**
 * @example
 * const { data } = await apiRequest<{ sales: Sale[] }>("/api/sales");
 */
export async function apiRequest<T>(path: string, init: ApiRequest = {}): Promise<ApiResponse<T>> {
  // Expected 4xx answers come back as 200 + X-Error-Status, so the browser's console stays for real errors
  // (docs/api.md "Web app transport").
  const headers: Record<string, string> = { Accept: "application/json", "X-Soft-Errors": "1", ...init.headers };
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
  if (!response.ok) throw await failureFrom(response, response.status);
  const softStatus = Number(response.headers.get("X-Error-Status"));
  if (softStatus >= 400) throw await failureFrom(response, softStatus);
  const data = response.status === 204 ? (undefined as T) : ((await response.json()) as T);
  return { data, response };
}

// ---------------------------------------------------------------- typed routes

/** A route table like `ShopperRoutes` in lib/contract/schemas.ts: `"METHOD /path/:param"` → body and answer. */
export type RouteTable = { [route: string]: { body: unknown; response: unknown } };

type PathOf<R extends string> = R extends `${HttpMethod} ${infer P}` ? P : never;
type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

/** What a call to route `R` takes: its path parameters and its body, each only when the route has them. */
export type CallOptions<Routes extends RouteTable, R extends keyof Routes & string> = ([ParamNames<PathOf<R>>] extends [
  never,
]
  ? { params?: undefined }
  : { params: Record<ParamNames<PathOf<R>>, string> }) &
  (Routes[R]["body"] extends undefined ? { body?: undefined } : { body: Routes[R]["body"] }) & {
    query?: Record<string, string | number | null | undefined>;
    headers?: Record<string, string>;
    signal?: AbortSignal;
  };

/** `"GET /api/sales/:id"` + `{id: "s 1"}` → `["GET", "/api/sales/s%201"]`. */
export function routeUrl(
  route: string,
  params: Record<string, string> = {},
  query: Record<string, string | number | null | undefined> = {},
): { method: HttpMethod; path: string } {
  const space = route.indexOf(" ");
  const method = route.slice(0, space) as HttpMethod;
  let path = route.slice(space + 1).replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`routeUrl: ${route} needs :${name}`);
    return encodeURIComponent(value);
  });
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) search.set(k, String(v));
  if ([...search.keys()].length) path += `?${search}`;
  return { method, path };
}

/**
 * A client for one route table: `call(route, {params, body})` resolves to that route's answer type, so the
 * web app never writes a request or answer shape of its own.
 *
 * @example
 * const shopper = createClient<ShopperRoutes>();
 * const { sale } = (await shopper("GET /api/sales/:id", { params: { id } })).data;
 */
export function createClient<Routes extends RouteTable>(defaults: { headers?: () => Record<string, string> } = {}) {
  return function call<R extends keyof Routes & string>(
    route: R,
    ...[options]: RequiredKeys<CallOptions<Routes, R>> extends never
      ? [options?: CallOptions<Routes, R>]
      : [options: CallOptions<Routes, R>]
  ): Promise<ApiResponse<Routes[R]["response"]>> {
    const o: {
      params?: Record<string, string>;
      body?: unknown;
      query?: Record<string, string | number | null | undefined>;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = options ?? {};
    const { method, path } = routeUrl(route, o.params, o.query);
    return apiRequest<Routes[R]["response"]>(path, {
      method,
      body: o.body,
      headers: { ...defaults.headers?.(), ...o.headers },
      signal: o.signal,
    });
  };
}

type RequiredKeys<T> = { [K in keyof T]-?: Partial<Pick<T, K>> extends Pick<T, K> ? never : K }[keyof T];

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
