import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AuthorizerSchema, AuthorizerType } from "../gen/archway/v1/config_pb";
import { authorizerToForm, emptyAuthorizerForm, formToAuthorizer, updateMaskFor } from "./authorizer_form";

describe("formToAuthorizer", () => {
  it("maps a JWT authorizer and leaves out the custom fields", () => {
    const f = {
      ...emptyAuthorizerForm("JWT"),
      name: " idp ",
      issuer: "https://idp",
      audiences: "a\nb",
      jwksUri: "https://idp/jwks",
      algorithms: "RS256, ES256",
      leewaySeconds: "30",
      authorizerUri: "http://stale",
      timeoutMs: "500",
    };
    const out = formToAuthorizer("api", f);
    if (!("authorizer" in out)) throw new Error("refused");
    expect(out.authorizer).toEqual({
      id: "",
      apiId: "api",
      name: "idp",
      type: AuthorizerType.JWT,
      identitySource: "",
      jwt: { issuer: "https://idp", audiences: ["a", "b"], jwksUri: "https://idp/jwks", algorithms: ["RS256", "ES256"], leewaySeconds: 30 },
    });
  });

  it("maps a TOKEN authorizer; an empty TTL is absent (the server's default), 0 is kept", () => {
    const f = { ...emptyAuthorizerForm("TOKEN"), name: "t", authorizerUri: "http://auth", identityValidationExpression: "^Bearer .+$", issuer: "stale" };
    const out = formToAuthorizer("api", f, "id1");
    if (!("authorizer" in out)) throw new Error("refused");
    expect(out.authorizer.id).toBe("id1");
    expect(out.authorizer.jwt).toBeUndefined();
    expect(out.authorizer.resultTtlSeconds).toBeUndefined();
    expect(out.authorizer.identityValidationExpression).toBe("^Bearer .+$");
    const zero = formToAuthorizer("api", { ...f, resultTtlSeconds: "0" });
    if (!("authorizer" in zero)) throw new Error("refused");
    expect(zero.authorizer.resultTtlSeconds).toBe(0);
  });

  it("does not send a validation expression for REQUEST authorizers", () => {
    const f = { ...emptyAuthorizerForm("REQUEST"), identityValidationExpression: "x" };
    const out = formToAuthorizer("api", f);
    if (!("authorizer" in out)) throw new Error("refused");
    expect(out.authorizer.identityValidationExpression).toBeUndefined();
  });

  it("refuses numbers that are not numbers, naming the server's field", () => {
    expect(formToAuthorizer("api", { ...emptyAuthorizerForm("TOKEN"), resultTtlSeconds: "5m" })).toEqual({
      error: { field: "authorizer.result_ttl_seconds", reason: "'5m' is not a whole number of seconds" },
    });
    const jwt = formToAuthorizer("api", { ...emptyAuthorizerForm("JWT"), leewaySeconds: "x" });
    expect("error" in jwt && jwt.error.field).toBe("authorizer.jwt.leeway_seconds");
  });
});

describe("authorizerToForm", () => {
  it("round-trips each kind", () => {
    const kinds = [
      create(AuthorizerSchema, {
        id: "a", apiId: "api", name: "idp", type: AuthorizerType.JWT, identitySource: "X-Token",
        jwt: { issuer: "https://i", audiences: ["x"], jwksUri: "https://i/k", algorithms: ["RS256"], leewaySeconds: 10 },
      }),
      create(AuthorizerSchema, {
        id: "b", apiId: "api", name: "tok", type: AuthorizerType.TOKEN, authorizerUri: "http://a",
        resultTtlSeconds: 0, identityValidationExpression: "x+", timeoutMs: 200,
      }),
      create(AuthorizerSchema, {
        id: "c", apiId: "api", name: "req", type: AuthorizerType.REQUEST, authorizerUri: "http://a",
        identitySource: "method.request.header.X", resultTtlSeconds: 60,
      }),
    ];
    for (const a of kinds) {
      const back = formToAuthorizer("api", authorizerToForm(a), a.id);
      if (!("authorizer" in back)) throw new Error("refused");
      expect(create(AuthorizerSchema, back.authorizer)).toEqual(a);
    }
  });
});

describe("updateMaskFor", () => {
  it("names every field of the kind and never the type", () => {
    expect(updateMaskFor("JWT")).toEqual(["name", "identity_source", "jwt"]);
    expect(updateMaskFor("TOKEN")).toEqual([
      "name",
      "identity_source",
      "authorizer_uri",
      "result_ttl_seconds",
      "timeout_ms",
      "identity_validation_expression",
    ]);
    // A REQUEST authorizer has no validation expression: the mask never names it.
    expect(updateMaskFor("REQUEST")).toEqual(["name", "identity_source", "authorizer_uri", "result_ttl_seconds", "timeout_ms"]);
    for (const k of ["JWT", "TOKEN", "REQUEST"] as const) expect(updateMaskFor(k)).not.toContain("type");
  });
});
