import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { create, toBinary } from "@bufbuild/protobuf";
import { BadRequestSchema } from "../gen/google/rpc/bad_request_pb";
import { Refused, claimed, fieldError, invalidField, refusal } from "./errors";

describe("refusal", () => {
  it("reads the field from BadRequest details", () => {
    const detail = create(BadRequestSchema, {
      fieldViolations: [{ field: "resource.path_part", description: "unbalanced '{'" }],
    });
    // As it arrives from the wire: the type name and the encoded message.
    const err = new ConnectError("resource.path_part: unbalanced '{'", Code.InvalidArgument);
    err.details.push({ type: BadRequestSchema.typeName, value: toBinary(BadRequestSchema, detail) });
    const r = refusal(err);
    expect(r.fields).toEqual({ "resource.path_part": "unbalanced '{'" });
    expect(fieldError(r, "path_part")).toBe("resource.path_part: unbalanced '{'");
    expect(fieldError(r, "part")).toBeUndefined();
    expect(claimed(r, ["path_part"])).toBe(true);
  });

  it("falls back to the 'field: reason' message of InvalidArgument", () => {
    const r = refusal(new ConnectError("name: must not be empty", Code.InvalidArgument));
    expect(fieldError(r, "name")).toBe("name: must not be empty");
  });

  it("leaves other refusals unclaimed", () => {
    const r = refusal(new ConnectError("token 'x' (read-only) may not call ...", Code.PermissionDenied));
    expect(r.fields).toEqual({});
    expect(claimed(r, ["name"])).toBe(false);
    expect(r.code).toBe(Code.PermissionDenied);
  });
});

describe("invalidField", () => {
  it("is shaped as the server's InvalidArgument, so the same field claims it", () => {
    const r = invalidField("plan.throttle.burst_limit", "'x' must be a whole number");
    expect(r.code).toBe(Code.InvalidArgument);
    expect(r.message).toBe("plan.throttle.burst_limit: 'x' must be a whole number");
    expect(fieldError(r, "burst_limit")).toBe("plan.throttle.burst_limit: 'x' must be a whole number");
    expect(claimed(r, ["throttle.burst_limit"])).toBe(true);
    // What the server sends for the same problem reads the same.
    const wire = refusal(new ConnectError(r.message, Code.InvalidArgument));
    expect(wire.fields).toEqual(r.fields);
  });

  it("comes back unchanged from refusal() when thrown as Refused, not as Unknown", () => {
    const r = invalidField("stage.variables", "'a' is given twice: twice");
    expect(refusal(new Refused(r))).toBe(r);
    expect(refusal(new Error("boom")).code).toBe(Code.Unknown);
  });
});
