/**
 * The pure parts of "scalpers made expensive" (docs/design.md): whose address a request counts under (IPv6 per
 * /64, what the local runtime trusts) and the per-isolate set that makes a solved challenge single use.
 */
import { describe, expect, it } from "vitest";
import { addressKey, clientAddressKey } from "../../workers/gateway/client-address.ts";
import { SpentChallenges } from "../../lib/server/spent-challenges.ts";

describe("client address keys", () => {
  it("groups IPv6 addresses by /64, whatever their spelling, and keeps IPv4 addresses apart", () => {
    const sameBlock = [
      "2001:db8:0:1::1",
      "2001:db8:0:1:ffff:ffff:ffff:ffff",
      "2001:DB8:0000:0001:abcd:1:2:3",
      "2001:db8:0:1:0:0:0:9%eth0",
      "[2001:db8:0:1::7]",
    ];
    expect(new Set(sameBlock.map(addressKey))).toEqual(new Set(["2001:db8:0:1::/64"]));
    expect(addressKey("2001:db8:0:2::1")).toBe("2001:db8:0:2::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("203.0.113.7")).not.toBe(addressKey("203.0.113.8"));
    // IPv4-mapped IPv6 is the IPv4 address, not a /64 shared by every IPv4 client.
    expect(addressKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
    // Garbage still counts as one client, never as none.
    expect(addressKey("not-an-address:::")).toBe("not-an-address:::");
  });

  it("trusts CF-Connecting-IP in production, and locally only when told to", () => {
    const headers = new Headers({ "CF-Connecting-IP": "2001:db8:0:1::42" });
    expect(clientAddressKey({ ENVIRONMENT: "production" }, headers)).toBe("2001:db8:0:1::/64");
    // Production ignores the local switch: the header is Cloudflare's there.
    expect(clientAddressKey({ ENVIRONMENT: "production", TRUST_CLIENT_IP_HEADER: "false" }, headers)).toBe(
      "2001:db8:0:1::/64",
    );
    // Locally a client writes the header itself: ignored unless the local runtime is told to trust it, so rotating
    // it neither escapes a limit nor counts against another client.
    expect(clientAddressKey({ ENVIRONMENT: "development" }, headers)).toBeUndefined();
    expect(
      clientAddressKey({ ENVIRONMENT: "development" }, new Headers({ "CF-Connecting-IP": "198.51.100.1" })),
    ).toBeUndefined();
    expect(clientAddressKey({ ENVIRONMENT: "development", TRUST_CLIENT_IP_HEADER: "true" }, headers)).toBe(
      "2001:db8:0:1::/64",
    );
    expect(clientAddressKey({ ENVIRONMENT: "production" }, new Headers())).toBeUndefined();
  });
});

describe("spent challenges", () => {
  it("spends a signature once until it expires, then forgets it", () => {
    let now = 1_000_000;
    const spent = new SpentChallenges(10, () => now);
    expect(spent.spend("a", now + 300_000)).toBe(true);
    expect(spent.spend("a", now + 300_000)).toBe(false);
    expect(spent.spend("b", now + 300_000)).toBe(true);
    now += 300_001;
    // Expired: dropped on the next spend (a challenge past its expiry is refused before it gets here anyway).
    expect(spent.spend("c", now + 300_000)).toBe(true);
    expect(spent.size).toBe(1);
  });

  it("stays within its bound, dropping the oldest first", () => {
    const now = 5_000;
    const spent = new SpentChallenges(3, () => now);
    for (const s of ["a", "b", "c", "d"]) expect(spent.spend(s, now + 1_000)).toBe(true);
    expect(spent.size).toBe(3);
    expect(spent.spend("d", now + 1_000)).toBe(false);
    // "a" was dropped early: the documented price of the bound.
    expect(spent.spend("a", now + 1_000)).toBe(true);
  });
});
