/**
 * The sale's stock accounting, in one place (docs/design.md, "SaleItem invariants", S1–S3). Every unit is in
 * exactly one of three places:
 *   - `available`: offered to the next purchase;
 *   - `reserved`:  taken by purchases checked and reserved in memory whose group-commit round is not written yet;
 *   - held or paid by an order written to storage.
 * `durableRemaining` = available + reserved is what storage's `sale.remaining` holds, always: a round writes
 * its orders and subtracts their units in one transaction, an expiry or a cancel adds them back in one
 * transaction, and nothing else writes `remaining`. So storage never counts a reservation that may still fail,
 * and a failed round only gives back `reserved` (memory), never touching storage.
 *
 * In a sharded sale (docs/design.md, "Hot sales") a shard's `stock` is its balance — units the coordinator
 * granted it less units it gave back — and only `transfer` moves it while the sale runs (a grant or a release,
 * written with the shard's stock snapshot in one transaction, shard.ts); a merchant's change before the start
 * moves it through `restock`. Nothing else changes `stock`.
 */
import { invariant } from "./invariants.ts";

export class StockLedger {
  private reservedUnits = 0;

  constructor(
    private stockUnits: number,
    private durable: number,
  ) {
    this.check("load");
  }

  get stock(): number {
    return this.stockUnits;
  }
  /** What the next purchase may take. */
  get available(): number {
    return this.durable - this.reservedUnits;
  }
  /** Reserved in memory, not yet written. */
  get reserved(): number {
    return this.reservedUnits;
  }
  /** What storage's `sale.remaining` holds. */
  get durableRemaining(): number {
    return this.durable;
  }

  /** A purchase checked `quantity ≤ available` in the same synchronous block. */
  reserve(quantity: number): void {
    invariant(quantity > 0 && quantity <= this.available, "S2 reserve within available", () => ({
      quantity,
      available: this.available,
    }));
    this.reservedUnits += quantity;
    this.check("reserve");
  }

  /** A round's orders were written, with `remaining` lowered by the same units in the same transaction. */
  written(quantity: number): void {
    this.reservedUnits -= quantity;
    this.durable -= quantity;
    this.check("written");
  }

  /** A round failed to write: nothing of it is in storage; its units are offered again. */
  rolledBack(quantity: number): void {
    this.reservedUnits -= quantity;
    this.check("rolled back");
  }

  /** An expiry or a cancel was written, with `remaining` raised by the same units in the same transaction. */
  released(quantity: number): void {
    this.durable += quantity;
    this.check("released");
  }

  /** The merchant changed the stock before the start (no purchase can be reserved then). */
  restock(stock: number): void {
    invariant(this.reservedUnits === 0, "S3 restock with nothing reserved", () => ({ reserved: this.reservedUnits }));
    this.durable = stock - (this.stockUnits - this.durable);
    this.stockUnits = stock;
    this.check("restock");
  }

  /**
   * A sharded sale moved `delta` units into (> 0, a grant) or out of (< 0, a release) this shard: its balance and
   * what it may sell move together. A release never takes units that are reserved or held.
   */
  transfer(delta: number): void {
    invariant(Number.isInteger(delta) && this.available + delta >= 0, "S2 transfer within available", () => ({
      delta,
      available: this.available,
    }));
    this.stockUnits += delta;
    this.durable += delta;
    this.check("transfer");
  }

  /** S1 from both sides: memory against storage's own figures. */
  assertMatchesStorage(storedRemaining: number, storedHolding: number, where: string): void {
    invariant(
      storedHolding + storedRemaining === this.stockUnits,
      "S1 storage: held + paid + remaining = stock",
      () => ({
        where,
        storedHolding,
        storedRemaining,
        stock: this.stockUnits,
      }),
    );
    invariant(storedRemaining === this.durable, "S1 memory remaining = storage remaining", () => ({
      where,
      storedRemaining,
      memory: this.durable,
      reserved: this.reservedUnits,
    }));
  }

  private check(where: string): void {
    invariant(
      this.reservedUnits >= 0 && this.available >= 0 && this.durable <= this.stockUnits,
      "S2 0 ≤ reserved, 0 ≤ available, remaining ≤ stock",
      () => ({
        where,
        reserved: this.reservedUnits,
        available: this.available,
        remaining: this.durable,
        stock: this.stockUnits,
      }),
    );
  }
}
