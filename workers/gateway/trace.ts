/**
 * W3C trace context: a request's `traceparent` is continued (same trace id, new span), or a new trace is
 * started. The trace id goes to the sale's object, the queue message and the order's row in PostgreSQL,
 * and every request is logged as one JSON line carrying it.
 */
import type { MiddlewareHandler } from "hono";
import type { GatewayApp } from "./context.ts";

const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function randomHex(bytes: number): string {
  const a = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const b of a) s += b.toString(16).padStart(2, "0");
  return s;
}

export function parseTraceparent(header: string | undefined): { traceId: string; flags: string } | null {
  const m = header ? TRACEPARENT_RE.exec(header.trim()) : null;
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return null;
  return { traceId: m[1], flags: m[3] };
}

export const startTrace: MiddlewareHandler<GatewayApp> = async (c, next) => {
  const started = Date.now();
  const parent = parseTraceparent(c.req.header("traceparent"));
  const traceId = parent?.traceId ?? randomHex(16);
  const traceparent = `00-${traceId}-${randomHex(8)}-${parent?.flags ?? "01"}`;
  c.set("traceId", traceId);
  c.set("traceparent", traceparent);
  await next();
  c.header("traceparent", traceparent);
  console.log(
    JSON.stringify({
      ts: new Date(started).toISOString(),
      worker: "gateway",
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Date.now() - started,
      traceId,
      userId: c.get("user")?.id,
    }),
  );
};

/**
 * The same trace header and log line as `startTrace`, for an answer made without the app (the gateway's
 * sold-out fast path).
 */
export function traceAnswer(request: Request, response: Response, path: string): Response {
  const parent = parseTraceparent(request.headers.get("traceparent") ?? undefined);
  const traceId = parent?.traceId ?? randomHex(16);
  response.headers.set("traceparent", `00-${traceId}-${randomHex(8)}-${parent?.flags ?? "01"}`);
  console.log(
    JSON.stringify({
      ts: new Date().toISOString(),
      worker: "gateway",
      method: request.method,
      path,
      status: response.status,
      ms: 0,
      traceId,
    }),
  );
  return response;
}
