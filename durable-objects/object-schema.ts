/**
 * "Schema only on initialise; not initialised before": the one mechanism of every object a name from outside can
 * reach — SaleItem, SaleDraw, DrawEntries, SaleQueue (docs/design.md, "SaleItem invariants", S7, which the draw objects keep
 * too). A request naming an object that was never initialised (an unknown sale, a made-up draw) must create no
 * storage: the object's constructor creates nothing, only its initialising call creates the schema, and every
 * other call first asks `exists`, a read of `sqlite_master`, and answers "not initialised" (NOT_FOUND, null,
 * nothing) when it is false.
 *
 * @example
 * const DRAW_SCHEMA = new ObjectSchema("draw", "CREATE TABLE IF NOT EXISTS draw (…); …");
 * if (!DRAW_SCHEMA.exists(sql)) return null; // never initialised: nothing read, nothing written
 */
export class ObjectSchema {
  /**
   * @param marker the table whose presence means "initialised" (created by `ddl`)
   * @param ddl the object's whole schema, idempotent (`CREATE … IF NOT EXISTS`)
   */
  constructor(
    readonly marker: string,
    readonly ddl: string,
  ) {}

  /** Whether the object was ever initialised: a read only, so an empty database stays empty. */
  exists(sql: SqlStorage): boolean {
    return (
      sql
        .exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?", this.marker)
        .one().n > 0
    );
  }

  /** Creates the schema (idempotent). Only the object's initialising call may call this. */
  create(sql: SqlStorage): void {
    sql.exec(this.ddl);
  }
}

/**
 * An object's config as its row stores it: the `config` column (JSON text) of the one row of its marker table —
 * how SaleItem (`sale`), SaleDraw (`draw`) and DrawEntries (`shard`) all keep theirs. The one place it is parsed.
 */
export function parseConfig<T>(row: { config: string }): T {
  return JSON.parse(row.config) as T;
}

/** The `config` column's text for `config` (the inverse of `parseConfig`). */
export function configText(config: object): string {
  return JSON.stringify(config);
}
