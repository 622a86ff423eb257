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
        // Pure modules in Node (no Workers runtime): hot-sale routing, admission, stock moves, and the simulation.
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
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
      {
        // The web app's components in a DOM (happy-dom), fetch mocked per test.
        oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
        test: {
          name: "web",
          include: ["test/web/**/*.test.tsx"],
          environment: "happy-dom",
          testTimeout: 10_000,
        },
      },
      {
        // Real headless Chromium (playwright-core, /usr/bin/chromium) against the stack as `npm start` runs it.
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          globalSetup: ["./test/browser/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
