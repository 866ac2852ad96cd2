import { describe, expect, it } from "vitest";
import { tokenId } from "./tokens";

describe("tokenId", () => {
  it("is the first 12 lowercase hex digits of the token's SHA-256", async () => {
    // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    expect(await tokenId("abc")).toBe("ba7816bf8f01");
  });
  it("differs for different tokens", async () => {
    expect(await tokenId("awt_a")).not.toBe(await tokenId("awt_b"));
  });
});
