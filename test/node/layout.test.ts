/**
 * The layout's rules (docs/design.md, "The house"), read from the import statements of every source file:
 * - the dependency direction: lib/contract <- lib/server <- durable-objects <- Workers (workers/*, queues/);
 * - the web app imports only the contract (it is what the browser may load);
 * - a Worker imports another Worker only for the seckill Worker's RPC type (workers/seckill/rpc.ts);
 * - no import cycle, type-only imports included.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SOURCES = ["lib", "durable-objects", "workers", "queues", "web/src", "db"];

function files(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [path.join(dir, e.name)] : [],
  );
}

const IMPORT = /(?:import|export)\s[^;]*?from\s+["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

const graph = new Map<string, string[]>();
for (const file of SOURCES.flatMap(files)) {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  graph.set(
    file,
    [...text.matchAll(IMPORT)].map((m) => path.normalize(path.join(path.dirname(file), m[1] ?? m[2]))),
  );
}

/** The layer a file belongs to; a file may import its own layer and those before it. */
function layer(file: string): number {
  if (file.startsWith("lib/contract/")) return 0;
  if (file.startsWith("lib/server/") || file.startsWith("db/")) return 1;
  if (file.startsWith("durable-objects/")) return 2;
  return 3;
}

/** The Worker (its room) a file of layer 3 belongs to. */
function room(file: string): string {
  return file.startsWith("queues/") ? "queues" : file.split("/").slice(0, 2).join("/");
}

describe("layout", () => {
  it("lib/ holds only contract/ and server/", () => {
    expect(files("lib").filter((f) => !/^lib\/(contract|server)\//.test(f))).toEqual([]);
  });

  it("imports point from Workers to objects to server to contract, never back", () => {
    const wrong = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => layer(t) > layer(file) && !file.startsWith("web/")).map((t) => `${file} -> ${t}`),
    );
    expect(wrong).toEqual([]);
  });

  it("the web app imports only the contract", () => {
    const wrong = [...graph]
      .filter(([file]) => file.startsWith("web/"))
      .flatMap(([file, targets]) =>
        targets.filter((t) => !t.startsWith("web/") && !t.startsWith("lib/contract/")).map((t) => `${file} -> ${t}`),
      );
    expect(wrong).toEqual([]);
  });

  it("a Worker imports another only for the seckill Worker's RPC type", () => {
    const wrong = [...graph]
      .filter(([file]) => layer(file) === 3 && !file.startsWith("web/"))
      .flatMap(([file, targets]) =>
        targets
          .filter((t) => layer(t) === 3 && room(t) !== room(file) && t !== "workers/seckill/rpc.ts")
          .map((t) => `${file} -> ${t}`),
      );
    expect(wrong).toEqual([]);
  });

  it("has no import cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(" -> "));
        return;
      }
      state.set(file, "open");
      for (const t of graph.get(file) ?? []) visit(t, [...trail, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
