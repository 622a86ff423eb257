/**
 * The gateway Worker: the public entry. Serves the web app (static assets), the shopper API, health, and
 * forwards /admin/* and /metrics to the admin Worker. Every answer that is not a success has the error body
 * of docs/api.md, and no input produces a 5xx: unexpected errors are logged and rendered as 500 by one
 * `onError`, and tests throw garbage at every route to keep it that way.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { ApiError } from "../../lib/errors.ts";
import { isProduction, requireSecrets, type GatewayEnv } from "../../lib/env.ts";
import { checkReadiness } from "../../lib/readiness.ts";
import { type GatewayApp } from "./context.ts";
import { auth, me } from "./routes/auth.ts";
import { orders } from "./routes/orders.ts";
import { catalogChanged } from "./known-sales.ts";
import { answerIfClosed, sales } from "./routes/sales.ts";
import { SESSION_COOKIE_MARK } from "./session.ts";
import { startTrace } from "./trace.ts";

const MAX_BODY_BYTES = 16 * 1024;

const app = new Hono<GatewayApp>();

app.onError((err, c) => {
  if (err instanceof ApiError) return err.toResponse();
  if (err instanceof HTTPException) {
    // Hono's own 4xx (malformed JSON in a validator, for one) in the contract's shape.
    const status = err.status;
    if (status === 413) return new ApiError("PAYLOAD_TOO_LARGE", "The body is over 16 KiB").toResponse();
    if (status >= 400 && status < 500) return new ApiError("VALIDATION_FAILED", err.message || "Bad request").toResponse();
  }
  console.error(JSON.stringify({ msg: "unhandled error", traceId: c.get("traceId"), path: c.req.path, error: String(err), stack: (err as Error).stack }));
  return new ApiError("INTERNAL", "Something went wrong on our side").toResponse();
});

app.notFound(() => new ApiError("NOT_FOUND", "No such route").toResponse());

// Production without its secrets answers nothing but a 500 (one log line says which; see docs/deploy.md).
app.use(requireSecrets("SESSION_SECRET"));

// Tracing and one structured log line per request.
app.use(startTrace);

/** HSTS for two years in production (the shop is HTTPS only); none locally, where it is plain HTTP. */
const HSTS = "max-age=63072000; includeSubDomains";

app.use(async (c, next) =>
  secureHeaders({
    strictTransportSecurity: isProduction(c.env) ? HSTS : false,
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      objectSrc: ["'none'"],
    },
    referrerPolicy: "strict-origin-when-cross-origin",
    xContentTypeOptions: "nosniff",
    crossOriginEmbedderPolicy: false,
  })(c, next),
);

// A state-changing request from another site's page is refused (the cookie is SameSite=Lax; this is the belt).
app.use(async (c, next) => {
  const method = c.req.method;
  if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS") {
    const origin = c.req.header("Origin");
    if (origin !== undefined && origin !== new URL(c.req.url).origin) {
      throw new ApiError("FORBIDDEN_ORIGIN", "Cross-site requests are not accepted");
    }
  }
  await next();
});

app.use(
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError("PAYLOAD_TOO_LARGE", "The body is over 16 KiB");
    },
  }),
);

app.get("/healthz", (c) => c.json({ status: "ok" }));

/**
 * Readiness. The public answer names what failed ("failed") and nothing more; the errors go to the log, and
 * merchants read them at `GET /admin/api/readiness` (docs/api.md "Hardening").
 */
app.get("/readyz", async (c) => {
  const { ready, checks, errors } = await checkReadiness(c.env);
  if (ready) return c.json({ status: "ok", checks });
  console.error(JSON.stringify({ msg: "not ready", traceId: c.get("traceId"), errors }));
  const failed = Object.keys(errors);
  return new ApiError("UNAVAILABLE", `Not ready: ${failed.join(", ")}`, { checks }, { "Retry-After": "5" }).toResponse();
});

app.route("/api/auth", auth);
app.route("/api/me", me);
app.route("/api/sales", sales);
app.route("/api/orders", orders);

// Merchants: the admin Worker answers these; it checks the admin token itself.
// Its answer is re-wrapped so this Worker's middleware can add headers (a fetched Response is immutable).
const toAdmin = async (c: { req: { raw: Request }; env: GatewayEnv }) => {
  const res = await c.env.ADMIN.fetch(c.req.raw);
  if (res.status === 201 && c.req.raw.method === "POST") catalogChanged();
  return new Response(res.body, res);
};
app.all("/admin/api/*", toAdmin);
app.get("/metrics", toAdmin);

app.all("/api/*", () => new ApiError("NOT_FOUND", "No such route").toResponse());

// Everything else is the web app; unknown paths get its shell (single-page app) from the assets.
app.get("*", async (c) => {
  if (!c.env.ASSETS) return new ApiError("NOT_FOUND", "No such route").toResponse();
  const res = await c.env.ASSETS.fetch(c.req.raw);
  return new Response(res.body, res);
});

/**
 * The security headers the app puts on a JSON answer, learnt from the first one this isolate sends, for the
 * answers made without the app (see `answerIfClosed`).
 */
let appHeaders: Headers | null = null;

/**
 * Every answer to a request that carries a session cookie or an `Authorization` header is private:
 * `Cache-Control: no-store`, errors and short-circuit answers included (docs/api.md "More").
 */
function isPrivateRequest(request: Request): boolean {
  if (request.headers.has("Authorization")) return true;
  const cookie = request.headers.get("Cookie");
  return cookie !== null && cookie.includes(SESSION_COOKIE_MARK);
}

function noStore(response: Response): Response {
  try {
    response.headers.set("Cache-Control", "no-store");
    return response;
  } catch {
    // An immutable response (one passed through from a binding): copy it.
    const copy = new Response(response.body, response);
    copy.headers.set("Cache-Control", "no-store");
    return copy;
  }
}

export default {
  async fetch(request: Request, env: GatewayEnv, ctx: ExecutionContext): Promise<Response> {
    if (appHeaders) {
      const closed = answerIfClosed(request, env, ctx, appHeaders);
      if (closed) return isPrivateRequest(request) ? noStore(closed) : closed;
    }
    const response = await app.fetch(request, env, ctx);
    if (!appHeaders && response.headers.get("content-type")?.startsWith("application/json")) {
      appHeaders = new Headers(response.headers);
      for (const name of ["traceparent", "content-length", "set-cookie", "retry-after", "idempotent-replayed", "cache-control"]) appHeaders.delete(name);
    }
    return isPrivateRequest(request) ? noStore(response) : response;
  },
} satisfies ExportedHandler<GatewayEnv>;
