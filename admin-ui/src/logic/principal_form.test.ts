import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { Refusal } from "../api/errors";
import { IamPrincipalSchema, PrincipalType } from "../gen/archway/v1/config_pb";
import { formToPrincipal, policyError, policyPaths, principalMask, principalToForm, principalUpdate } from "./principal_form";

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

describe("PrincipalForm", () => {
  const role = create(IamPrincipalSchema, {
    name: "deployer",
    type: PrincipalType.ROLE,
    description: "CI",
    policies: ["{}", '{"Version":"2012-10-17"}'],
    arn: "arn:aws:iam::000000000000:role/deployer",
  });

  it("starts a new principal as a user with no policies", () => {
    expect(principalToForm()).toEqual({ name: "", type: String(PrincipalType.USER), description: "", policies: [] });
  });

  it("reads a principal into the form and creates it back as it was", () => {
    const f = principalToForm(role);
    expect(f).toEqual({ name: "deployer", type: String(PrincipalType.ROLE), description: "CI", policies: role.policies });
    // The form's list is its own: editing it does not edit the listed principal.
    expect(f.policies).not.toBe(role.policies);
    expect(formToPrincipal(f)).toEqual({ name: "deployer", type: PrincipalType.ROLE, description: "CI", policies: role.policies });
  });

  it("updates only description and policies, masking what changed", () => {
    const f = { ...principalToForm(role), name: "renamed", type: String(PrincipalType.USER), policies: ["{}"] };
    expect(principalUpdate(role, f)).toEqual({
      principal: { name: "deployer", description: "CI", policies: ["{}"] },
      updateMask: { paths: ["policies"] },
    });
    expect(principalUpdate(role, principalToForm(role)).updateMask.paths).toEqual([]);
  });
});
