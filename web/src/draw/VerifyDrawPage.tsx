/**
 * "Verify this draw" (docs/api.md "Draw"): fetches the public draw and, once it has run, recomputes it here —
 * SHA-256 of the revealed seed against the commitment published at the sale's creation, and every entry's
 * rank key (SHA-256 of seed + ":" + user id, Web Crypto) sorted against the published winners and waitlist.
 * Nothing on this page trusts the server's ranking: it is checked, not shown as is.
 */
import { useEffect, useState } from "preact/hooks";
import type { PublicDraw } from "../../../lib/contract/draw.ts";
import { ApiFailure } from "../lib/api.ts";
import { currentUser } from "../lib/shop.ts";
import { Alert, Link, PageHeading } from "../components/ui.tsx";
import { fetchPublicDraw, verifyDraw, type Verification } from "./draw-api.ts";
import { t } from "./strings.ts";

const SHOWN = 20;

function UserList({ title, users, offset }: { title: string; users: string[]; offset: number }) {
  const me = currentUser.value?.id;
  return (
    <section class="space-y-2">
      <h2 class="text-lg font-bold text-slate-900">{title}</h2>
      <ol class="list-decimal space-y-0.5 pl-8 font-mono text-xs text-slate-800" start={offset + 1}>
        {users.slice(0, SHOWN).map((u) => (
          <li key={u} class="wrap-anywhere">
            {u}
            {u === me && <strong class="ml-2 font-sans text-red-800">({t("verify.you")})</strong>}
          </li>
        ))}
      </ol>
      {users.length > SHOWN && (
        <p class="text-sm text-slate-700">{t("verify.more", { count: users.length - SHOWN })}</p>
      )}
    </section>
  );
}

export function VerifyDrawPage({ id }: { id: string }) {
  const [draw, setDraw] = useState<PublicDraw | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [result, setResult] = useState<Verification | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    fetchPublicDraw(id, controller.signal).then(
      async (d) => {
        setDraw(d);
        if ("seed" in d) setResult(await verifyDraw(d, (done, total) => setProgress({ done, total })));
      },
      (err: unknown) => {
        if (err instanceof ApiFailure) setError(err);
      },
    );
    return () => controller.abort();
  }, [id]);

  return (
    <article
      class="space-y-5"
      data-verify-state={result ? (result.commitmentMatches && result.rankingMatches ? "ok" : "mismatch") : "pending"}
    >
      <p>
        <Link href={`/sales/${id}`} class="text-sm font-semibold text-red-800 underline underline-offset-2">
          <span aria-hidden="true">← </span>
          {t("verify.back")}
        </Link>
      </p>
      <PageHeading>{t("verify.heading")}</PageHeading>
      <p class="text-slate-800">{t("verify.intro")}</p>
      {error && <Alert>{error.status === 404 ? t("verify.notFound") : error.message}</Alert>}
      {draw && (
        <dl class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm text-slate-800">
          <dt class="font-semibold">{t("draw.commitment")}</dt>
          <dd class="font-mono text-xs wrap-anywhere" data-commitment>
            {draw.commitment}
          </dd>
          {"seed" in draw && (
            <>
              <dt class="font-semibold">{t("verify.seed")}</dt>
              <dd class="font-mono text-xs wrap-anywhere">{draw.seed}</dd>
              <dt class="font-semibold">{t("verify.algorithm")}</dt>
              <dd class="font-mono text-xs">{draw.algorithm}</dd>
            </>
          )}
        </dl>
      )}
      {draw && !("seed" in draw) && <p class="text-slate-800">{t("verify.pending")}</p>}
      {draw && "seed" in draw && (
        <>
          <p class="text-slate-800">
            {t("verify.entries", {
              count: draw.entries.length,
              winners: draw.winners.length,
              waitlist: draw.waitlist.length,
            })}
          </p>
          <div role="status" aria-live="polite">
            {!result && progress && (
              <p class="text-slate-700">{t("verify.computing", { done: progress.done, total: progress.total })}</p>
            )}
            {result && result.commitmentMatches && result.rankingMatches && (
              <Alert kind="success">{t("verify.ok")}</Alert>
            )}
            {result && !result.commitmentMatches && <Alert>{t("verify.badCommitment")}</Alert>}
            {result && result.commitmentMatches && !result.rankingMatches && <Alert>{t("verify.badRanking")}</Alert>}
          </div>
          <div class="grid gap-6 md:grid-cols-2">
            <UserList title={t("verify.winners")} users={draw.winners} offset={0} />
            <UserList title={t("verify.waitlist")} users={draw.waitlist} offset={draw.winners.length} />
          </div>
        </>
      )}
    </article>
  );
}
