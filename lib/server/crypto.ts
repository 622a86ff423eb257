/**
 * The byte-level helpers the Workers' security code shares: constant-time comparison and base64 decoding.
 * Each is written once here (sessions, passwords and the admin token all use them).
 */

const encoder = new TextEncoder();

/**
 * Compares two byte strings in time that depends only on their length, never on where they differ: the
 * runtime's `crypto.subtle.timingSafeEqual` (a Workers extension), which throws on unequal lengths, so a length
 * mismatch is answered `false` first. Lengths are not secret where this is used (fixed-size digests and hashes).
 */
export function timingSafeEqual(a: ArrayBuffer | ArrayBufferView, b: ArrayBuffer | ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}

/**
 * Compares a presented secret with the expected one in constant time. Both are hashed first, so the
 * comparison is always of two 32-byte digests: neither the length of the secret nor the position of the
 * first differing byte shows in the timing.
 *
 * @example
 * if (!(await secretsMatch(given, env.ADMIN_TOKEN))) throw new ApiError("UNAUTHENTICATED", "…");
 */
export async function secretsMatch(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return timingSafeEqual(a, b);
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}

/**
 * Standard or URL-safe base64, padded or not → bytes: native `atob`, then a plain loop (no per-character
 * callback; sessions are decoded on every purchase). Throws on characters outside both alphabets.
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
