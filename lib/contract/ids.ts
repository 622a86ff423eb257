/**
 * Ids are opaque strings to clients. Users and sales are UUIDs. An order id carries its sale's id
 * (32 hex) followed by a per-sale sequence number (8 hex) and 8 random hex digits, so any Worker can
 * route an order to its sale's Durable Object without a lookup, ids sort by creation within a sale
 * (keyset pagination), and a sequence number is never reused.
 */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ORDER_ID_RE = /^[0-9a-f]{48}$/;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

export function isOrderId(value: string): boolean {
  return ORDER_ID_RE.test(value);
}

export function saleIdOfOrder(orderId: string): string {
  const h = orderId.slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function makeOrderId(saleId: string, sequence: number): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0];
  return saleId.replaceAll("-", "") + sequence.toString(16).padStart(8, "0") + random.toString(16).padStart(8, "0");
}
