/** The merchant screens' new words: the Chinese text has every English key, with the same placeholders. */
import { describe, expect, test } from "vitest";
import { ta, unitsText, zh } from "../../web/src/admin/strings.ts";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("merchant strings", () => {
  test("every key in both languages, same placeholders, none left unfilled", () => {
    for (const [key, chinese] of Object.entries(zh)) {
      const english = ta(key as keyof typeof zh);
      expect(chinese.trim(), key).not.toBe("");
      expect(placeholders(chinese), key).toEqual(placeholders(english));
    }
    expect(ta("merchant.photo.alt", { title: "Kettle" })).toBe("Photo of Kettle");
    expect([unitsText(1), unitsText(3)]).toEqual(["1 unit", "3 units"]);
  });
});
