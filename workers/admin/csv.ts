/**
 * The orders CSV's columns (GET /admin/api/sales/:id/orders?format=csv), named for what each price is:
 * `unitPriceCents` (one unit) and `totalCents` (what the shopper pays: unit × quantity). The line total was
 * once a column named `priceCents`, which said neither.
 * `username` (the shopper's, empty if unknown) comes last, so the columns before it keep their places.
 */
export const CSV_COLUMNS = [
  "id",
  "saleId",
  "userId",
  "quantity",
  "unitPriceCents",
  "totalCents",
  "status",
  "createdAt",
  "expiresAt",
  "username",
] as const;

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled; lines end with CRLF. */
export function csvLine(values: (string | number)[]): string {
  return (
    values.map((v) => (/[",\n\r]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v))).join(",") +
    "\r\n"
  );
}
