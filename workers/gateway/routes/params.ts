/**
 * What the shopper routes on a sale share: the sale id from the path, and "this request takes no body".
 */
import { ApiError } from "../../../lib/contract/errors.ts";
import { isUuid } from "../../../lib/contract/ids.ts";
import type { GatewayContext } from "../context.ts";

/** The `:id` of the path, a well-shaped sale id; else `404 NOT_FOUND`. */
export function saleIdParam(c: GatewayContext): string {
  const id = c.req.param("id") ?? "";
  if (!isUuid(id)) throw new ApiError("NOT_FOUND", "No such sale");
  return id;
}

/** Routes that take no body accept nothing, or `{}`; anything else is `400 VALIDATION_FAILED`. */
export async function requireNoBody(c: GatewayContext): Promise<void> {
  const text = (await c.req.text()).trim();
  if (text === "" || text === "{}") return;
  throw new ApiError("VALIDATION_FAILED", "This request takes no body", [
    { path: [], message: "expected no body or {}" },
  ]);
}
