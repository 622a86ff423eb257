/**
 * A registration sale's panel (docs/api.md "Registration"): before the start, register and see that you are;
 * from the start, the Buy now button for registered shoppers (the server refuses the others with
 * `403 NOT_REGISTERED`) and a plain "registration closed" for everyone else.
 */
import type { ComponentChildren } from "preact";
import type { Sale } from "../../../lib/contract/schemas.ts";
import { useServerNow } from "../components/hooks.ts";
import { SignInToSale, buttonClass } from "../components/ui.tsx";
import { fetchMyRegistration, registerForSale } from "./draw-api.ts";
import { t } from "./strings.ts";
import { useMyRecord } from "./use-my-record.ts";

export function RegisterPanel({ sale, children }: { sale: Sale; children: ComponentChildren }) {
  const now = useServerNow();
  const {
    record: registration,
    signedIn,
    busy,
    message,
    create: register,
  } = useMyRecord({
    saleId: sale.id,
    load: fetchMyRegistration,
    create: registerForSale,
    everyMs: 10_000,
    final: true,
  });

  const started = now >= Date.parse(sale.startsAt);
  let body: ComponentChildren;
  if (!signedIn) {
    body = <SignInToSale saleId={sale.id}>{t("register.signIn")}</SignInToSale>;
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
