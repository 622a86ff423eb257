/**
 * A registration sale's panel (docs/api.md "Registration"): before the start, register and see that you are;
 * from the start, the Buy now button for registered shoppers (the server refuses the others with
 * `403 NOT_REGISTERED`) and a plain "registration closed" for everyone else.
 */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import type { Registration } from "../../../lib/contract/draw.ts";
import type { Sale } from "../../../lib/contract/schemas.ts";
import { ApiFailure } from "../lib/api.ts";
import { navigate } from "../lib/router.ts";
import { currentUser, markSignedOut } from "../lib/shop.ts";
import { useServerNow, usePolling } from "../components/hooks.ts";
import { Link, buttonClass } from "../components/ui.tsx";
import { fetchMyRegistration, registerForSale } from "./draw-api.ts";
import { t } from "./strings.ts";

export function RegisterPanel({ sale, children }: { sale: Sale; children: ComponentChildren }) {
  const now = useServerNow();
  const [registration, setRegistration] = useState<Registration | null | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const signedIn = currentUser.value !== null;

  usePolling(
    async (signal) => {
      if (!signedIn || registration) return;
      try {
        setRegistration(await fetchMyRegistration(sale.id, signal));
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 401) {
          setRegistration(null);
          return;
        }
        throw err;
      }
    },
    10_000,
    [sale.id, signedIn],
  );

  const register = async () => {
    setBusy(true);
    setMessage(null);
    try {
      setRegistration(await registerForSale(sale.id));
    } catch (err) {
      if (err instanceof ApiFailure && err.code === "UNAUTHENTICATED") {
        markSignedOut();
        navigate(`/signin?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      setMessage(err instanceof ApiFailure ? err.message : t("error.generic"));
    } finally {
      setBusy(false);
    }
  };

  const started = now >= Date.parse(sale.startsAt);
  let body: ComponentChildren;
  if (!signedIn) {
    body = (
      <Link
        href={`/signin?next=${encodeURIComponent(`/sales/${sale.id}`)}`}
        class="font-semibold text-red-800 underline"
      >
        {t("register.signIn")}
      </Link>
    );
  } else if (registration) {
    body = <p class="font-semibold text-green-800">{started ? t("register.doneLive") : t("register.done")}</p>;
  } else if (started) {
    body = <p class="text-slate-800">{t("register.closed")}</p>;
  } else {
    body = (
      <button
        type="button"
        class={buttonClass.primary}
        disabled={busy || registration === undefined}
        onClick={() => void register()}
      >
        {busy ? t("register.working") : t("register.button")}
      </button>
    );
  }

  return (
    <div class="space-y-4">
      <section class="space-y-3" aria-labelledby="register-heading" data-registered={registration ? "yes" : "no"}>
        <h2 id="register-heading" class="text-lg font-bold text-slate-900">
          {t("register.heading")}
        </h2>
        <p class="text-sm text-slate-700">{t("register.how")}</p>
        <div role="status" aria-live="polite">
          {body}
        </div>
        {message && <p class="text-sm text-red-800">{message}</p>}
      </section>
      {started && registration && children}
    </div>
  );
}
