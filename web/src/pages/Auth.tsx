/**
 * Sign in and sign up: labelled Username and Password fields, checked with the shared credentials schema
 * before sending, and the API's own field errors (`details[].path`) shown under the field they belong to.
 */
import { useState } from "preact/hooks";
import { credentialsSchema } from "../../../lib/schemas.ts";
import { ApiFailure, describeFailure, fieldErrors } from "../lib/api.ts";
import { currentSearch, navigate, safeNext } from "../lib/router.ts";
import { login, register } from "../lib/shop.ts";
import { Alert, Field, Link, PageHeading, buttonClass } from "../components/ui.tsx";

export function AuthForm({ mode }: { mode: "signin" | "signup" }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(currentSearch.value);
  const title = mode === "signin" ? "Sign in" : "Create an account";

  const submit = async (e: Event) => {
    e.preventDefault();
    setFormError(null);
    const parsed = credentialsSchema.safeParse({ username, password });
    if (!parsed.success) {
      setErrors(fieldErrors(parsed.error.issues));
      focusFirstInvalid(parsed.error.issues[0]?.path[0]);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      await (mode === "signin" ? login(parsed.data) : register(parsed.data));
      navigate(next, { replace: true });
    } catch (err) {
      const fields = err instanceof ApiFailure ? fieldErrors(err.details) : {};
      setErrors(fields);
      if (Object.keys(fields).length > 0) focusFirstInvalid(Object.keys(fields)[0]);
      else if (err instanceof ApiFailure && err.code === "INVALID_CREDENTIALS")
        setFormError("Wrong username or password.");
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
          label="Username"
          error={errors.username}
          hint={mode === "signup" ? "3–32 letters, digits, _ . or -" : undefined}
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
          label="Password"
          error={errors.password}
          hint={mode === "signup" ? "At least 8 characters" : undefined}
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
        <button type="submit" class={`${buttonClass.primary} w-full`} disabled={busy}>
          {busy ? "Please wait…" : mode === "signin" ? "Sign in" : "Sign up"}
        </button>
      </form>
      <p class="text-center text-sm text-slate-800">
        {mode === "signin" ? "New here? " : "Already have an account? "}
        <Link href={otherHref} class="font-semibold text-red-800 underline underline-offset-2">
          {mode === "signin" ? "Create an account" : "Sign in"}
        </Link>
      </p>
    </section>
  );
}

function focusFirstInvalid(field: PropertyKey | undefined) {
  if (typeof field !== "string") return;
  setTimeout(() => document.getElementById(field)?.focus(), 0);
}
