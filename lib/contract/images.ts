/**
 * Product photos (docs/api.md "Product image"): what may be uploaded, how its type is told from its bytes,
 * and where it lives. The admin Worker writes them to R2 (workers/admin/images.ts); the gateway serves them
 * (workers/gateway/images.ts). One photo per sale; each upload gets a URL of its own, so a URL's bytes never
 * change and it can be cached for a year.
 */

/** The one exception to the 16 KiB body limit: PUT /admin/api/sales/:id/image takes up to this. */
export const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

/** Accepted content types and the file extension each is stored under. */
export const IMAGE_TYPES = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp" } as const;
export type ImageType = keyof typeof IMAGE_TYPES;

export const IMAGE_CACHE_CONTROL = "public, max-age=31536000, immutable";

/** Where photos are served: `/images/<saleId>/<version>.<ext>`; the R2 key is the part after the prefix. */
export const IMAGE_URL_PREFIX = "/images/";

/** The upload route, as the gateway's body limit must recognise it before any routing. */
export function isImageUpload(method: string, path: string): boolean {
  return method === "PUT" && /^\/admin\/api\/sales\/[^/]+\/image$/.test(path);
}

export function isImageType(value: string): value is ImageType {
  return Object.hasOwn(IMAGE_TYPES, value);
}

/**
 * The image type the bytes say they are (their signature), or null: PNG `89 50 4E 47 0D 0A 1A 0A`, JPEG
 * `FF D8 FF`, WebP `RIFF····WEBP`. Only the header is read; a damaged body past it is the browser's problem,
 * never the server's (nothing here decodes the image).
 */
export function sniffImageType(bytes: Uint8Array): ImageType | null {
  const starts = (sig: number[], at = 0) => bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (starts([0xff, 0xd8, 0xff])) return "image/jpeg";
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return "image/webp";
  return null;
}

/** `<saleId>/<version>.<ext>`: lower-case hex version, one of the three extensions. */
const KEY_PATTERN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/[0-9a-z]{1,64}\.(png|jpg|webp)$/;

/** The R2 key of a photo URL (or of the path it is served at), or null when it is not one. */
export function imageKeyOf(url: string): string | null {
  if (!url.startsWith(IMAGE_URL_PREFIX)) return null;
  const key = url.slice(IMAGE_URL_PREFIX.length);
  return KEY_PATTERN.test(key) ? key : null;
}
