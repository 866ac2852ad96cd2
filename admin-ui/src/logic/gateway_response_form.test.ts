import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { GatewayResponseSchema } from "../gen/archway/v1/config_pb";
import {
  RESPONSE_TYPES,
  defaultStatus,
  formToGatewayResponse,
  formatHeaderMappings,
  parseHeaderMappings,
  responseToForm,
  templateMap,
  templateRowError,
} from "./gateway_response_form";

describe("parseHeaderMappings", () => {
  it("reads Name: source lines, prefixing each name, keeping colons in the source", () => {
    const out = parseHeaderMappings("Access-Control-Allow-Origin: 'https://app.example:8443'\n\n  X-Req : context.requestId \n");
    expect(out).toEqual({
      params: {
        "gatewayresponse.header.Access-Control-Allow-Origin": "'https://app.example:8443'",
        "gatewayresponse.header.X-Req": "context.requestId",
      },
    });
  });

  it("takes a name already written with the prefix as it is", () => {
    expect(parseHeaderMappings("gatewayresponse.header.X-A: 'a'")).toEqual({ params: { "gatewayresponse.header.X-A": "'a'" } });
  });

  it("refuses the first bad line by number, under the server's field", () => {
    const noColon = parseHeaderMappings("X-A: 'a'\nX-B 'b'");
    expect(noColon).toEqual({
      error: {
        field: "gateway_response.response_parameters",
        reason: "line 2 ('X-B 'b'') is not 'Name: source', e.g. Access-Control-Allow-Origin: '*'",
      },
    });
    const empty = parseHeaderMappings("X-A:");
    expect("error" in empty && empty.error.reason).toMatch(/^line 1 \('X-A:'\) maps the header to nothing/);
    const unnamed = parseHeaderMappings(`gatewayresponse.header.: 'x'`);
    expect("error" in unnamed && unnamed.error.reason).toMatch(/names no header$/);
  });

  it("refuses a header mapped twice, without case", () => {
    const out = parseHeaderMappings("X-A: 'a'\nx-a: 'b'");
    expect("error" in out && out.error.reason).toBe("line 2 ('x-a: 'b'') maps header x-a again (line 1)");
  });

  it("round-trips with formatHeaderMappings", () => {
    const params = { "gatewayresponse.header.B": "'b'", "gatewayresponse.header.A": "method.request.header.x" };
    expect(formatHeaderMappings(params)).toBe("A: method.request.header.x\nB: 'b'");
    expect(parseHeaderMappings(formatHeaderMappings(params))).toEqual({ params });
  });
});

describe("templateMap", () => {
  it("keys rows by their trimmed media type and drops rows left empty", () => {
    const out = templateMap([
      { mediaType: " application/json ", template: '{"m": 1}' },
      { mediaType: "", template: "  " },
      { mediaType: "text/plain", template: "" },
    ]);
    expect(out).toEqual({ templates: { "application/json": '{"m": 1}', "text/plain": "" } });
  });

  it("refuses a template without a media type, and a media type twice without case", () => {
    expect(templateMap([{ mediaType: " ", template: "x" }])).toEqual({
      error: { field: "gateway_response.response_templates", reason: "a template has no media type (e.g. application/json)" },
    });
    const twice = templateMap([
      { mediaType: "application/json", template: "a" },
      { mediaType: "Application/JSON", template: "b" },
    ]);
    expect("error" in twice && twice.error.reason).toBe("media type Application/JSON is given twice");
  });
});

describe("formToGatewayResponse and responseToForm", () => {
  it("builds the whole customisation", () => {
    const out = formToGatewayResponse("shop", {
      type: "BAD_REQUEST_BODY",
      statusCode: " 422 ",
      headers: "X-Err: context.error.responseType",
      templates: [{ mediaType: "application/json", template: "$context.error.validationErrorString" }],
    });
    expect(out).toEqual({
      gatewayResponse: {
        apiId: "shop",
        responseType: "BAD_REQUEST_BODY",
        statusCode: "422",
        responseParameters: { "gatewayresponse.header.X-Err": "context.error.responseType" },
        responseTemplates: { "application/json": "$context.error.validationErrorString" },
      },
    });
  });

  it("stops at the first mistake, headers before templates", () => {
    const out = formToGatewayResponse("shop", { type: "THROTTLED", statusCode: "", headers: "bad", templates: [{ mediaType: "", template: "x" }] });
    expect("error" in out && out.error.field).toBe("gateway_response.response_parameters");
  });

  it("reads a stored customisation back into the same form", () => {
    const stored = create(GatewayResponseSchema, {
      apiId: "shop",
      responseType: "THROTTLED",
      statusCode: "503",
      responseParameters: { "gatewayresponse.header.Retry-After": "'10'" },
      responseTemplates: { "text/plain": "slow down", "application/json": "{}" },
    });
    const form = responseToForm(stored);
    expect(form).toEqual({
      type: "THROTTLED",
      statusCode: "503",
      headers: "Retry-After: '10'",
      templates: [
        { mediaType: "application/json", template: "{}" },
        { mediaType: "text/plain", template: "slow down" },
      ],
    });
    const again = formToGatewayResponse("shop", form);
    expect("gatewayResponse" in again && again.gatewayResponse.responseParameters).toEqual(stored.responseParameters);
  });

  it("starts a new one with the type asked for and a JSON template", () => {
    const form = responseToForm(undefined, "DEFAULT_5XX");
    expect(form.type).toBe("DEFAULT_5XX");
    expect(form.templates.map((t) => t.mediaType)).toEqual(["application/json"]);
  });
});

describe("defaultStatus and templateRowError", () => {
  it("knows every type the server takes, with AWS's default status", () => {
    expect(RESPONSE_TYPES).toHaveLength(21);
    expect(defaultStatus("THROTTLED")).toBe("429");
    expect(defaultStatus("DEFAULT_4XX")).toBe("each 4XX type's own");
    expect(defaultStatus("NOPE")).toBe("");
  });

  it("finds the server's reason for one template row", () => {
    const r = {
      code: Code.InvalidArgument,
      message: "m",
      fields: { 'gateway_response.response_templates["json"]': "'json' is not a media type" },
    };
    expect(templateRowError(r, " json ")).toBe(`gateway_response.response_templates["json"]: 'json' is not a media type`);
    expect(templateRowError(r, "application/json")).toBeUndefined();
    expect(templateRowError(null, "json")).toBeUndefined();
  });
});
