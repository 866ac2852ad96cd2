import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RequestValidatorSchema } from "../gen/archway/v1/config_pb";
import { formToValidator, validatorChecks, validatorToForm, validatorUpdate } from "./validator_form";

const stored = create(RequestValidatorSchema, {
  id: "v1",
  apiId: "shop",
  name: "all",
  validateRequestBody: true,
  validateRequestParameters: true,
});

describe("validator form", () => {
  it("starts a new validator checking both, and reads a stored one as it is", () => {
    expect(validatorToForm()).toEqual({ name: "", body: true, parameters: true });
    expect(validatorToForm(create(RequestValidatorSchema, { name: "none" }))).toEqual({ name: "none", body: false, parameters: false });
  });

  it("creates with the trimmed name and both switches", () => {
    expect(formToValidator("shop", { name: " body-only ", body: true, parameters: false })).toEqual({
      apiId: "shop",
      name: "body-only",
      validateRequestBody: true,
      validateRequestParameters: false,
    });
  });

  it("updates by id with a mask of what changed, a rename included", () => {
    expect(validatorUpdate(stored, { name: "all", body: true, parameters: false })).toEqual({
      requestValidator: { id: "v1", apiId: "shop", name: "all", validateRequestBody: true, validateRequestParameters: false },
      updateMask: { paths: ["validate_request_parameters"] },
    });
    expect(validatorUpdate(stored, { name: "both ", body: false, parameters: true })?.updateMask.paths).toEqual([
      "name",
      "validate_request_body",
    ]);
  });

  it("sends nothing when nothing changed (a name differing only by spaces included)", () => {
    expect(validatorUpdate(stored, { name: " all ", body: true, parameters: true })).toBeNull();
  });

  it("says what a validator checks", () => {
    expect(validatorChecks(stored)).toBe("body and parameters");
    expect(validatorChecks({ validateRequestBody: false, validateRequestParameters: true })).toBe("parameters");
    expect(validatorChecks({ validateRequestBody: true, validateRequestParameters: false })).toBe("body");
    expect(validatorChecks({ validateRequestBody: false, validateRequestParameters: false })).toBe("nothing");
  });
});
