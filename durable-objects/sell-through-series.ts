/**
 * The sell-through series of one sale, kept in its SaleItem object's SQLite so the merchant's chart shows the
 * whole sale after a reload (docs/api.md "Dashboard series"). The object samples its own counters — units
 * sold (held + paid), purchase attempts, rejections — from its alarm, which runs within 50 ms of a purchase
 * and within 2 s of a rejection, and here each sample becomes a point.
 *
 * Bounds: at most one stored point per second after the first (a later sample in the same second replaces it), and at most
 * `SERIES_MAX_POINTS` points: past that, every other point of the older half is dropped. The values are
 * cumulative, so a dropped point loses resolution, never counts — a rate between any two kept points is
 * still exact over their interval. A sale of an hour keeps its last ~6 minutes per second and the rest
 * coarser.
 */
import type { SeriesPoint } from "../lib/contract/schemas.ts";

export const SERIES_MAX_POINTS = 720;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS series (
    at INTEGER PRIMARY KEY,
    attempts INTEGER NOT NULL,
    sold INTEGER NOT NULL,
    rejected INTEGER NOT NULL
  );
`;

type Values = Omit<SeriesPoint, "t">;

export class SellThroughSeries {
  private last: SeriesPoint | null = null;
  private count = 0;

  constructor(private readonly sql: SqlStorage) {
    this.load();
  }

  /** Creates the table if needed and reads the last point and the count (after a restart or a wipe). */
  load(): void {
    this.sql.exec(SCHEMA);
    const row = this.sql
      .exec<{ at: number; attempts: number; sold: number; rejected: number }>(
        "SELECT at, attempts, sold, rejected FROM series ORDER BY at DESC LIMIT 1",
      )
      .toArray()[0];
    this.last = row ? { t: row.at, attempts: row.attempts, sold: row.sold, rejected: row.rejected } : null;
    this.count = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM series").one().n;
  }

  /** Records the counters at `now` if they moved since the last point: one row write at most. */
  record(now: number, v: Values): void {
    const last = this.last;
    if (last && last.attempts === v.attempts && last.sold === v.sold && last.rejected === v.rejected) return;
    // A later sample in the same second replaces the last point — unless that is the first point, the
    // sale's zero at creation, which the chart starts from.
    if (last !== null && this.count > 1 && Math.floor(last.t / 1000) === Math.floor(now / 1000) && now >= last.t) {
      this.sql.exec(
        "UPDATE series SET at = ?, attempts = ?, sold = ?, rejected = ? WHERE at = ?",
        now,
        v.attempts,
        v.sold,
        v.rejected,
        last.t,
      );
    } else {
      if (last !== null && now <= last.t) return; // the clock went back: keep the series in time order
      this.sql.exec(
        "INSERT INTO series (at, attempts, sold, rejected) VALUES (?, ?, ?, ?)",
        now,
        v.attempts,
        v.sold,
        v.rejected,
      );
      this.count++;
    }
    this.last = { t: now, ...v };
    if (this.count > SERIES_MAX_POINTS) this.thin();
  }

  /** Drops every other point of the older half (the first point stays, so the series still starts at 0). */
  private thin(): void {
    const older = this.sql
      .exec<{ at: number }>("SELECT at FROM series ORDER BY at LIMIT ?", Math.floor(this.count / 2))
      .toArray()
      .map((r) => r.at);
    const drop = older.filter((_, i) => i % 2 === 1);
    this.sql.exec("DELETE FROM series WHERE at IN (SELECT value FROM json_each(?))", JSON.stringify(drop));
    this.count -= drop.length;
    // The bound holds right after the code that keeps it.
    if (this.count > SERIES_MAX_POINTS) throw new Error(`series holds ${this.count} points, over ${SERIES_MAX_POINTS}`);
  }

  /** Every point, oldest first, with the values at `now` appended when they moved since the last point. */
  points(now: number, current: Values): SeriesPoint[] {
    const rows = this.sql
      .exec<{ at: number; attempts: number; sold: number; rejected: number }>(
        "SELECT at, attempts, sold, rejected FROM series ORDER BY at",
      )
      .toArray()
      .map((r) => ({ t: r.at, attempts: r.attempts, sold: r.sold, rejected: r.rejected }));
    const last = rows[rows.length - 1];
    if (
      !last ||
      last.attempts !== current.attempts ||
      last.sold !== current.sold ||
      last.rejected !== current.rejected
    ) {
      if (!last || now > last.t) rows.push({ t: now, ...current });
    }
    return rows;
  }
}
