/**
 * Product photos, served from R2 at /images/<saleId>/<version>.<ext> (docs/api.md "Product image"). A URL
 * names one upload (the admin Worker never writes a key twice), so the answer is cacheable for a year by
 * browsers and the CDN alike; a conditional request with the ETag is answered 304.
 */
import { Hono } from "hono";
import { ApiError } from "../../lib/contract/errors.ts";
import { IMAGE_CACHE_CONTROL, imageKeyOf } from "../../lib/contract/images.ts";
import type { GatewayApp } from "./context.ts";

export const images = new Hono<GatewayApp>().get("/*", async (c) => {
  const key = imageKeyOf(c.req.path);
  if (!key) throw new ApiError("NOT_FOUND", "No such image");
  const object = await c.env.IMAGES.get(key);
  if (!object) throw new ApiError("NOT_FOUND", "No such image");
  const headers = new Headers({
    "Content-Type": object.httpMetadata?.contentType ?? "application/octet-stream",
    "Cache-Control": IMAGE_CACHE_CONTROL,
    ETag: object.httpEtag,
    "Content-Length": String(object.size),
  });
  if (c.req.header("If-None-Match") === object.httpEtag) {
    await object.body.cancel();
    headers.delete("Content-Length");
    return new Response(null, { status: 304, headers });
  }
  return new Response(c.req.method === "HEAD" ? null : object.body, { status: 200, headers });
});
