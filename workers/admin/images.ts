/**
 * Product photo uploads (docs/api.md "Product image"): the body is the image itself, up to 2 MiB, of a
 * declared type its first bytes must confirm. Stored in R2 under a key no upload reuses (a time-ordered
 * version plus the content's hash), so its URL can be cached as immutable; the previous photo of the sale
 * is deleted once the sale points at the new one.
 */
import { ApiError } from "../../lib/contract/errors.ts";
import {
  IMAGE_CACHE_CONTROL,
  IMAGE_TYPES,
  IMAGE_URL_PREFIX,
  MAX_IMAGE_BYTES,
  imageKeyOf,
  isImageType,
  sniffImageType,
} from "../../lib/contract/images.ts";

function tooLarge(): ApiError {
  return new ApiError("PAYLOAD_TOO_LARGE", "The image is over 2 MiB", { maxBytes: MAX_IMAGE_BYTES });
}

/**
 * Reads and checks an upload: the declared type first (415 for anything else), the declared length (413
 * before reading a byte), then the bytes themselves (413 past the limit however the body was sent, 415
 * when they are not an image of the declared type).
 */
export async function readImageUpload(
  request: Request,
): Promise<{ bytes: Uint8Array; type: keyof typeof IMAGE_TYPES }> {
  const declared = (request.headers.get("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  if (!isImageType(declared)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "Send the photo as image/png, image/jpeg or image/webp", {
      accepted: Object.keys(IMAGE_TYPES),
    });
  }
  const length = Number(request.headers.get("Content-Length") ?? "0");
  if (length > MAX_IMAGE_BYTES) throw tooLarge();
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > MAX_IMAGE_BYTES) throw tooLarge();
  const actual = sniffImageType(bytes);
  if (actual !== declared) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", `The body is not a ${declared} image`, {
      declared,
      detected: actual,
    });
  }
  return { bytes, type: declared };
}

/** Stores the photo and returns its URL: `/images/<saleId>/<version>.<ext>`. */
export async function storeImage(bucket: R2Bucket, saleId: string, bytes: Uint8Array, type: keyof typeof IMAGE_TYPES) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hash = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  // Time first, so a sale's keys list in upload order; the hash tells two uploads in one millisecond apart.
  const version = `${Date.now().toString(16)}${hash}`;
  const key = `${saleId}/${version}.${IMAGE_TYPES[type]}`;
  await bucket.put(key, bytes, { httpMetadata: { contentType: type, cacheControl: IMAGE_CACHE_CONTROL } });
  return IMAGE_URL_PREFIX + key;
}

/** Deletes the photo a URL names (nothing if it names none). */
export async function deleteImage(bucket: R2Bucket, url: string | null): Promise<void> {
  const key = url ? imageKeyOf(url) : null;
  if (key) await bucket.delete(key);
}

/** Deletes every photo stored for a sale (a deleted sale), a listing page (≤ 1,000 keys) at a time. */
export async function deleteSaleImages(bucket: R2Bucket, saleId: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  // Bounded: a sale has one photo, plus any left by uploads that failed half-way; 100 pages is far past that.
  for (let page = 0; page < 100; page++) {
    const listed = await bucket.list({ prefix: `${saleId}/`, cursor });
    if (listed.objects.length) await bucket.delete(listed.objects.map((o) => o.key));
    deleted += listed.objects.length;
    if (!listed.truncated) break;
    cursor = listed.cursor;
  }
  return deleted;
}
