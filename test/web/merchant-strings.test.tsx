/** The merchant screens' words added with photos, end/delete, editing, revenue and the series: in the merchant catalogue. */
import { afterEach, describe, expect, test } from "vitest";
import { tm, unitsText } from "../../web/src/i18n/merchant.ts";
import { locale } from "../../web/src/i18n/i18n.ts";

describe("merchant strings", () => {
  afterEach(() => {
    locale.value = "en";
  });

  test("placeholders filled, units counted, and Chinese when the locale is Chinese", () => {
    expect(tm("merchant.photo.alt", { title: "Kettle" })).toBe("Photo of Kettle");
    expect([unitsText(1), unitsText(3)]).toEqual(["1 unit", "3 units"]);
    locale.value = "zh";
    expect(tm("merchant.photo.alt", { title: "Kettle" })).toBe("Kettle 的图片");
    expect(unitsText(3)).toBe("3 件");
  });
});
