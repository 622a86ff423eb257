/**
 * Validation at the edge, once: zod schemas through @hono/zod-validator, failures rendered as
 * `400 VALIDATION_FAILED` with zod's issues in `details`.
 */
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import { ApiError } from "../../lib/errors.ts";

/** `400 VALIDATION_FAILED` with zod's issues as `details` (path, code, message each). */
export function validationFailed(error: { issues: readonly z.core.$ZodIssue[] }): ApiError {
  return new ApiError(
    "VALIDATION_FAILED",
    "The request is not valid",
    error.issues.map((i) => ({ path: i.path.map(String), code: i.code, message: i.message })),
  );
}

/**
 * @example
 * app.post("/", validate("json", credentialsSchema), async (c) => { const body = c.req.valid("json"); … })
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw validationFailed(result.error);
  });
}
