/**
 * A sharded sale's outboxes never offer their queue more than it accepts (issue 13; docs/design.md "Hot sales:
 * orders to the queue"): each shard's `OutboxPacer` over a long backlog, driven as the alarm drives it, sends at
 * most `outboxMessagesPerSecond(K) + runCap` in any one-second window, so K shards stay under 5,000 msg/s.
 */
import { describe, expect, it } from "vitest";
import { OutboxPacer } from "../../durable-objects/sale-item/outbox.ts";
import { QUEUE_MAX_MSG_PER_SEC, outboxMessagesPerSecond } from "../../lib/server/hot/routing.ts";

describe("outbox pacing", () => {
  for (const shards of [2, 8, 64]) {
    it(`keeps ${shards} shards under the queue's ${QUEUE_MAX_MSG_PER_SEC} msg/s`, () => {
      const pacer = new OutboxPacer(outboxMessagesPerSecond(shards));
      const sends: { at: number; n: number }[] = [];
      // An endless backlog; the alarm runs when the pacer says, and sometimes early (an expiry or a cancel arms it).
      let now = 1_000_000;
      for (let run = 0; run < 2000; run++) {
        const n = pacer.budget(now);
        pacer.spent(now, n);
        sends.push({ at: now, n });
        now = run % 7 === 0 ? now + 3 : pacer.nextAt(now);
      }
      let worst = 0;
      for (let i = 0, j = 0, sum = 0; i < sends.length; i++) {
        sum += sends[i].n;
        while (sends[i].at - sends[j].at >= 1000) sum -= sends[j++].n;
        worst = Math.max(worst, sum);
      }
      expect(worst).toBeLessThanOrEqual(pacer.perSecond + pacer.runCap);
      expect(worst * shards).toBeLessThan(QUEUE_MAX_MSG_PER_SEC);
      // And it does send: at least 90 % of its rate over the whole run.
      const seconds = (sends[sends.length - 1].at - sends[0].at) / 1000;
      expect(sends.reduce((a, s) => a + s.n, 0) / seconds).toBeGreaterThan(pacer.perSecond * 0.9);
    });
  }
});
