import { describe, expect, it } from "vitest";
import { throttleText } from "./throttle_text";

describe("throttleText", () => {
  it("reads rate and burst", () => {
    expect(throttleText({ rateLimit: 12.5, burstLimit: 20 })).toBe("12.5/s, burst 20");
  });
  it("says what no throttle means where it is shown", () => {
    expect(throttleText(undefined)).toBe("none");
    expect(throttleText(undefined, "no stage limit")).toBe("no stage limit");
  });
});
