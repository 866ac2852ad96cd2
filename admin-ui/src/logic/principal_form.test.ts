import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { Refusal } from "../api/errors";
import { policyError, policyPaths, principalMask } from "./principal_form";

const refused = (field: string, reason: string): Refusal => ({
  code: Code.InvalidArgument,
  message: `${field}: ${reason}`,
  fields: { [field]: reason },
});

describe("policyError", () => {
  it("gives policy i everything under principal.policies[i], whatever part of the document", () => {
    const r = refused("principal.policies[1].Statement[0].Action", "must be a string or list");
    expect(policyError(r, 1)).toBe("principal.policies[1].Statement[0].Action: must be a string or list");
    expect(policyError(r, 0)).toBeUndefined();
    expect(policyError(refused("principal.policies[0].document", "not valid JSON: x"), 0)).toMatch(/not valid JSON/);
    expect(policyError(refused("principal.policies[0]", "too long"), 0)).toMatch(/too long/);
  });

  it("does not mistake policy 1 for policy 10, nor other fields for policies", () => {
    expect(policyError(refused("principal.policies[10].Statement", "x"), 1)).toBeUndefined();
    expect(policyError(refused("principal.name", "x"), 0)).toBeUndefined();
    expect(policyError(null, 0)).toBeUndefined();
  });
});

describe("policyPaths", () => {
  it("claims the policy paths and the list, not the other fields", () => {
    expect(policyPaths(refused("principal.policies[2].Version", "x"))).toEqual(["principal.policies[2].Version"]);
    expect(policyPaths(refused("principal.policies", "at most 10 policies"))).toEqual(["principal.policies"]);
    expect(policyPaths(refused("principal.description", "x"))).toEqual([]);
  });
});

describe("principalMask", () => {
  const p = { description: "d", policies: ["a", "b"] };
  it("names what changed, a reordering or removal of policies too", () => {
    expect(principalMask(p, { ...p })).toEqual([]);
    expect(principalMask(p, { ...p, description: "" })).toEqual(["description"]);
    expect(principalMask(p, { ...p, policies: ["b", "a"] })).toEqual(["policies"]);
    expect(principalMask(p, { description: "e", policies: ["a"] })).toEqual(["description", "policies"]);
  });
});
