import preact from "@preact/preset-vite";
import tailwindcss from "@tailwindcss/vite";
import { defineConfig } from "vite";
import { serviceWorker } from "./sw/plugin.ts";

export default defineConfig(({ command }) => {
  // A build is always a production build: tests run `npm start` under Vitest, which sets NODE_ENV=test, and
  // Vite would otherwise emit development JSX and `import.meta.env.PROD === false` into web/dist.
  if (command === "build") process.env.NODE_ENV = "production";
  return {
    root: import.meta.dirname,
    plugins: [preact(), tailwindcss(), serviceWorker()],
    // Not emptied: several `npm start`s (test projects run in parallel) build into this folder while others
    // serve it, and an emptied folder is a moment of 404s. Builds of the same sources write the same hashed
    // names; files of older builds are pruned after writing (see sw/plugin.ts).
    // No modulepreload polyfill or preload helper: every browser that runs the app has modulepreload, and a
    // lazily loaded page (dashboard, orders, sign-in) is one chunk with no further imports to warm.
    build: { outDir: "dist", emptyOutDir: false, sourcemap: false, modulePreload: false },
  };
});
