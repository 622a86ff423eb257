/**
 * "Soft" error answers for the web app (docs/api.md "Web app transport").
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
