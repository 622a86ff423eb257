#!/usr/bin/env python3
"""
The layout sweep of issue 18, run ONCE on main after every branch of the round has landed (it moves files and
rewrites imports all over the tree, so running it while others still edit those files would only make conflicts).
It deletes itself: the sweep's commit is the script's output, reviewed like any change.

    python3 scripts/layout-sweep.py          # then: npm run typecheck && npm test, and commit

What it does (docs/design.md, "The house"):
1. lib/ splits into lib/contract/ (what the browser may import: schemas, errors, ids, plus the answers, the route
   table and the OpenAPI builder already there) and lib/server/ (Worker-only: env helpers, database, histograms, the
   Durable Object error flags, plus http, timeout and crypto already there).
2. Each Worker's bindings move beside it: workers/gateway/env.ts, workers/seckill/env.ts (and rpc.ts: the seckill
   Worker's RPC type, the one thing other Workers import from it), workers/admin/env.ts, queues/env.ts; the objects
   get their own durable-objects/env.ts (what they read: ORDERS). This breaks the type cycle lib/env.ts ->
   objects/seckill -> lib/env.ts.
3. Every relative import in the tree is recomputed for the new places, and named imports from a split module are
   split by symbol. The gateway's validate.ts shim and lib/db.ts's withTimeout re-export go.
4. Mentions of the old paths in comments, docs and tsconfig includes follow.
5. test/node/layout.test.ts is written: the dependency direction (contract <- server <- objects <- Workers, the web
   app on the contract only, a Worker importing another only for the seckill Worker's RPC type) and no import cycle.
6. `format:check` joins `npm test`, and Prettier formats every file once.

Idempotent enough to re-run on a tree where it has run (moves of missing files are skipped), but meant to run once.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
os.chdir(ROOT)


def git(*args):
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def read(p):
    with open(p, encoding="utf8") as f:
        return f.read()


def write(p, s):
    os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
    with open(p, "w", encoding="utf8") as f:
        f.write(s)


# ---------------------------------------------------------------- 1. what moves where

MOVES = {
    "lib/schemas.ts": "lib/contract/schemas.ts",
    "lib/errors.ts": "lib/contract/errors.ts",
    "lib/ids.ts": "lib/contract/ids.ts",
    "lib/histogram.ts": "lib/server/histogram.ts",
    "lib/db.ts": "lib/server/db.ts",
    "lib/env.ts": "lib/server/env.ts",
}

# Named imports from these modules go to other modules, symbol by symbol (default: the module's new place).
SPLIT_SYMBOLS = {
    "lib/env.ts": {
        "GatewayEnv": "workers/gateway/env.ts",
        "AdminEnv": "workers/admin/env.ts",
        "ConsumerEnv": "queues/env.ts",
        "SeckillEnv": "workers/seckill/env.ts",
        "SeckillRpc": "workers/seckill/rpc.ts",
    },
    "lib/errors.ts": {
        "isOverloaded": "lib/server/object-errors.ts",
        "isRetryable": "lib/server/object-errors.ts",
    },
    "lib/db.ts": {"withTimeout": "lib/server/timeout.ts"},
    "workers/gateway/validate.ts": {
        "validate": "lib/server/http.ts",
        "validationFailed": "lib/server/http.ts",
    },
}
DELETED = {"workers/gateway/validate.ts"}

TS_FILES = [
    f
    for f in git("ls-files", "*.ts", "*.tsx").split()
    if not f.startswith("node_modules/") and not f.startswith("types/") or f == "types/env-consistency.ts"
]


# ---------------------------------------------------------------- 2. the env split (content)


def block(text, start_pattern):
    """The declaration matching `start_pattern` with the doc comment above it, and the text without it."""
    m = re.search(start_pattern, text, re.M)
    if not m:
        return None, text
    start = m.start()
    before = text[:start]
    cm = re.search(r"(/\*\*(?:(?!\*/).)*\*/\n)$", before, re.S)
    if cm:
        start = cm.start()
    end = re.compile(r"^\};?\n", re.M).search(text, m.end()).end()
    return text[start:end], text[:start] + text[end:]


def split_env():
    if not os.path.exists("lib/env.ts"):
        return
    text = read("lib/env.ts")
    decls = {}
    for name, pattern in [
        ("SeckillEnv", r"^export interface SeckillEnv\b"),
        ("SeckillRpc", r"^export type SeckillRpc\b"),
        ("GatewayEnv", r"^export interface GatewayEnv\b"),
        ("AdminEnv", r"^export interface AdminEnv\b"),
        ("ConsumerEnv", r"^export interface ConsumerEnv\b"),
    ]:
        decl, text = block(text, pattern)
        if decl is None:
            sys.exit(f"layout-sweep: {name} not found in lib/env.ts; update the script")
        decls[name] = decl.replace("extends Common", "extends CommonEnv")
    # What stays: the helpers. `Common` is exported as CommonEnv for the Workers' env files.
    text = re.sub(r"^import type \{ SaleCatalog \}.*\n", "", text, flags=re.M)
    text = re.sub(r"^import type \{ SaleItem \}.*\n", "", text, flags=re.M)
    text = re.sub(r"^import type \{ OrderMessage \}.*\n", "", text, flags=re.M)
    text = re.sub(r"^import type \{ WorkerEntrypoint \}.*\n", "", text, flags=re.M)
    text = re.sub(r"^import type SeckillService.*\n", "", text, flags=re.M)
    text = text.replace("interface Common {", "export interface CommonEnv {").replace("env: Common", "env: CommonEnv")
    text = text.replace("{ env: Common }", "{ env: CommonEnv }")
    text = text.replace(
        " * The bindings of each Worker, as their wrangler.toml files declare them.\n",
        " * What every Worker's bindings share, and the helpers that read them (secrets, production). Each Worker's own\n"
        " * bindings are declared beside it (workers/<name>/env.ts, queues/env.ts), as its wrangler.toml declares them.\n",
    )
    write("lib/env.ts", re.sub(r"\n{3,}", "\n\n", text))

    header = "/**\n * {what}, as {config} declares them (types/env-consistency.ts checks the two agree).\n */\n"
    write(
        "durable-objects/env.ts",
        "/**\n * What the Durable Objects read from their host's bindings (the seckill Worker's, workers/seckill/env.ts):\n"
        " * declared here, not imported from the Worker, so objects and Worker do not import each other.\n */\n"
        'import type { CommonEnv } from "../lib/env.ts";\nimport type { OrderMessage } from "../lib/schemas.ts";\n\n'
        "export interface ObjectEnv extends CommonEnv {\n  ORDERS: Queue<OrderMessage>;\n}\n",
    )
    write(
        "workers/seckill/env.ts",
        header.format(what="The seckill Worker's bindings", config="workers/seckill/wrangler.toml")
        + 'import type { SaleCatalog } from "../../durable-objects/sale-catalog.ts";\n'
        'import type { ObjectEnv } from "../../durable-objects/env.ts";\n'
        'import type { SaleItem } from "../../durable-objects/sale-item.ts";\n\n'
        + decls["SeckillEnv"].replace("extends CommonEnv", "extends ObjectEnv").replace(
            "  ORDERS: Queue<OrderMessage>;\n", ""
        ),
    )
    write(
        "workers/seckill/rpc.ts",
        "/**\n * The seckill Worker as the other Workers call it: the one thing they import from it (with the objects' RPC\n"
        " * types), so no Worker reaches into another's internals.\n */\n"
        'import type { WorkerEntrypoint } from "cloudflare:workers";\nimport type SeckillService from "./index.ts";\n\n'
        + decls["SeckillRpc"],
    )
    write(
        "workers/gateway/env.ts",
        header.format(what="The gateway Worker's bindings", config="the root wrangler.toml")
        + 'import type { SaleItem } from "../../durable-objects/sale-item.ts";\n'
        'import type { CommonEnv } from "../../lib/env.ts";\nimport type { SeckillRpc } from "../seckill/rpc.ts";\n\n'
        + decls["GatewayEnv"],
    )
    write(
        "workers/admin/env.ts",
        header.format(what="The admin Worker's bindings", config="workers/admin/wrangler.toml")
        + 'import type { CommonEnv } from "../../lib/env.ts";\nimport type { SeckillRpc } from "../seckill/rpc.ts";\n\n'
        + decls["AdminEnv"],
    )
    write(
        "queues/env.ts",
        header.format(what="The order consumer's bindings", config="queues/wrangler.toml")
        + 'import type { CommonEnv } from "../lib/env.ts";\nimport type { SeckillRpc } from "../workers/seckill/rpc.ts";\n\n'
        + decls["ConsumerEnv"],
    )
    TS_FILES.extend(
        ["durable-objects/env.ts", "workers/seckill/env.ts", "workers/seckill/rpc.ts", "workers/gateway/env.ts",
         "workers/admin/env.ts", "queues/env.ts"]
    )


def split_errors():
    """isOverloaded / isRetryable: Durable Object call failures, Worker-only, to lib/server/object-errors.ts."""
    if not os.path.exists("lib/errors.ts"):
        return
    text = read("lib/errors.ts")
    out = []
    for name in ["isOverloaded", "isRetryable"]:
        decl, text = block(text, rf"^export function {name}\b")
        if decl:
            out.append(decl)
    write("lib/errors.ts", re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n")
    write(
        "lib/server/object-errors.ts",
        "/**\n * The flags the runtime puts on a failed Durable Object call (`.overloaded`, `.retryable`), read in one place.\n */\n\n"
        + "\n".join(out),
    )
    TS_FILES.append("lib/server/object-errors.ts")


def drop_shims():
    if os.path.exists("lib/db.ts"):
        text = read("lib/db.ts")
        text = re.sub(r"/\*\* The timeout race lives in lib/server/timeout\.ts.*?\n.*?export \{ withTimeout \}[^\n]*\n\n?", "", text, flags=re.S)
        write("lib/db.ts", text)


# ---------------------------------------------------------------- 3. imports

IMPORT_RE = re.compile(
    r"""(?P<head>(?:import|export)\s+(?P<type>type\s+)?(?P<what>\{[^}]*\}|\*\s+as\s+\w+|\*|\w+(?:\s*,\s*\{[^}]*\})?)\s+from\s+)(?P<q>["'])(?P<spec>\.{1,2}/[^"']+)(?P=q)(?P<semi>;?)""",
    re.S,
)
DYNAMIC_RE = re.compile(r"""(?P<head>import\(\s*)(?P<q>["'])(?P<spec>\.{1,2}/[^"']+)(?P=q)""")


def resolve(from_file, spec):
    return os.path.normpath(os.path.join(os.path.dirname(from_file), spec))


def relative(from_file, target):
    rel = os.path.relpath(target, os.path.dirname(from_file))
    return rel if rel.startswith(".") else "./" + rel


def new_place(path):
    return MOVES.get(path, path)


def rewrite_imports(old_file, text):
    new_file = new_place(old_file)
    in_objects = old_file.startswith("durable-objects/")

    def named(m):
        target = resolve(old_file, m.group("spec"))
        split = SPLIT_SYMBOLS.get(target)
        what = m.group("what")
        q = m.group("q")
        if split and what.startswith("{"):
            groups = {}
            for item in [x.strip() for x in what[1:-1].split(",") if x.strip()]:
                bare = re.sub(r"^type\s+", "", item).split(" as ")[0].strip()
                dest = split.get(bare, new_place(target))
                if bare == "SeckillEnv" and in_objects:
                    dest = "durable-objects/env.ts"
                    item = item.replace("SeckillEnv", "ObjectEnv")
                groups.setdefault(dest, []).append(item)
            lines = []
            for dest, items in groups.items():
                if dest == new_file:
                    continue
                lines.append(
                    f"{m.group('head').split('{')[0].replace(m.group('type') or '', '')}"
                    f"{m.group('type') or ''}{{ {', '.join(items)} }} from {q}{relative(new_file, dest)}{q}{m.group('semi')}"
                )
            return "\n".join(lines)
        dest = new_place(target)
        return f"{m.group('head')}{q}{relative(new_file, dest)}{q}{m.group('semi')}"

    def dynamic(m):
        dest = new_place(resolve(old_file, m.group("spec")))
        return f"{m.group('head')}{m.group('q')}{relative(new_file, dest)}{m.group('q')}"

    text = IMPORT_RE.sub(named, text)
    text = DYNAMIC_RE.sub(dynamic, text)
    if in_objects:
        text = re.sub(r"\bSeckillEnv\b", "ObjectEnv", text)
    return text


# ---------------------------------------------------------------- 4. mentions of the old paths

# Mentions that mean "the hand-written binding interfaces", which now sit beside each Worker.
ENV_MENTIONS = {
    "scripts/check-deploy.ts": [
        ("lib/env.ts's hand-written interfaces", "the Workers' hand-written binding interfaces (workers/<name>/env.ts, queues/env.ts)"),
        ("`lib/env.ts disagrees with", "`the Workers' env.ts files disagree with"),
        ('"check:deploy: lib/env.ts matches', '"check:deploy: the Workers\' env.ts files match'),
    ],
    "scripts/lib/workers.ts": [("checks it against lib/env.ts", "checks it against the Worker's env.ts")],
    "types/env-consistency.ts": [
        ("the hand-written binding interfaces of lib/env.ts", "the hand-written binding interfaces beside each Worker (workers/<name>/env.ts, queues/env.ts)"),
        ("which lib/env.ts spells out", "which workers/seckill/rpc.ts spells out"),
    ],
    "docs/design.md": [
        (
            "- `shared/` code that both Workers and web use (zod schemas, types) lives in one package folder, e.g. `lib/` — never copied.",
            "- `lib/contract/` — what the browser may import: the zod schemas, error codes and body, ids, the answers, the route\n"
            "  table and the OpenAPI builder; never copied. `lib/server/` — Worker-only code shared by the Workers: env helpers,\n"
            "  database, the error path and validator, timeout, crypto, histograms. Each Worker's bindings sit beside it\n"
            "  (`env.ts`); other Workers import only the seckill Worker's RPC type (`workers/seckill/rpc.ts`).",
        ),
    ],
    "README.md": [
        (
            "| `lib/` | code shared by Workers and web app: zod schemas, error body, ids, env, database |",
            "| `lib/contract/` | what the browser may import: zod schemas, error codes and body, ids, the answers, the route table and the OpenAPI builder |\n"
            "| `lib/server/` | Worker-only: shared env helpers, database, the error path and validator, timeout, crypto, histograms |",
        ),
    ],
}

MENTIONS = [
    ("lib/schemas.ts", "lib/contract/schemas.ts"),
    ("lib/errors.ts", "lib/contract/errors.ts"),
    ("lib/ids.ts", "lib/contract/ids.ts"),
    ("lib/histogram.ts", "lib/server/histogram.ts"),
    ("lib/db.ts", "lib/server/db.ts"),
    ("lib/env.ts", "lib/server/env.ts"),
    ("workers/gateway/validate.ts", "lib/server/http.ts"),
]


def rewrite_mentions(text):
    for old, new in MENTIONS:
        text = re.sub(rf"(?<![\w/.-]){re.escape(old)}", new, text)
        text = re.sub(rf"(?<=\.\./){re.escape(old)}", new, text)
    return text


LAYOUT_TEST = r'''/**
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
  graph.set(file, [...text.matchAll(IMPORT)].map((m) => path.normalize(path.join(path.dirname(file), m[1] ?? m[2]))));
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
      .flatMap(([file, targets]) => targets.filter((t) => !t.startsWith("web/") && !t.startsWith("lib/contract/")).map((t) => `${file} -> ${t}`));
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
'''


def main():
    if not os.path.exists("lib/env.ts") and os.path.exists("lib/server/env.ts"):
        sys.exit("layout-sweep: already applied")
    # Content splits first, while the files are at their old places (imports inside them are rewritten below).
    split_env()
    split_errors()
    drop_shims()

    # Imports, computed from old places to new ones, then the moves.
    for f in sorted(set(TS_FILES)):
        if not os.path.exists(f) or f in DELETED:
            continue
        text = read(f)
        new = rewrite_imports(f, text)
        if new != text:
            write(f, new)
    for f in DELETED:
        if os.path.exists(f):
            git("rm", "-q", f)
    for old, new in MOVES.items():
        if os.path.exists(old):
            os.makedirs(os.path.dirname(new), exist_ok=True)
            git("add", old)
            git("mv", old, new)

    # Mentions in comments, docs and configs.
    for f in git("ls-files").split():
        if f.startswith("node_modules/") or not re.search(r"\.(ts|tsx|md|json|toml|js)$", f) or f == "package-lock.json":
            continue
        if f == "scripts/layout-sweep.py" or not os.path.exists(f):
            continue
        text = read(f)
        new = text
        for old, replacement in ENV_MENTIONS.get(f, []):
            new = new.replace(old, replacement)
        new = rewrite_mentions(new)
        if f in ("web/tsconfig.json", "tsconfig.node.json"):
            new = new.replace('"../lib/contract/schemas.ts", "../lib/contract/errors.ts"', '"../lib/contract"')
            new = new.replace('"lib/contract/schemas.ts", "lib/contract/errors.ts"', '"lib/contract"')
        if new != text:
            write(f, new)

    write("test/node/layout.test.ts", LAYOUT_TEST)

    pkg = json.loads(read("package.json"))
    test = pkg["scripts"]["test"]
    if "format:check" not in test:
        pkg["scripts"]["test"] = test.replace("npm run lint", "npm run lint && npm run format:check")
    write("package.json", json.dumps(pkg, indent=2, ensure_ascii=False) + "\n")

    os.remove(__file__)
    subprocess.run(["git", "add", "-A", "--", ".", ":!node_modules"], check=True)
    subprocess.run([os.path.join(ROOT, "node_modules/.bin/prettier"), "--write", ".", "--log-level", "warn"], check=True)
    subprocess.run(["git", "add", "-A", "--", ".", ":!node_modules"], check=True)
    print("layout-sweep: done. Next: npm run typecheck, npm run types:generate if the env types moved, npm test, commit.")


if __name__ == "__main__":
    main()
