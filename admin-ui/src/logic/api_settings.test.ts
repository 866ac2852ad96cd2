import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ApiKeySource, RestApiSchema } from "../gen/archway/v1/config_pb";
import { apiToSettings, formatPolicy, settingsUpdate } from "./api_settings";

const api = create(RestApiSchema, { id: "pets", name: "pets", description: "d", policy: '{"Version":"2012-10-17"}' });

describe("settingsUpdate", () => {
  it("is null when nothing changed", () => {
    expect(settingsUpdate(api, apiToSettings(api))).toBeNull();
  });

  it("names exactly the changed fields in update_mask", () => {
    const req = settingsUpdate(api, { ...apiToSettings(api), description: "", apiKeySource: ApiKeySource.AUTHORIZER });
    expect(req?.updateMask).toEqual({ paths: ["description", "api_key_source"] });
    expect(req?.description).toBe("");
    expect(req?.apiId).toBe("pets");
  });

  it("clears the policy through the mask when it is emptied", () => {
    const req = settingsUpdate(api, { ...apiToSettings(api), policy: "" });
    expect(req?.updateMask).toEqual({ paths: ["policy"] });
    expect(req?.policy).toBe("");
  });
});

describe("settingsUpdate of a WEBSOCKET API", () => {
  it("changes the route selection expression through the mask", () => {
    const ws = create(RestApiSchema, { id: "chat", name: "chat", routeSelectionExpression: "$request.body.action" });
    const req = settingsUpdate(ws, { ...apiToSettings(ws), routeSelectionExpression: "$request.body.type" });
    expect(req?.updateMask).toEqual({ paths: ["route_selection_expression"] });
    expect(req?.routeSelectionExpression).toBe("$request.body.type");
    // Other changes leave it out of the mask.
    expect(settingsUpdate(ws, { ...apiToSettings(ws), name: "c" })?.updateMask).toEqual({ paths: ["name"] });
  });
});

describe("formatPolicy", () => {
  it("indents JSON and leaves anything else as typed", () => {
    expect(formatPolicy('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(formatPolicy("{bad")).toBe("{bad");
    expect(formatPolicy("")).toBe("");
  });
});
