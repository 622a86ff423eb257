/**
 * Counts by key (answers by status, errors by kind, shoppers by behaviour): the one shape every load script and
 * bench check reports its breakdowns in, and the one way they count into it.
 */

/** How many of each key. */
export type Tally = Record<string, number>;

/** Counts one more `key` in `tally`. */
export function count(tally: Tally, key: string | number): void {
  tally[key] = (tally[key] ?? 0) + 1;
}
