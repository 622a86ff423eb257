/**
 * Builds web/sw/sw.ts into dist/sw.js with the list of files to precache: every emitted JS/CSS file plus
 * the public files the shell shows (manifest, icons). The list and its hash go into the worker's source,
 * so a new build is a byte-different worker and the browser installs it (and drops the old cache).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import type { Plugin } from "vite";

const SW_SOURCE = path.join(import.meta.dirname, "sw.ts");
const PUBLIC_DIR = path.join(import.meta.dirname, "..", "public");
/** Public files the worker must not cache: itself and the assets layer's headers file. */
const NOT_PRECACHED = new Set(["sw.js", "_headers", "_redirects"]);

function listPublic(dir: string, prefix = ""): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(full).isDirectory()) return listPublic(full, rel);
    return NOT_PRECACHED.has(rel) ? [] : [rel];
  });
}

export function serviceWorker(): Plugin {
  let outDir = "";
  let written: string[] = [];
  return {
    name: "minishop-service-worker",
    apply: "build",
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    writeBundle(_options, bundle) {
      written = Object.keys(bundle);
      // Prune what earlier builds left in assets/ (the folder is not emptied before a build).
      const assets = path.join(outDir, "assets");
      if (!existsSync(assets)) return;
      for (const name of readdirSync(assets)) {
        if (!written.includes(`assets/${name}`)) rmSync(path.join(assets, name), { force: true });
      }
    },
    generateBundle(_options, bundle) {
      const emitted = Object.keys(bundle).filter((f) => /\.(js|css|svg|png|woff2?)$/.test(f) && !f.endsWith(".map"));
      const files = [...new Set([...emitted, ...listPublic(PUBLIC_DIR)])].sort();
      const source = readFileSync(SW_SOURCE, "utf8");
      const version = createHash("sha256").update(files.join("\n")).update(source).digest("hex").slice(0, 12);
      const js = ts.transpileModule(source, {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
      }).outputText;
      this.emitFile({
        type: "asset",
        fileName: "sw.js",
        source: `const __PRECACHE__ = ${JSON.stringify({ version, files })};\n${js.replace(/^export \{\};?\s*$/m, "")}`,
      });
    },
  };
}
