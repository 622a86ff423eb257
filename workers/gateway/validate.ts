/**
 * The validator lives in lib/server/http.ts, shared by every Worker; this re-export keeps the gateway's
 * routes' imports working until the layout sweep points them there directly.
 */
export { validate, validationFailed } from "../../lib/server/http.ts";
