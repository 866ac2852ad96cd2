import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ChangeAction, ConfigurationChangeSchema, DocumentErrorSchema } from "../gen/archway/v1/configuration_pb";
import { countChanges, documentErrors, indexDocument, locate, offsetOf, summarise, withoutPlace } from "./changes";

const change = (action: ChangeAction) => create(ConfigurationChangeSchema, { kind: "route", action, name: "x" });

describe("summarise", () => {
  it("counts each action", () => {
    const list = [ChangeAction.CREATE, ChangeAction.CREATE, ChangeAction.UPDATE, ChangeAction.KEEP].map(change);
    expect(countChanges(list)).toEqual({ create: 2, update: 1, delete: 0, keep: 1 });
    expect(summarise(list)).toBe("2 to create, 1 to update; 1 left alone (not in the document; prune deletes them)");
    expect(summarise(list.slice(0, 3), true)).toBe("2 created, 1 updated");
  });
  it("says when nothing changes", () => {
    expect(summarise([])).toBe("Nothing to change");
    expect(summarise([], true)).toBe("Nothing changed");
  });
});

const YAML = `# pets
apis:
  - name: pets
    id: pets
    routes:
      - path: /pets/{petId}
        method: GET
        integration:
          type: HTTP_PROXY
          uri: http://b/pets/{petId}
      - path: /health
        method: GET
        integration: { type: MOCK, status: 200 }
    stages:
    - name: prod
      variables:
        backend: "127.0.0.1:9000"
usage_plans:
  - name: gold
`;

describe("indexDocument (YAML)", () => {
  const index = indexDocument(YAML);
  it("places keys and list items at their lines", () => {
    expect(index.get("apis")).toEqual({ line: 2, column: 1 });
    expect(index.get("apis[0]")).toEqual({ line: 3, column: 3 });
    expect(index.get("apis[0].name")).toEqual({ line: 3, column: 5 });
    expect(index.get("apis[0].id")?.line).toBe(4);
    expect(index.get("apis[0].routes[0].integration.uri")).toEqual({ line: 10, column: 11 });
    expect(index.get("apis[0].routes[1].method")?.line).toBe(12);
    expect(index.get("apis[0].stages[0].variables.backend")?.line).toBe(17);
    expect(index.get("usage_plans[0].name")?.line).toBe(19);
  });
  it("places a path inside a flow collection at its nearest enclosing node", () => {
    expect(locate(index, "apis[0].routes[1].integration.status")?.line).toBe(13);
    expect(locate(index, "nothing.here")).toBeUndefined();
  });
  it("does not take block scalar text for keys", () => {
    const doc = "apis:\n  - name: a\n    description: |\n      note: not a key\n    id: a\n";
    const i = indexDocument(doc);
    expect(i.get("apis[0].id")?.line).toBe(5);
  });
});

describe("indexDocument (JSON)", () => {
  it("places keys and array items at their lines", () => {
    const doc = '{\n  "apis": [\n    {\n      "name": "pets",\n      "routes": [{"path": "/a"}, {"path": "/b", "method": "GET"}]\n    }\n  ]\n}';
    const i = indexDocument(doc);
    expect(i.get("apis")?.line).toBe(2);
    expect(i.get("apis[0]")?.line).toBe(3);
    expect(i.get("apis[0].name")).toEqual({ line: 4, column: 7 });
    expect(i.get("apis[0].routes[1].method")?.line).toBe(5);
    expect(i.get("apis[0].routes[1]")?.column).toBe(34);
  });
});

describe("documentErrors", () => {
  it("places the response's errors at their lines, and syntax errors at theirs", () => {
    const errors = [
      create(DocumentErrorSchema, { path: "apis[0].routes[0].integration.uri", message: "uses path parameter {id}" }),
      create(DocumentErrorSchema, { path: "", message: "line 3, column 7: did not find expected key" }),
      create(DocumentErrorSchema, { path: "unknown_thing", message: "unknown field" }),
    ];
    expect(documentErrors(YAML, { errors })).toEqual([
      { path: "apis[0].routes[0].integration.uri", message: "uses path parameter {id}", line: 10, column: 11 },
      { path: "", message: "line 3, column 7: did not find expected key", line: 3, column: 7 },
      { path: "unknown_thing", message: "unknown field" },
    ]);
  });

  it("reads a status's message lines when the errors came as a refusal", () => {
    const refusal = {
      code: Code.InvalidArgument,
      message: "apis[0].name: is required\ndocument: line 1, column 1: bad\n... and 3 more error(s)",
      fields: { "apis[0].name": "is required" },
    };
    const out = documentErrors(YAML, { refusal });
    expect(out[0]).toEqual({ path: "apis[0].name", message: "is required", line: 3, column: 5 });
    expect(out[1]).toMatchObject({ path: "", line: 1, column: 1 });
    expect(out[2]).toMatchObject({ path: "", message: "... and 3 more error(s)" });
  });

  it("takes a single BadRequest violation as it is", () => {
    const refusal = { code: Code.InvalidArgument, message: "apis[0].id: bad id", fields: { "apis[0].id": "bad id" } };
    expect(documentErrors(YAML, { refusal })).toEqual([{ path: "apis[0].id", message: "bad id", line: 4, column: 5 }]);
  });
});

describe("withoutPlace", () => {
  it("drops the line and column a placed syntax error starts with", () => {
    const [e] = documentErrors(YAML, { errors: [create(DocumentErrorSchema, { path: "", message: "line 3, column 7: did not find expected key" })] });
    expect(withoutPlace(e)).toBe("did not find expected key");
  });

  it("keeps the message of an error with no place whole", () => {
    expect(withoutPlace({ path: "", message: "line 3, column 7: x" })).toBe("line 3, column 7: x");
    expect(withoutPlace({ path: "", message: "... and 3 more error(s)" })).toBe("... and 3 more error(s)");
  });
});

describe("offsetOf", () => {
  it("finds a line and column, clamped to the line and the text", () => {
    const t = "ab\ncde\nf";
    expect(offsetOf(t, 1)).toBe(0);
    expect(offsetOf(t, 2, 2)).toBe(4);
    expect(offsetOf(t, 2, 99)).toBe(6);
    expect(offsetOf(t, 3)).toBe(7);
    expect(offsetOf(t, 9)).toBe(8);
  });
});
