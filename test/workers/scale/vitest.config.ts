/**
 * `npm run bench:draw-scale` (draw-scale.bench.ts) and `npm run bench:queue-scale` (queue-scale.bench.ts): the workers project's setup — the test Worker with every
 * Worker of the system, a real PostgreSQL — for the scale runs, kept out of `npm test`.
 */
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./test/workers/wrangler.toml" },
      miniflare: {
        hyperdrives: { HYPERDRIVE: inject("databaseUrl") },
        // The knobs, as bindings (the test runs inside workerd, away from this process's environment).
        bindings: {
          SCALE_ENTRIES: process.env.ENTRIES ?? "200000",
          SCALE_ENTRY_SAMPLE: process.env.ENTRY_SAMPLE ?? "5000",
          SCALE_STOCK: process.env.DRAW_STOCK ?? process.env.STOCK ?? "1000",
          SCALE_TICKETS: process.env.TICKETS ?? "50000",
          SCALE_JOIN_SAMPLE: process.env.JOIN_SAMPLE ?? "5000",
        },
      },
    })),
  ],
  test: {
    include: ["test/workers/scale/*.bench.ts"],
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 1_800_000,
    hookTimeout: 60_000,
  },
});
