/**
 * The API's description, served by the gateway: `GET /api/openapi.json` (OpenAPI 3.1, built from the route table
 * and the zod schemas, lib/contract/openapi.ts) and `GET /api/docs`, a readable reference rendered here from that
 * same document as plain HTML — no script, no CDN, nothing fetched by the browser but the page itself, so it works
 * offline and under the gateway's `script-src 'self'` policy. Both are built once per isolate, on first request.
 */
import { Hono } from "hono";
import { buildOpenApiDocument } from "../../lib/contract/openapi.ts";
import type { GatewayApp } from "./context.ts";

type Json = Record<string, unknown>;

let documentText: string | null = null;
let referenceHtml: string | null = null;

function openApiText(): string {
  return (documentText ??= JSON.stringify(buildOpenApiDocument()));
}

const escapeHtml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** Inline code spans of the document's prose (`…`) as <code>. */
const prose = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, "<code>$1</code>");

/** A schema as a short type: a link to its component, or its JSON. */
function schemaHtml(schema: Json | undefined): string {
  if (!schema) return "";
  const target = typeof schema.$ref === "string" ? schema.$ref : undefined;
  if (target) {
    const name = target.split("/").pop()!;
    return `<a href="#schema-${escapeHtml(name)}">${escapeHtml(name)}</a>`;
  }
  return `<code>${escapeHtml(JSON.stringify(schema))}</code>`;
}

function operationHtml(method: string, path: string, op: Json): string {
  const id = escapeHtml(String(op.operationId));
  const rows: string[] = [];
  for (const p of (op.parameters as Json[] | undefined) ?? []) {
    rows.push(
      `<tr><td><code>${escapeHtml(String(p.name))}</code></td><td>${escapeHtml(String(p.in))}${p.required ? ", required" : ""}</td>` +
        `<td>${schemaHtml(p.schema as Json)}${p.description ? ` — ${prose(String(p.description))}` : ""}</td></tr>`,
    );
  }
  const body = op.requestBody as { required?: boolean; content: Record<string, { schema: Json }> } | undefined;
  if (body) {
    rows.push(
      `<tr><td>body</td><td>application/json${body.required ? ", required" : ", optional"}</td>` +
        `<td>${schemaHtml(body.content["application/json"].schema)}</td></tr>`,
    );
  }
  const answers = Object.entries(op.responses as Record<string, Json>).map(([status, r]) => {
    const content = (r.content as Record<string, { schema: Json }> | undefined) ?? {};
    const types = Object.entries(content)
      .map(([type, c]) =>
        type === "application/json"
          ? schemaHtml(c.schema.allOf ? undefined : c.schema) || "error body"
          : escapeHtml(type),
      )
      .join(", ");
    return `<tr><td>${escapeHtml(status)}</td><td>${prose(String(r.description))}</td><td>${types}</td></tr>`;
  });
  const security = (op.security as Record<string, unknown>[] | undefined)?.map((s) => Object.keys(s)[0]).join(", ");
  return `<section class="op" id="${id}">
<h3><span class="method ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>
<p>${prose(String(op.summary))}${security ? ` <em>(${escapeHtml(security === "adminToken" ? "admin token" : "session cookie")})</em>` : ""}</p>
${op.description ? `<p>${prose(String(op.description))}</p>` : ""}
${rows.length > 0 ? `<table><thead><tr><th>input</th><th>where</th><th>schema</th></tr></thead><tbody>${rows.join("")}</tbody></table>` : ""}
<table><thead><tr><th>status</th><th>meaning</th><th>body</th></tr></thead><tbody>${answers.join("")}</tbody></table>
</section>`;
}

/** The whole reference page, from the document alone. */
export function renderReference(doc: ReturnType<typeof buildOpenApiDocument>): string {
  const info = doc.info as { title: string; description: string };
  const tags = doc.tags as { name: string; description: string }[];
  const schemas = (doc.components as { schemas: Record<string, Json> }).schemas;
  const byTag = tags.map((tag) => {
    const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) => (op.tags as string[])[0] === tag.name)
        .map(([method, op]) => operationHtml(method, path, op)),
    );
    return `<h2 id="tag-${escapeHtml(tag.name)}">${escapeHtml(tag.name)}</h2><p>${prose(tag.description)}</p>${ops.join("\n")}`;
  });
  const toc = tags.map((t) => `<a href="#tag-${escapeHtml(t.name)}">${escapeHtml(t.name)}</a>`).join(" · ");
  const schemaList = Object.entries(schemas)
    .map(
      ([name, s]) =>
        `<section id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3><pre>${escapeHtml(JSON.stringify(s, null, 2))}</pre></section>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1a1a1a}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f5f5f5;padding:.75rem;overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
td code{word-break:break-all}.op{border-top:1px solid #ccc;padding-top:.5rem}
.method{display:inline-block;min-width:4rem;font-weight:700}.get{color:#05612b}.post{color:#1a4fa0}.patch,.put{color:#8a4b00}.delete{color:#a01a1a}
</style></head><body>
<h1>${escapeHtml(info.title)}</h1>
<p>${prose(info.description)}</p>
<p>OpenAPI 3.1 document: <a href="/api/openapi.json">/api/openapi.json</a>. Sections: ${toc} · <a href="#schemas">schemas</a></p>
${byTag.join("\n")}
<h2 id="schemas">schemas</h2>
${schemaList}
</body></html>`;
}

export const apiReference = new Hono<GatewayApp>()
  .get("/openapi.json", (c) => c.body(openApiText(), 200, { "Content-Type": "application/json; charset=utf-8" }))
  .get("/docs", (c) => c.html((referenceHtml ??= renderReference(JSON.parse(openApiText())))));
