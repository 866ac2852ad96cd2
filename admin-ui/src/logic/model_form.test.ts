import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ModelSchema } from "../gen/archway/v1/config_pb";
import { formToModel, formatSchema, modelToForm, modelUpdate, referencedModels, schemaProblem } from "./model_form";

describe("schemaProblem", () => {
  it("lets an object schema through", () => {
    expect(schemaProblem('{"type": "object"}')).toBeNull();
    expect(schemaProblem(modelToForm().schema)).toBeNull();
  });

  it("refuses an empty schema under model.schema, as the server words it", () => {
    expect(schemaProblem("  \n")).toEqual({ field: "model.schema", reason: "is required (a JSON Schema, draft 4)" });
  });

  it("refuses text that is not JSON, with the line and column of the mistake", () => {
    const p = schemaProblem('{\n  "type": "object",\n  "properties": {,}\n}');
    expect(p?.field).toBe("model.schema");
    expect(p?.reason).toMatch(/^is not JSON: /);
    expect(p?.reason).toMatch(/line 3 column 18/);
  });

  it("refuses JSON that is not an object: draft 4 schemas are objects", () => {
    expect(schemaProblem("[]")?.reason).toBe("must be a JSON object (a draft 4 schema), not an array");
    expect(schemaProblem("true")?.reason).toMatch(/not a boolean$/);
    expect(schemaProblem('"string"')?.reason).toMatch(/not a string$/);
    expect(schemaProblem("null")?.reason).toMatch(/not null$/);
  });
});

describe("formToModel", () => {
  it("sends the schema as typed and trims the name and content type", () => {
    const schema = '{ "type": "object" }';
    const out = formToModel("shop", { name: " Order ", contentType: " application/json ", description: "An order", schema });
    expect(out).toEqual({
      model: { apiId: "shop", name: "Order", contentType: "application/json", description: "An order", schema },
    });
  });

  it("refuses a schema that cannot be sent, before sending", () => {
    const out = formToModel("shop", { ...modelToForm(), name: "Order", schema: "{" });
    expect("error" in out && out.error.field).toBe("model.schema");
  });
});

describe("modelUpdate", () => {
  const before = create(ModelSchema, {
    apiId: "shop",
    name: "Order",
    description: "old",
    contentType: "application/json",
    schema: '{"type":"object"}',
  });

  it("masks only what changed, and keeps the name that identifies the model", () => {
    const out = modelUpdate(before, { ...modelToForm(before), name: "Renamed", description: "new" });
    expect(out).toEqual({
      model: { apiId: "shop", name: "Order", description: "new", contentType: "application/json", schema: '{"type":"object"}' },
      updateMask: { paths: ["description"] },
    });
  });

  it("is null when nothing changed", () => {
    expect(modelUpdate(before, modelToForm(before))).toBeNull();
  });

  it("checks the schema only when it is sent", () => {
    const bad = modelUpdate(before, { ...modelToForm(before), schema: "[1]" });
    expect(bad && "error" in bad && bad.error.field).toBe("model.schema");
    const ok = modelUpdate(before, { ...modelToForm(before), schema: '{"type":"array"}', contentType: "text/plain" });
    expect(ok && "updateMask" in ok && ok.updateMask.paths).toEqual(["schema", "content_type"]);
  });

  it("treats a stored model without a content type as the server's default", () => {
    const bare = create(ModelSchema, { ...before, contentType: "" });
    expect(modelToForm(bare).contentType).toBe("application/json");
    expect(modelUpdate(bare, modelToForm(bare))).toBeNull();
  });
});

describe("formatSchema and referencedModels", () => {
  it("re-indents JSON and leaves anything else alone", () => {
    expect(formatSchema('{"a":[1]}')).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(formatSchema("{oops")).toBe("{oops");
  });

  it("names each model a schema refers to by URL, once, and not its own fragments", () => {
    const url = (name: string) => `https://apigateway.amazonaws.com/restapis/shop/models/${name}`;
    const schema = JSON.stringify({
      properties: { a: { $ref: url("Item") }, b: { items: [{ $ref: `${url("Item")}#/definitions/x` }, { $ref: url("Price") }] } },
      c: { $ref: "#/definitions/local" },
    });
    expect(referencedModels(schema)).toEqual(["Item", "Price"]);
    expect(referencedModels("not json")).toEqual([]);
  });
});
