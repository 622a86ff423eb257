import { useEffect, useState } from "preact/hooks";
import type { Sale } from "../../lib/schemas.ts";

export function App() {
  const [sales, setSales] = useState<Sale[] | null>(null);
  useEffect(() => {
    fetch("/api/sales")
      .then((r) => r.json() as Promise<{ sales: Sale[] }>)
      .then((body) => setSales(body.sales))
      .catch(() => setSales([]));
  }, []);
  return (
    <main>
      <h1>MiniShop Edge</h1>
      {sales === null ? <p>Loading…</p> : (
        <ul>
          {sales.map((s) => (
            <li key={s.id}>
              {s.title} — {s.remaining}/{s.stock} — {s.status}
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
