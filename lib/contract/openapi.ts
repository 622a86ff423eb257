/**
 * The OpenAPI 3.1 document of the HTTP API, built from the route table (api-routes.ts) and the same zod schemas
 * the Workers validate with, by zod's own JSON Schema conversion (`z.toJSONSchema`, draft 2020-12, which is
 * OpenAPI 3.1's schema dialect). Pure data: no Worker import, so the web app or a script may build it too.
 */
import { z } from "zod";
import { ERROR_STATUS, type ErrorCode } from "./errors.ts";
import { components, requestComponents } from "./answers.ts";
import { API_ROUTES, type ApiRoute, type HttpMethod, type RouteTag } from "./api-routes.ts";

type Json = Record<string, unknown>;

const TAGS: { name: RouteTag; description: string }[] = [
  { name: "accounts", description: "Shopper accounts and sessions (an HttpOnly, SameSite=Lax, signed cookie)" },
  { name: "sales", description: "Browsing and buying" },
  { name: "orders", description: "A shopper's own orders" },
  { name: "merchants", description: "The admin API: `Authorization: Bearer $ADMIN_TOKEN`" },
  { name: "operations", description: "Health, readiness and metrics" },
  { name: "reference", description: "This description of the API" },
];

function inputName(schema: z.ZodType): string {
  const meta = requestComponents.get(schema);
  if (!meta) throw new Error("a request body is not a component: name it with requestComponent() in api-routes.ts");
  return meta.id;
}

/** `/api/sales/:id/purchase` → `/api/sales/{id}/purchase`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function pathParams(honoPath: string): string[] {
  return [...honoPath.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
}

/** `post /api/sales/:id/purchase` → `postApiSalesIdPurchase`. */
export function operationId(route: { method: HttpMethod; path: string }): string {
  const words = route.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return route.method + words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

/** JSON Schema of one value, inline (query and header parameters are small). */
function inlineSchema(schema: z.ZodType): Json {
  const out = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as Json;
  delete out.$schema;
  return out;
}

/** Every component of a registry, `$ref`s pointing into `#/components/schemas`. */
function registrySchemas(registry: z.core.$ZodRegistry<{ id: string }>, io: "input" | "output"): Record<string, Json> {
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas;
}

function ref(name: string): Json {
  return { $ref: `#/components/schemas/${name}` };
}

function answerName(schema: z.ZodType): string {
  const meta = components.get(schema);
  if (!meta) throw new Error("an answer schema is not a component: declare it with component() in answers.ts");
  return meta.id;
}

/** The error codes a route can answer: its own, and those its shape implies (see api-routes.ts). */
export function errorCodesOf(route: ApiRoute): ErrorCode[] {
  const codes = new Set<ErrorCode>(route.errors ?? []);
  if (route.body || route.query || route.headers) codes.add("VALIDATION_FAILED");
  if (route.method !== "get") {
    codes.add("PAYLOAD_TOO_LARGE");
    codes.add("FORBIDDEN_ORIGIN");
  }
  if (route.auth) codes.add("UNAUTHENTICATED");
  if (pathParams(route.path).length > 0) codes.add("NOT_FOUND");
  return [...codes];
}

const RETRY_AFTER = {
  description: "Seconds to wait before trying again",
  schema: { type: "integer", minimum: 0 },
};

function errorResponses(route: ApiRoute): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(route)) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Json> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const response: Json = {
      description: codes.join(", "),
      content: {
        "application/json": {
          schema: {
            allOf: [
              ref("ErrorBody"),
              { type: "object", properties: { error: { type: "object", properties: { code: { enum: codes } } } } },
            ],
          },
        },
      },
    };
    if (status === 429 || status === 503) response.headers = { "Retry-After": RETRY_AFTER };
    if (status === 401 && route.auth === "admin") {
      response.headers = { "WWW-Authenticate": { description: "Bearer realm", schema: { type: "string" } } };
    }
    out[String(status)] = response;
  }
  return out;
}

function successResponses(route: ApiRoute): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const ok of route.ok) {
    const key = String(ok.status);
    const response = (out[key] ??= { description: "" }) as Json & { content?: Record<string, Json> };
    if ("schema" in ok) {
      response.description ||= ok.description ?? "Success";
      response.content = { ...response.content, "application/json": { schema: ref(answerName(ok.schema)) } };
    } else if ("mediaType" in ok) {
      response.description = response.description ? `${response.description}; ${ok.description}` : ok.description;
      response.content = { ...response.content, [ok.mediaType]: { schema: { type: "string" } } };
    } else {
      response.description = ok.description;
    }
    if (route.setsCookie) {
      response.headers = {
        "Set-Cookie": {
          description: "The session cookie (minishop_session) and the known-device cookie (minishop_device)",
          schema: { type: "string" },
        },
      };
    }
  }
  return out;
}

function operation(route: ApiRoute): Json {
  const parameters: Json[] = pathParams(route.path).map((name) => ({
    name,
    in: "path",
    required: true,
    description: "Opaque id; one of the wrong shape is a 404",
    schema: { type: "string" },
  }));
  for (const [name, schema] of Object.entries(route.query?.shape ?? {})) {
    parameters.push({
      name,
      in: "query",
      required: !(schema as z.ZodType).safeParse(undefined).success,
      schema: inlineSchema(schema as z.ZodType),
    });
  }
  for (const [name, header] of Object.entries(route.headers ?? {})) {
    parameters.push({
      name,
      in: "header",
      required: header.required ?? false,
      description: header.description,
      schema: inlineSchema(header.schema),
    });
  }
  const op: Json = {
    operationId: operationId(route),
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    responses: {
      ...successResponses(route),
      ...errorResponses(route),
      default: {
        description: "Any other failure, in the contract's error body",
        content: { "application/json": { schema: ref("ErrorBody") } },
      },
    },
  };
  if (route.body) {
    op.requestBody = {
      required: !route.bodyOptional,
      content: { "application/json": { schema: ref(inputName(route.body)) } },
    };
  }
  if (route.auth === "session") op.security = [{ session: [] }];
  if (route.auth === "admin") op.security = [{ adminToken: [] }];
  return op;
}

/**
 * The document. Built on demand (the gateway builds it once per isolate, on the first request for it).
 *
 * @example
 * const doc = buildOpenApiDocument(); doc.paths["/api/sales/{id}/purchase"].post.responses["410"]
 */
export function buildOpenApiDocument(
  routes: ApiRoute[] = API_ROUTES,
): Json & { paths: Record<string, Record<string, Json>> } {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    const item = (paths[path] ??= {});
    if (item[route.method]) throw new Error(`${route.method.toUpperCase()} ${route.path} is described twice`);
    item[route.method] = operation(route);
  }
  const answers = registrySchemas(components, "output");
  const requests = registrySchemas(requestComponents, "input");
  for (const name of Object.keys(requests)) {
    if (name in answers) throw new Error(`component ${name} is both a request and an answer`);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "MiniShop Edge API",
      version: "1",
      description:
        "The HTTP contract of MiniShop Edge, generated from the zod schemas the Workers validate with. " +
        'Every 4xx/5xx answer has the body `{"error": {"code", "message", "details"?}}`; no input produces a 5xx. ' +
        "The prose contract is docs/api.md in the repository.",
    },
    servers: [{ url: "/" }],
    tags: TAGS,
    paths,
    components: {
      schemas: { ...answers, ...requests },
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: "minishop_session", description: "Set by register and login" },
        adminToken: { type: "http", scheme: "bearer", description: "The merchants' ADMIN_TOKEN" },
      },
    },
  };
}
