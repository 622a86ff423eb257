/** The merchant's per-shard bars (web/src/admin/ShardBars.tsx; docs/api.md "Hot sales": `stats.shards`). */
import { cleanup, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, test } from "vitest";
import type { SaleStats } from "../../lib/contract/schemas.ts";
import { ShardBars } from "../../web/src/admin/ShardBars.tsx";

const base: SaleStats = {
  attempts: 0,
  sold: 0,
  remaining: 0,
  rejected: { soldOut: 0, duplicate: 0, rateLimited: 0, notStarted: 0, ended: 0, paused: 0 },
  outboxDepth: 0,
  awaitingDatabase: 0,
};

afterEach(cleanup);

describe("ShardBars", () => {
  test("shows one bar per shard with its sold and stock, and the reserve", () => {
    const stats: SaleStats = {
      ...base,
      sold: 7,
      remaining: 13,
      reserve: 5,
      shards: [
        { index: 0, stock: 10, remaining: 4, sold: 6 },
        { index: 1, stock: 5, remaining: 4, sold: 1 },
      ],
    };
    const { container } = render(<ShardBars stats={stats} />);
    expect(screen.getByRole("heading").textContent).toBe("Shards (2)");
    expect(container.querySelectorAll("[data-shard]")).toHaveLength(2);
    expect(screen.getByRole("img", { name: "Shard 0: 6 sold, 4 left of 10" })).toBeTruthy();
    expect(screen.getByRole("img", { name: "Shard 1: 1 sold, 4 left of 5" })).toBeTruthy();
    expect(container.textContent).toContain("In reserve: 5");
  });

  test("renders nothing for a sale of one shard", () => {
    const { container } = render(
      <ShardBars stats={{ ...base, shards: [{ index: 0, stock: 3, remaining: 3, sold: 0 }] }} />,
    );
    expect(container.innerHTML).toBe("");
    const none = render(<ShardBars stats={base} />);
    expect(none.container.innerHTML).toBe("");
  });
});
