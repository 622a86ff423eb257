/**
 * The gateway Worker: the public entry. Serves the web app (static assets), the shopper API, health, and
 * forwards /admin/* and /metrics to the admin Worker. Every answer that is not a success has the error body
 * of docs/api.md, and no input produces a 5xx: unexpected errors are logged and rendered as 500 by one
 * `onError`, and tests throw garbage at every route to keep it that way.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { ApiError } from "../../lib/contract/errors.ts";
import { BODY_TOO_LARGE_MESSAGE, noSuchRoute, softenClientError, useErrorPath } from "../../lib/server/http.ts";
import { isProduction, requireSecrets } from "../../lib/server/env.ts";
import { type GatewayEnv } from "./env.ts";
import { checkReadiness } from "../../lib/server/readiness.ts";
import { apiReference } from "./api-docs.ts";
import { type GatewayApp } from "./context.ts";
import { MAX_IMAGE_BYTES, isImageUpload } from "../../lib/contract/images.ts";
import { images } from "./images.ts";
import { auth, me } from "./routes/auth.ts";
import { orders } from "./routes/orders.ts";
import { catalogChanged } from "./known-sales.ts";
import { answerIfClosed, sales } from "./routes/sales.ts";
import { draws } from "./routes/draws.ts";
import { challenge } from "./routes/challenge.ts";
import { queue } from "./routes/queue.ts";
import { SESSION_COOKIE_MARK } from "./session.ts";
import { startTrace } from "./trace.ts";

const MAX_BODY_BYTES = 16 * 1024;

/** Exported for the route-coverage test of the OpenAPI document (test/workers/openapi.test.ts). */
export const app = new Hono<GatewayApp>();

useErrorPath(app, "gateway");

// Production without its secrets answers nothing but a 500 (one log line says which; see docs/deploy.md).
app.use(requireSecrets("SESSION_SECRET", "CHALLENGE_HMAC_KEY"));

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

const defaultBodyLimit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError("PAYLOAD_TOO_LARGE", BODY_TOO_LARGE_MESSAGE);
  },
});
// The one exception (docs/api.md "Product image"): a product photo upload may carry up to 2 MiB. Only that
// method and path; the admin Worker checks the token, the size again and the bytes.
const imageBodyLimit = bodyLimit({
  maxSize: MAX_IMAGE_BYTES,
  onError: () => {
    throw new ApiError("PAYLOAD_TOO_LARGE", "The image is over 2 MiB");
  },
});
app.use((c, next) => (isImageUpload(c.req.method, c.req.path) ? imageBodyLimit(c, next) : defaultBodyLimit(c, next)));

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
  return new ApiError(
    "UNAVAILABLE",
    `Not ready: ${failed.join(", ")}`,
    { checks },
    { "Retry-After": "5" },
  ).toResponse();
});

app.route("/api/auth", auth);
app.route("/api/me", me);
app.route("/api/challenge", challenge);
app.route("/api/sales", sales);
app.route("/api/sales", draws);
app.route("/api/sales", queue);
app.route("/api/orders", orders);
app.route("/images", images);
app.route("/api", apiReference);

// Merchants: the admin Worker answers these; it checks the admin token itself.
// Its answer is re-wrapped so this Worker's middleware can add headers (a fetched Response is immutable).
const toAdmin = async (c: { req: { raw: Request }; env: GatewayEnv }) => {
  const res = await c.env.ADMIN.fetch(c.req.raw);
  if (res.status === 201 && c.req.raw.method === "POST") catalogChanged();
  return new Response(res.body, res);
};
app.all("/admin/api/*", toAdmin);
app.get("/metrics", toAdmin);

app.all("/api/*", noSuchRoute);

// Everything else is the web app; unknown pages get its shell (single-page app) from the assets.
app.get("*", async (c) => {
  if (!c.env.ASSETS) return noSuchRoute();
  const res = await c.env.ASSETS.fetch(c.req.raw);
  if (isMissingFile(new URL(c.req.url).pathname, res)) {
    // The shell is for pages; a missing file (an old build's chunk, a mistyped icon) is a real 404, so a
    // browser or crawler never takes HTML for a script or an image.
    return new Response("Not found\n", {
      status: 404,
      headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
    });
  }
  return new Response(res.body, res);
});

/**
 * Whether the assets answered a request for a file (a last path segment with an extension, such as
 * `/assets/index-x.js` or `/favicon.ico`) with the single-page app's shell, i.e. the file does not exist.
 * App routes (`/sales/:id`, `/orders/:id`) never have a dot: their ids are UUIDs and hex.
 */
function isMissingFile(pathname: string, res: Response): boolean {
  const last = pathname.slice(pathname.lastIndexOf("/") + 1);
  if (!/\.[A-Za-z0-9]+$/.test(last) || /\.html?$/.test(last)) return false;
  return res.headers.get("content-type")?.startsWith("text/html") === true;
}

/**
 * The security headers the app puts on a JSON answer, learnt from the first one this isolate sends, for the
 * answers made without the app (see `answerIfClosed`).
 */
let appHeaders: Headers | null = null;

/**
 * Every answer to a request that carries a session cookie or an `Authorization` header is private:
 * `Cache-Control: no-store`, errors and short-circuit answers included (docs/api.md "More"). Product photos
 * (`/images/*`) are the exception: public and immutable whoever asks, they keep their own Cache-Control.
 */
function isPrivateRequest(request: Request): boolean {
  if (new URL(request.url).pathname.startsWith("/images/")) return false;
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

/** The answer before the shared finish: the sold-out/ended short-circuit when it applies, else the app's. */
async function answer(request: Request, env: GatewayEnv, ctx: ExecutionContext): Promise<Response> {
  if (appHeaders) {
    const closed = answerIfClosed(request, env, ctx, appHeaders);
    if (closed) return closed;
  }
  const response = await app.fetch(request, env, ctx);
  if (!appHeaders && response.headers.get("content-type")?.startsWith("application/json")) {
    appHeaders = new Headers(response.headers);
    for (const name of [
      "traceparent",
      "content-length",
      "set-cookie",
      "retry-after",
      "idempotent-replayed",
      "cache-control",
    ])
      appHeaders.delete(name);
  }
  return response;
}

export default {
  /** Every answer, short-circuit or app, takes one shared path: `no-store` when private, then soft errors. */
  async fetch(request: Request, env: GatewayEnv, ctx: ExecutionContext): Promise<Response> {
    const response = await answer(request, env, ctx);
    return softenClientError(request, isPrivateRequest(request) ? noStore(response) : response);
  },
} satisfies ExportedHandler<GatewayEnv>;
