import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { fieldError } from "../api/errors";
import { existsOn, foldInto } from "./refusals";

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

describe("existsOn", () => {
  const taken = { code: Code.AlreadyExists, message: "an API key with the value given in key.value already exists", fields: {} };

  it("puts an AlreadyExists refusal naming the field beside it", () => {
    const r = existsOn(taken, "value");
    expect(r?.fields).toEqual({ value: taken.message });
    expect(fieldError(r, "value")).toContain("already exists");
  });

  it("leaves other refusals as they are", () => {
    const other = { ...taken, message: "an API key with id k1 already exists" };
    expect(existsOn(other, "value")).toBe(other);
    const invalid = refusal({ name: "too long" });
    expect(existsOn({ ...invalid, message: "value: bad" }, "value")?.fields).toEqual({ name: "too long" });
    expect(existsOn(null, "value")).toBeNull();
  });
});
