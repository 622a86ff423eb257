/** The merchant's payment window, as a shopper reads it on a sale's page (docs/api.md "Hardening"). */
import { describe, expect, it } from "vitest";
import { formatPaymentWindow } from "../../web/src/pages/SalePage.tsx";

describe("payment window", () => {
  it("is said in the largest whole unit", () => {
    expect(formatPaymentWindow(900)).toBe("15 minutes");
    expect(formatPaymentWindow(60)).toBe("1 minute");
    expect(formatPaymentWindow(3600)).toBe("1 hour");
    expect(formatPaymentWindow(7200)).toBe("2 hours");
    expect(formatPaymentWindow(90)).toBe("90 seconds");
    expect(formatPaymentWindow(1)).toBe("1 second");
  });
});
