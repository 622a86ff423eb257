/**
 * The OpenAPI document (lib/contract/openapi.ts) is a valid OpenAPI 3.1 description: checked against the
 * specification's own JSON Schema (with the 2020-12 schema dialect for every schema inside) by
 * @seriousme/openapi-schema-validator, and every `$ref` names a component that exists. Runs in Node: the
 * validator compiles schemas with `new Function`, which workerd forbids. That the document covers every route
 * and matches real answers is test/workers/openapi.test.ts.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../../lib/contract/openapi.ts";

function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

describe("the OpenAPI document", () => {
  const doc = JSON.parse(JSON.stringify(buildOpenApiDocument())) as Record<string, unknown>;

  it("validates as OpenAPI 3.1", async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("refers only to components it defines", () => {
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
    const missing = refsIn(doc).filter((ref) => !(ref.replace("#/components/schemas/", "") in schemas));
    expect(missing).toEqual([]);
  });

  it("a broken document fails the validator (the check is real)", async () => {
    const broken = { ...doc, paths: { "/x": { get: { responses: { "200": { content: {} } } } } } };
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });
});
