import preact from "@preact/preset-vite";
import tailwindcss from "@tailwindcss/vite";
import { defineConfig } from "vite";
import { serviceWorker } from "./sw/plugin.ts";

export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact(), tailwindcss(), serviceWorker()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
});
