/**
 * What every Worker's bindings share, and the helpers that read them (secrets, production). Each Worker's own
 * bindings are declared beside it (workers/<name>/env.ts, queues/env.ts), as its wrangler.toml declares them.
 */

/**
 * `ENVIRONMENT = "development"` turns the documented local defaults on (dev admin token, dev session secret,
 * plain-HTTP cookies). Anything else — unset included — is production: secrets are mandatory, the session cookie
 * is `__Host-` and Secure, HSTS is sent. Only the local start scripts (scripts/lib/lean-runtime.ts, the wrangler
 * runtime's `.dev.vars`) and the test Worker's config set it; no deployable wrangler.toml does (docs/design.md
 * "Hardening").
 */
export interface CommonEnv {
  ENVIRONMENT?: string;
}

export const DEV_ADMIN_TOKEN = "dev-admin-token";
export const DEV_SESSION_SECRET = "dev-session-secret-change-me-in-production";
/** The proof-of-work challenges' HMAC key outside production (workers/gateway/challenge.ts). */
export const DEV_CHALLENGE_HMAC_KEY = "dev-challenge-key-change-me-in-production";

/** Secrets fail closed: only an explicit development setting turns the local defaults on. */
export function isDevelopment(env: CommonEnv): boolean {
  return env.ENVIRONMENT === "development";
}

export function isProduction(env: CommonEnv): boolean {
  return !isDevelopment(env);
}

/** Secrets are required in production; locally the documented defaults apply. */
export function requireSecret(env: CommonEnv, value: string | undefined, name: string, devDefault: string): string {
  if (value) return value;
  if (isProduction(env)) throw new Error(`${name} is not set: run \`wrangler secret put ${name}\``);
  return devDefault;
}

/** The names among `names` that are unset (or empty) in `env`. */
export function missingSecrets(env: object, names: readonly string[]): string[] {
  const values = env as Record<string, unknown>;
  return names.filter((name) => typeof values[name] !== "string" || values[name] === "");
}

/** Which refusals this isolate has logged already (one line each, not one per request). */
const refusalsLogged = new Set<string>();

/**
 * Production refuses to serve at all while a secret it needs is missing, rather than failing route by route
 * (or, worse, answering health checks as if all were well). Returns the 500 to send, or null when the Worker
 * may serve. Logs one line per isolate naming the secrets and the command that sets them. Outside production
 * it always returns null: the documented local defaults apply there (see `requireSecret`).
 * `wrangler deploy --env production` already refuses to deploy without them (`secrets.required` in each
 * wrangler.toml); this is the runtime half, for a secret deleted after the deploy.
 *
 * @example
 * // first lines of a plain fetch handler
 * const refusal = refuseWithoutSecrets(env, ["ADMIN_TOKEN"]);
 * if (refusal) return refusal;
 */
export function refuseWithoutSecrets(env: CommonEnv, names: readonly string[]): Response | null {
  if (!isProduction(env)) return null;
  const missing = missingSecrets(env, names);
  if (missing.length === 0) return null;
  if (!refusalsLogged.has(missing.join())) {
    refusalsLogged.add(missing.join());
    console.error(
      JSON.stringify({
        msg: "refusing to serve: required secrets are not set",
        missing,
        fix: missing.map((name) => `wrangler secret put ${name} --env production`),
      }),
    );
  }
  return Response.json(
    { error: { code: "INTERNAL", message: "The service is not configured; see the Worker's logs" } },
    { status: 500 },
  );
}

/**
 * Hono middleware form of `refuseWithoutSecrets`, mounted first in a Worker's app.
 *
 * @example
 * app.use(requireSecrets("SESSION_SECRET"));
 */
export function requireSecrets(...names: string[]) {
  return async (c: { env: CommonEnv }, next: () => Promise<void>): Promise<Response | void> => {
    const refusal = refuseWithoutSecrets(c.env, names);
    if (refusal) return refusal;
    await next();
  };
}

/**
 * A Durable Object stub as its callers use it: each public method, awaited, with its plain result type.
 * (The generic stub typing turns result unions into unions of promises, which nothing can narrow.)
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => unknown;
export type StubOf<T> = {
  [K in keyof T as T[K] extends AnyFunction ? K : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};
