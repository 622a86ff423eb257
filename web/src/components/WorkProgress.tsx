/**
 * What a shopper sees while their device solves a proof-of-work challenge (docs/api.md "Proof of work"): an
 * indeterminate progress bar with its name, and one sentence that says what is happening and why, announced once
 * to screen readers (a polite live region, not a ticking counter).
 */
import { t } from "../i18n/shop.ts";

export function WorkProgress() {
  return (
    <div class="space-y-1" role="status" aria-live="polite" data-testid="work-progress">
      <progress class="h-2 w-full accent-red-700" aria-label={t("pow.label")} />
      <p class="text-sm text-slate-800">{t("pow.solving")}</p>
    </div>
  );
}
