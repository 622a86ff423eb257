/**
 * A queue sale's screen on its page (docs/api.md "Queue"): join, then the shopper's place in line, the stock left,
 * an honest estimate and what happens next; the Buy now button when it is their turn; and "sold out, you were #N"
 * at the end. Updates come live over the queue's WebSocket; when it cannot be had or drops, the ticket is polled,
 * honouring `refreshAfterSeconds`. Loaded as a chunk of its own, only for queue sales.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Ticket, TicketState } from "../../../lib/contract/queue.ts";
import type { Sale } from "../../../lib/contract/schemas.ts";
import { ApiFailure } from "../lib/api.ts";
import { formatTime } from "../lib/format.ts";
import { navigate } from "../lib/router.ts";
import { currentUser, markSignedOut } from "../lib/shop.ts";
import { useServerNow } from "../components/hooks.ts";
import { SignInToSale, buttonClass } from "../components/ui.tsx";
import { fetchTicket, joinQueue, openLiveFeed } from "./queue-api.ts";
import { tq } from "./strings.ts";
import { needsChallenge, proveWork } from "../lib/challenge.ts";
import { WorkProgress } from "../components/WorkProgress.tsx";

/** States after which nothing changes for the shopper: no feed, slow polling. */
const FINAL: readonly TicketState[] = ["purchased", "expired"];

function duration(seconds: number): string {
  return seconds < 90
    ? tq("queue.seconds", { count: Math.max(1, Math.ceil(seconds)) })
    : tq("queue.minutes", { count: Math.ceil(seconds / 60) });
}

