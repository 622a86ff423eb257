/**
 * Sign in and sign up: labelled Username and Password fields, checked before sending by the rules of
 * `credentialsSchema` (lib/contract/schemas.ts; re-stated here in plain TypeScript so the storefront carries no zod,
 * with messages in the shopper's language), and the API's own field errors (`details[].path`) shown under
 * the field they belong to. Sign-up in production costs a solved proof-of-work challenge (docs/api.md "Proof of
 * work"): asked for by `403 CHALLENGE_REQUIRED`, solved with a visible progress state, and sent again.
 */
import { useState } from "preact/hooks";
import type { Credentials } from "../../../lib/contract/schemas.ts";
import { ApiFailure, describeFailure, fieldErrors } from "../lib/api.ts";
import { ta } from "../i18n/account.ts";
import { currentSearch, navigate, safeNext } from "../lib/router.ts";
import { login, register } from "../lib/shop.ts";
import { Alert, Field, Link, PageHeading, buttonClass } from "../components/ui.tsx";
import { WorkProgress } from "../components/WorkProgress.tsx";
import { needsChallenge, proveWork } from "../lib/challenge.ts";
import { t } from "../i18n/shop.ts";

/** Set once this shop asked for a challenge at sign-up (production): later sign-ups solve one first. */
let signUpNeedsProof = false;

/** Signs up, solving a challenge first when the shop asks for one (`onSolving` shows the progress). */
async function registerWithProof(credentials: Credentials, onSolving: (on: boolean) => void): Promise<void> {
  const solveAndRegister = async () => {
    onSolving(true);
    let proof: string;
    try {
      proof = await proveWork();
    } finally {
      onSolving(false);
    }
    await register(credentials, proof);
  };
  if (signUpNeedsProof) return solveAndRegister();
  try {
    await register(credentials);
  } catch (err) {
    if (!needsChallenge(err)) throw err;
    signUpNeedsProof = true;
    await solveAndRegister();
  }
}

export function AuthForm({ mode }: { mode: "signin" | "signup" }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [solving, setSolving] = useState(false);
  const next = safeNext(currentSearch.value);
  const title = mode === "signin" ? ta("auth.signInTitle") : ta("auth.signUpTitle");

  const submit = async (e: Event) => {
    e.preventDefault();
    setFormError(null);
    const credentials: Credentials = { username, password };
    const invalid = credentialErrors(credentials);
    if (Object.keys(invalid).length > 0) {
      setErrors(invalid);
      focusFirstInvalid(Object.keys(invalid)[0]);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      await (mode === "signin" ? login(credentials) : registerWithProof(credentials, setSolving));
      navigate(next, { replace: true });
    } catch (err) {
      // The server's field messages are English; ours say the same rule in the shopper's language.
      const fields = err instanceof ApiFailure ? fieldErrors(err.details) : {};
      for (const key of Object.keys(fields)) {
        if (key === "username" || key === "password") fields[key] = credentialErrors(credentials)[key] ?? fields[key];
      }
      setErrors(fields);
      if (Object.keys(fields).length > 0) focusFirstInvalid(Object.keys(fields)[0]);
      else setFormError(describeFailure(err));
    } finally {
      setBusy(false);
    }
  };

  const other = mode === "signin" ? "/signup" : "/signin";
  const otherHref = next === "/" ? other : `${other}?next=${encodeURIComponent(next)}`;
  return (
    <section class="mx-auto max-w-md space-y-5">
      <PageHeading>{title}</PageHeading>
      <form
        class="space-y-4 rounded-xl border border-slate-300 bg-white p-5 shadow-sm"
        onSubmit={submit}
        noValidate
        aria-label={title}
      >
        {formError && <Alert>{formError}</Alert>}
        <Field
          id="username"
          label={ta("auth.username")}
          error={errors.username}
          hint={mode === "signup" ? ta("auth.usernameHint") : undefined}
        >
          {(attrs) => (
            <input
              {...attrs}
              name="username"
              type="text"
              autoComplete="username"
              autoCapitalize="none"
              spellcheck={false}
              value={username}
              onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
            />
          )}
        </Field>
        <Field
          id="password"
          label={ta("auth.password")}
          error={errors.password}
          hint={mode === "signup" ? ta("auth.passwordHint") : undefined}
        >
          {(attrs) => (
            <input
              {...attrs}
              name="password"
              type="password"
              autoComplete={mode === "signin" ? "current-password" : "new-password"}
              value={password}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            />
          )}
        </Field>
        {solving && <WorkProgress />}
        <button type="submit" class={`${buttonClass.primary} w-full`} disabled={busy} aria-busy={busy}>
          {solving
            ? t("pow.label")
            : busy
              ? ta("auth.wait")
              : mode === "signin"
                ? ta("auth.signIn")
                : ta("auth.signUp")}
        </button>
      </form>
      <p class="text-center text-sm text-slate-800">
        {mode === "signin" ? ta("auth.newHere") : ta("auth.haveAccount")}{" "}
        <Link href={otherHref} class="font-semibold text-red-800 underline underline-offset-2">
          {mode === "signin" ? ta("auth.createAccount") : ta("auth.signIn")}
        </Link>
      </p>
    </section>
  );
}

/**
 * The rules of `credentialsSchema` (docs/api.md: username 3–32 of `[A-Za-z0-9_.-]`, password 8–128 chars),
 * one message per field, in the shopper's language. test/web/client.test.tsx checks they agree with the schema.
 */
export function credentialErrors({ username, password }: Credentials): Record<string, string> {
  const errors: Record<string, string> = {};
  if (username.length < 3 || username.length > 32) errors.username = ta("auth.usernameLength");
  else if (!/^[A-Za-z0-9_.-]+$/.test(username)) errors.username = ta("auth.usernameChars");
  if (password.length < 8 || password.length > 128) errors.password = ta("auth.passwordLength");
  return errors;
}

function focusFirstInvalid(field: PropertyKey | undefined) {
  if (typeof field !== "string") return;
  setTimeout(() => document.getElementById(field)?.focus(), 0);
}
