import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // Workers code inside workerd: objects, gateway, admin, consumer, against a real PostgreSQL.
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./test/workers/wrangler.toml" },
            miniflare: { hyperdrives: { HYPERDRIVE: inject("databaseUrl") } },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          globalSetup: ["./test/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // Node: the stack as `npm start` runs it, driven over HTTP.
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          globalSetup: ["./test/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
