import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { IntegrationType, MethodSchema } from "../gen/archway/v1/config_pb";
import { emptyMethodForm, formToMethod, methodToForm, parseCount, parseHeaders, splitList } from "./method_form";

describe("formToMethod", () => {
  it("maps an HTTP_PROXY method with its integration", () => {
    const f = { ...emptyMethodForm("GET"), uri: " http://b/pets ", timeoutMs: "5000", cacheKeyParameters: "a, b\nc" };
    const out = formToMethod("api", "r1", f);
    if (!("method" in out)) throw new Error("refused");
    expect(out.method).toMatchObject({
      apiId: "api",
      resourceId: "r1",
      httpMethod: "GET",
      authorizationType: "NONE",
      authorizerId: "",
      authorizationScopes: [],
      integration: { type: IntegrationType.HTTP_PROXY, uri: "http://b/pets", timeoutMs: 5000, cacheKeyParameters: ["a", "b", "c"] },
    });
  });

  it("drops the authorizer and scopes unless the authorization type uses them", () => {
    const f = { ...emptyMethodForm("GET"), authorizationType: "AWS_IAM", authorizerId: "a1", scopes: "read" };
    const out = formToMethod("api", "r1", f);
    if (!("method" in out)) throw new Error("refused");
    expect(out.method.authorizerId).toBe("");
    expect(out.method.authorizationScopes).toEqual([]);
    const custom = formToMethod("api", "r1", { ...f, authorizationType: "CUSTOM" });
    if (!("method" in custom)) throw new Error("refused");
    expect(custom.method.authorizerId).toBe("a1");
    expect(custom.method.authorizationScopes).toEqual([]);
    const jwt = formToMethod("api", "r1", { ...f, authorizationType: "jwt" });
    if (!("method" in jwt)) throw new Error("refused");
    expect(jwt.method.authorizationType).toBe("JWT");
    expect(jwt.method.authorizationScopes).toEqual(["read"]);
  });

  it("sends no integration when the form says none", () => {
    const out = formToMethod("api", "r1", { ...emptyMethodForm("POST"), integrationType: "NONE", uri: "http://x" });
    if (!("method" in out)) throw new Error("refused");
    expect(out.method.integration).toBeUndefined();
  });

  it("maps a MOCK with its headers and body", () => {
    const f = { ...emptyMethodForm("GET"), integrationType: "MOCK" as const, mockStatus: "201", mockHeaders: "content-type: text/plain\n\nx-a: b:c", mockBody: "ok" };
    const out = formToMethod("api", "r1", f);
    if (!("method" in out)) throw new Error("refused");
    expect(out.method.integration).toMatchObject({
      type: IntegrationType.MOCK,
      mock: { statusCode: 201, headers: { "content-type": "text/plain", "x-a": "b:c" }, body: "ok" },
    });
  });

  it("refuses a timeout that is not a number, naming the server's field", () => {
    const out = formToMethod("api", "r1", { ...emptyMethodForm("GET"), timeoutMs: "5s" });
    expect(out).toEqual({ error: { field: "method.integration.timeout_ms", reason: "'5s' is not a whole number of milliseconds" } });
  });

  it("refuses a header line without a colon, naming the line", () => {
    const out = formToMethod("api", "r1", { ...emptyMethodForm("GET"), integrationType: "MOCK", mockHeaders: "a: b\nbroken" });
    expect("error" in out && out.error.field).toBe("method.integration.mock.headers");
    expect("error" in out && out.error.reason).toContain("line 2");
  });
});

describe("methodToForm", () => {
  it("round-trips a method through the form", () => {
    const m = create(MethodSchema, {
      apiId: "api",
      resourceId: "r1",
      httpMethod: "PUT",
      authorizationType: "JWT",
      authorizerId: "a1",
      authorizationScopes: ["read", "write"],
      apiKeyRequired: true,
      integration: { type: IntegrationType.MOCK, timeoutMs: 100, mock: { statusCode: 418, headers: { a: "b" }, body: "tea" } },
    });
    const back = formToMethod("api", "r1", methodToForm(m));
    if (!("method" in back)) throw new Error("refused");
    expect(create(MethodSchema, back.method)).toEqual(m);
  });

  it("reads a backend verb of ANY as the client's verb, and upper-cases the rest", () => {
    const m = (httpMethod: string) =>
      create(MethodSchema, { integration: { type: IntegrationType.HTTP_PROXY, uri: "http://b", httpMethod } });
    expect(methodToForm(m("ANY")).integrationHttpMethod).toBe("");
    expect(methodToForm(m("post")).integrationHttpMethod).toBe("POST");
  });

  it("reads a method without integration as none", () => {
    expect(methodToForm(create(MethodSchema, { httpMethod: "GET" })).integrationType).toBe("NONE");
  });
});

describe("helpers", () => {
  it("splits lists on commas and lines", () => {
    expect(splitList(" a,b\n\n c ,")).toEqual(["a", "b", "c"]);
  });
  it("parses counts, empty as the default, and refuses the rest", () => {
    expect(parseCount("", 7)).toBe(7);
    expect(parseCount(" 42 ", 0)).toBe(42);
    expect(parseCount("-1", 0)).toBeNull();
    expect(parseCount("1.5", 0)).toBeNull();
    expect(parseCount("99999999999", 0)).toBeNull();
  });
  it("parses headers", () => {
    expect(parseHeaders("")).toEqual({ headers: {} });
  });
});