/** `buy`: the sale's Buy now panel, shown when it is the shopper's turn (passed in: it ships with the sale page). */
export function QueuePanel({ sale, buy }: { sale: Sale; buy: ComponentChildren }) {
  const now = useServerNow();
  const signedIn = currentUser.value !== null;
  const [ticket, setTicket] = useState<Ticket | null | undefined>(undefined);
  const [liveRemaining, setLiveRemaining] = useState<number | null>(null);
  const [live, setLive] = useState(false);
  const [busy, setBusy] = useState(false);
  const [solving, setSolving] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  // Polling, whenever the live feed is not carrying the updates: as often as the ticket says.
  useEffect(() => {
    if (!signedIn || live) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const run = async () => {
      let after = 5;
      try {
        const next = await fetchTicket(sale.id, controller.signal);
        setTicket(next);
        if (next) after = next.refreshAfterSeconds;
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 401) {
          setTicket(null);
          return;
        }
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void run(), after * 1000);
    };
    void run();
    return () => {
      controller.abort();
      if (timer !== null) clearTimeout(timer);
    };
  }, [sale.id, signedIn, live]);

  // The live feed, while the shopper holds a ticket that can still change.
  const listening = signedIn && !!ticket && !FINAL.includes(ticket.state);
  useEffect(() => {
    if (!listening) return;
    const close = openLiveFeed(
      sale.id,
      (update) => {
        setLive(true);
        setLiveRemaining(update.remaining);
        if (update.ticket) setTicket(update.ticket);
      },
      () => setLive(false),
    );
    return () => {
      close();
      setLive(false);
    };
  }, [sale.id, listening]);

  const join = async () => {
    setBusy(true);
    setMessage(null);
    try {
      // A `challenge` sale: the device solves a proof of work first (docs/api.md "Proof of work"), and once more
      // if the server finds that solution spent or expired.
      let proof: string | undefined;
      for (let attempt = 0; ; attempt++) {
        if (proof === undefined && (sale.challenge || attempt > 0)) {
          setSolving(true);
          try {
            proof = await proveWork();
          } finally {
            setSolving(false);
          }
        }
        try {
          setTicket(await joinQueue(sale.id, proof));
          break;
        } catch (err) {
          if (!needsChallenge(err) || attempt >= 2) throw err;
          proof = undefined;
        }
      }
    } catch (err) {
      if (err instanceof ApiFailure && err.code === "UNAUTHENTICATED") {
        markSignedOut();
        navigate(`/signin?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      setMessage(err instanceof ApiFailure ? err.message : tq("error.generic"));
    } finally {
      setBusy(false);
    }
  };

  const remaining = liveRemaining ?? sale.remaining;
  const startsAt = Date.parse(sale.startsAt);
  let body: preact.JSX.Element;
  if (!signedIn) {
    body = <SignInToSale saleId={sale.id}>{tq("queue.signIn")}</SignInToSale>;
  } else if (ticket === null) {
    body =
      now >= Date.parse(sale.endsAt) ? (
        <p class="text-slate-800">{tq("queue.ended")}</p>
      ) : (
        <div class="space-y-3">
          <button type="button" class={buttonClass.primary} disabled={busy} onClick={() => void join()}>
            {busy ? tq("queue.joining") : tq("queue.join")}
          </button>
          {solving && <WorkProgress />}
        </div>
      );
  } else if (ticket === undefined) {
    body = <p class="text-slate-700">…</p>;
  } else if (ticket.state === "admitted") {
    body = (
      <div class="space-y-3">
        <p class="font-semibold text-green-800">
          {tq("queue.admitted", { time: formatTime(Date.parse(ticket.admittedUntil!)) })}
        </p>
        {buy}
      </div>
    );
  } else if (ticket.state === "purchased") {
    body = (
      <div class="space-y-3">
        <p class="font-semibold text-green-800">{tq("queue.purchased")}</p>
        {buy}
      </div>
    );
  } else if (ticket.state === "expired") {
    body = <p class="text-slate-900">{now >= Date.parse(sale.endsAt) ? tq("queue.ended") : tq("queue.expired")}</p>;
  } else if (ticket.state === "sold_out") {
    body = (
      <div class="space-y-1">
        <p class="font-semibold text-slate-900">{tq("queue.soldOut", { number: ticket.queueNumber ?? 0 })}</p>
        <p class="text-sm text-slate-700">{tq("queue.soldOutNext")}</p>
      </div>
    );
  } else if (ticket.position === null) {
    body = <p class="text-slate-900">{tq("queue.joinedEarly")}</p>;
  } else {
    const ahead = ticket.position - 1;
    body = (
      <div class="space-y-2">
        <p class="text-2xl font-bold text-slate-900" data-position={ticket.position}>
          {tq("queue.position", { position: ticket.position })}
        </p>
        <p class="text-slate-800">{tq("queue.stockLeft", { count: remaining })}</p>
        <p class="text-sm text-slate-700">
          {ticket.estimatedWaitSeconds > 0
            ? tq("queue.estimate", { time: duration(ticket.estimatedWaitSeconds) })
            : tq("queue.estimateUnknown")}
        </p>
        {ahead >= remaining && <p class="text-sm text-slate-700">{tq("queue.chance")}</p>}
        <p class="text-sm text-slate-700">{tq("queue.next")}</p>
      </div>
    );
  }

  return (
    <section class="space-y-3" aria-labelledby="queue-heading" data-ticket-state={ticket?.state ?? "none"}>
      <h2 id="queue-heading" class="text-lg font-bold text-slate-900">
        {tq("queue.heading")}
      </h2>
      <p class="text-sm text-slate-700">{tq("queue.how")}</p>
      <div role="status" aria-live="polite">
        {body}
      </div>
      {ticket && ticket.position === null && ticket.state === "waiting" && now < startsAt && (
        <p class="text-sm text-slate-700">{tq("queue.startsIn", { time: duration((startsAt - now) / 1000) })}</p>
      )}
      {message && <p class="text-sm text-red-800">{message}</p>}
      {ticket && !FINAL.includes(ticket.state) && (
        <p class="text-xs text-slate-600">{live ? tq("queue.live") : tq("queue.polling")}</p>
      )}
    </section>
  );
}
