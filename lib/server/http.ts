/**
 * The one error path of every Worker that answers HTTP (docs/api.md "Errors"; hono's `HTTPException` model):
 * - an `ApiError` is what the client should see, rendered as the contract's body with its status;
 * - Hono's own `HTTPException` (malformed JSON in a validator, a body over the limit) is mapped to the
 *   contract's code for its status, never leaked as Hono's plain-text answer;
 * - anything else is a bug: logged as one JSON line (worker, trace id when the app sets one, method, path,
 *   error, stack) and answered `500 INTERNAL` without details.
 * And one validator: zod schemas through @hono/zod-validator, failures rendered `400 VALIDATION_FAILED` with
 * zod's issues in `details`. Last, `softenClientError`: a `4xx` as `200` + `X-Error-Status` for a client that
 * asks with `X-Soft-Errors: 1` (the web app), applied once at the gateway's outermost `fetch`, which also
 * carries every admin API answer.
 */
import { zValidator } from "@hono/zod-validator";
import type { Context, Env, ErrorHandler, Hono, NotFoundHandler, ValidationTargets } from "hono";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";
import { ApiError, type ErrorCode } from "../contract/errors.ts";

/** The Hono statuses that can reach `onError` as an `HTTPException`, and the contract's code for each. */
const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  401: "UNAUTHENTICATED",
  404: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  429: "RATE_LIMITED",
};

export const BODY_TOO_LARGE_MESSAGE = "The body is over 16 KiB";

/** Hono's `HTTPException` (a 4xx) in the contract's terms; any other 4xx is the request's fault: VALIDATION_FAILED. */
export function fromHttpException(err: HTTPException): ApiError {
  const code = HTTP_EXCEPTION_CODES[err.status] ?? "VALIDATION_FAILED";
  const message = code === "PAYLOAD_TOO_LARGE" ? BODY_TOO_LARGE_MESSAGE : err.message || "Bad request";
  return new ApiError(code, message);
}

/**
 * The `onError` of a Worker's app.
 *
 * @example
 * app.onError(onError("admin"));
 */
export function onError(worker: string): ErrorHandler {
  return (err: Error, c: Context) => {
    if (err instanceof ApiError) return err.toResponse();
    if (err instanceof HTTPException && err.status < 500) return fromHttpException(err).toResponse();
    console.error(
      JSON.stringify({
        worker,
        msg: "unhandled error",
        traceId: (c.get("traceId") as string | undefined) ?? undefined,
        method: c.req.method,
        path: c.req.path,
        error: String(err),
        stack: err instanceof Error ? err.stack : undefined,
      }),
    );
    return new ApiError("INTERNAL", "Something went wrong on our side").toResponse();
  };
}

/** The answer to a path no route serves. */
export function noSuchRoute(): Response {
  return new ApiError("NOT_FOUND", "No such route").toResponse();
}

export const onNotFound: NotFoundHandler = () => noSuchRoute();

/**
 * Installs the error path on a Worker's app: `onError` and `notFound` together, so no app has one without
 * the other.
 *
 * @example
 * const app = new Hono<AdminApp>();
 * useErrorPath(app, "admin");
 */
export function useErrorPath<E extends Env>(app: Hono<E>, worker: string): void {
  app.onError(onError(worker));
  app.notFound(onNotFound);
}

/** `400 VALIDATION_FAILED` with zod's issues as `details` (path, code, message each). */
export function validationFailed(error: { issues: readonly z.core.$ZodIssue[] }): ApiError {
  return new ApiError(
    "VALIDATION_FAILED",
    "The request is not valid",
    error.issues.map((i) => ({ path: i.path.map(String), code: i.code, message: i.message })),
  );
}

/**
 * The validator of every route: reads `target` with `schema`, or answers `400 VALIDATION_FAILED`.
 *
 * @example
 * app.post("/", validate("json", credentialsSchema), async (c) => { const body = c.req.valid("json"); … })
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw validationFailed(result.error);
  });
}

/**
 * "Soft" error answers for the web app (docs/api.md "Web app transport"), the last step of the error path.
 *
 * A browser reports every `4xx` answer to `fetch` as an error in its console ("Failed to load resource: the
 * server responded with a status of 409"), even when the app expected it and handles it: a `409
 * ALREADY_PURCHASED`, a `410 SOLD_OUT` in the second a sale sells out, a `429` while a crowd is admitted, a
 * merchant's mistyped token. A console full of errors hides the real ones. So a client that sends
 * `X-Soft-Errors: 1` gets those answers as `200` with the real status in `X-Error-Status` and the same error
 * body and headers (`Retry-After`…); a client that does not send it (every API client, every test of the
 * contract) sees nothing change. `5xx` answers stay as they are: those are errors.
 */
export const SOFT_ERRORS_HEADER = "X-Soft-Errors";
export const ERROR_STATUS_HEADER = "X-Error-Status";

/**
 * @example
 * return softenClientError(request, await app.fetch(request, env, ctx));
 */
export function softenClientError(request: Request, response: Response): Response {
  if (response.status < 400 || response.status > 499) return response;
  if (request.headers.get(SOFT_ERRORS_HEADER) !== "1") return response;
  const headers = new Headers(response.headers);
  headers.set(ERROR_STATUS_HEADER, String(response.status));
  headers.append("Vary", SOFT_ERRORS_HEADER);
  return new Response(response.body, { status: 200, headers });
}
