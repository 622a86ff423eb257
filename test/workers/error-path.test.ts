/**
 * The one error path every Worker's app installs (lib/server/http.ts): what each kind of failure becomes, and that
 * only bugs are logged. Gateway and admin both install it; their routes' answers are tested in their own files.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { ApiError } from "../../lib/contract/errors.ts";
import { useErrorPath, validate } from "../../lib/server/http.ts";

function appThrowing(err: unknown) {
  const app = new Hono();
  useErrorPath(app, "test-worker");
  app.get("/boom", () => {
    throw err;
  });
  app.post("/items", validate("json", z.strictObject({ n: z.number().int() })), (c) => c.json(c.req.valid("json")));
  return app;
}

async function answer(res: Response) {
  return {
    status: res.status,
    body: (await res.json()) as { error: { code: string; message: string; details?: unknown } },
  };
}

describe("the shared error path", () => {
  afterEach(() => vi.restoreAllMocks());

  it("renders an ApiError as the contract's body, with its headers, and logs nothing", async () => {
    const log = vi.spyOn(console, "error");
    const res = await appThrowing(new ApiError("RATE_LIMITED", "Slow down", undefined, { "Retry-After": "3" })).request(
      "/boom",
    );
    expect(await answer(res)).toEqual({ status: 429, body: { error: { code: "RATE_LIMITED", message: "Slow down" } } });
    expect(res.headers.get("Retry-After")).toBe("3");
    expect(log).not.toHaveBeenCalled();
  });

  it("maps Hono's HTTPException by status: 413 PAYLOAD_TOO_LARGE, 401, 404, any other 4xx VALIDATION_FAILED", async () => {
    const cases: [number, number, string][] = [
      [413, 413, "PAYLOAD_TOO_LARGE"],
      [401, 401, "UNAUTHENTICATED"],
      [404, 404, "NOT_FOUND"],
      [400, 400, "VALIDATION_FAILED"],
      [415, 400, "VALIDATION_FAILED"],
    ];
    for (const [thrown, status, code] of cases) {
      const { status: got, body } = await answer(await appThrowing(new HTTPException(thrown as 400)).request("/boom"));
      expect([got, body.error.code]).toEqual([status, code]);
    }
  });

  it("turns anything else into 500 INTERNAL without details, logged once as JSON with worker, method, path and stack", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const { status, body } = await answer(await appThrowing(new TypeError("x is undefined")).request("/boom"));
    expect(status).toBe(500);
    expect(body).toEqual({ error: { code: "INTERNAL", message: "Something went wrong on our side" } });
    expect(log).toHaveBeenCalledTimes(1);
    const line = JSON.parse(log.mock.calls[0][0] as string);
    expect(line).toMatchObject({ worker: "test-worker", msg: "unhandled error", method: "GET", path: "/boom" });
    expect(line.error).toContain("x is undefined");
    expect(line.stack).toContain("TypeError");
  });

  it("answers an unknown route 404 NOT_FOUND", async () => {
    expect(await answer(await appThrowing(null).request("/nowhere"))).toEqual({
      status: 404,
      body: { error: { code: "NOT_FOUND", message: "No such route" } },
    });
  });

  it("validates with zod: 400 VALIDATION_FAILED with the issues, malformed JSON too", async () => {
    const app = appThrowing(null);
    const post = (body: string) =>
      app.request("/items", { method: "POST", body, headers: { "content-type": "application/json" } });
    const bad = await answer(await post('{"n":1.5,"extra":1}'));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("VALIDATION_FAILED");
    expect(bad.body.error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: ["n"] }),
        expect.objectContaining({ code: "unrecognized_keys" }),
      ]),
    );
    expect((await answer(await post("{"))).body.error.code).toBe("VALIDATION_FAILED");
    expect(await (await post('{"n":2}')).json()).toEqual({ n: 2 });
  });
});
