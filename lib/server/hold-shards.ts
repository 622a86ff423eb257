/**
 * Where a shopper's unpaid holds are counted (docs/design.md "Holds with a price"): one of `HOLD_SHARDS`
 * AccountGuard objects named `holds:<n>`, n from a hash of the user id. Shared by the seckill Worker and the
 * gateway (which binds the namespace directly for the purchase's hot path), so both always name the same object.
 */

/** How many `holds:` objects share the shoppers (each up to ~1,000 purchases a second). */
export const HOLD_SHARDS = 32;

/** The `holds:` shard of a shopper: FNV-1a of the id. */
export function holdShard(userId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) h = Math.imul(h ^ userId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % HOLD_SHARDS;
}

/** The AccountGuard object name that counts `userId`'s holds. */
export function holdsObjectName(userId: string): string {
  return `holds:${holdShard(userId)}`;
}
