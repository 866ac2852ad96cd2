import { describe, expect, it } from "vitest";
import { href, parse } from "./router";

describe("hash routes", () => {
  it("splits and decodes segments", () => {
    expect(parse("#/apis/a%2Fb/deployments").parts).toEqual(["apis", "a/b", "deployments"]);
    expect(parse("").parts).toEqual([]);
    expect(parse("#/fleet?x=1").query.get("x")).toBe("1");
  });
  it("round-trips through href", () => {
    expect(parse(href("apis", "x y", "{id}")).parts).toEqual(["apis", "x y", "{id}"]);
  });
  it("keeps a malformed escape as written", () => {
    expect(parse("#/apis/%E0%A4%A").parts).toEqual(["apis", "%E0%A4%A"]);
  });
});
