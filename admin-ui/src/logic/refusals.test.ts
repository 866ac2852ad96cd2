import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { fieldError } from "../api/errors";
import { foldInto } from "./refusals";

const refusal = (fields: Record<string, string>) => ({ code: Code.InvalidArgument, message: "m", fields });

describe("foldInto", () => {
  it("moves a path inside a value to the value's field", () => {
    const r = foldInto(refusal({ "policy.Statement[0].Effect": "must be Allow or Deny" }), ["policy"]);
    expect(r?.fields).toEqual({ policy: "Statement[0].Effect: must be Allow or Deny" });
    expect(fieldError(r, "policy")).toBe("policy: Statement[0].Effect: must be Allow or Deny");
  });

  it("keeps the request prefix and folds list indexes", () => {
    const r = foldInto(refusal({ "method.integration.cache_key_parameters[1]": "unknown" }), ["integration.cache_key_parameters"]);
    expect(r?.fields).toEqual({ "method.integration.cache_key_parameters": "[1]: unknown" });
    expect(fieldError(r, "integration.cache_key_parameters")).toContain("[1]: unknown");
  });

  it("leaves exact and unrelated fields alone", () => {
    const r = refusal({ policy: "too long", "policyx.a": "no" });
    expect(foldInto(r, ["policy"])).toBe(r);
    expect(foldInto(null, ["policy"])).toBeNull();
  });
});
