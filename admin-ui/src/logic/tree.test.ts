import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  AuthorizerSchema,
  AuthorizerType,
  IntegrationSchema,
  IntegrationType,
  MethodSchema,
  ResourceSchema,
} from "../gen/archway/v1/config_pb";
import { authorizationSummary, buildTree, canHaveChildren, flatten, integrationSummary } from "./tree";

const res = (id: string, parentId: string, path: string) =>
  create(ResourceSchema, { id, parentId, path, pathPart: path.split("/").pop() ?? "" });
const method = (resourceId: string, httpMethod: string) => create(MethodSchema, { resourceId, httpMethod });

describe("buildTree", () => {
  it("nests resources under their parents, children sorted by path", () => {
    const tree = buildTree(
      [res("p2", "root", "/users"), res("c1", "p1", "/pets/{id}"), res("root", "", "/"), res("p1", "root", "/pets")],
      [],
    );
    expect(tree.map((n) => n.resource.id)).toEqual(["root"]);
    expect(tree[0].children.map((n) => n.resource.path)).toEqual(["/pets", "/users"]);
    expect(tree[0].children[0].children.map((n) => n.resource.id)).toEqual(["c1"]);
  });

  it("attaches methods to their resource in verb order", () => {
    const tree = buildTree(
      [res("root", "", "/"), res("p1", "root", "/pets")],
      [method("p1", "DELETE"), method("p1", "ANY"), method("p1", "GET"), method("root", "POST")],
    );
    expect(tree[0].methods.map((m) => m.httpMethod)).toEqual(["POST"]);
    expect(tree[0].children[0].methods.map((m) => m.httpMethod)).toEqual(["GET", "DELETE", "ANY"]);
  });

  it("keeps a resource whose parent is not listed, as a root", () => {
    const tree = buildTree([res("root", "", "/"), res("orphan", "gone", "/gone/x")], []);
    expect(tree.map((n) => n.resource.id).sort()).toEqual(["orphan", "root"]);
  });

  it("does not loop on a parent cycle and loses no resource", () => {
    const tree = buildTree([res("a", "b", "/a"), res("b", "a", "/b"), res("root", "", "/")], []);
    const all = flatten(tree).map((x) => x.node.resource.id).sort();
    expect(all).toEqual(["a", "b", "root"]);
    // A plain recursive walk (as the page renders) ends and meets each resource once.
    const walk = (nodes: typeof tree, depth: number): string[] => {
      if (depth > 10) throw new Error("the tree loops");
      return nodes.flatMap((n) => [n.resource.id, ...walk(n.children, depth + 1)]);
    };
    expect(walk(tree, 0).sort()).toEqual(["a", "b", "root"]);
  });
});

describe("flatten", () => {
  it("lists every node depth-first with its depth", () => {
    const tree = buildTree(
      [res("root", "", "/"), res("p1", "root", "/pets"), res("c1", "p1", "/pets/{id}"), res("u", "root", "/users")],
      [],
    );
    expect(flatten(tree).map((x) => `${x.depth}${x.node.resource.path}`)).toEqual([
      "0/",
      "1/pets",
      "2/pets/{id}",
      "1/users",
    ]);
  });
});

describe("summaries", () => {
  it("names a proxy's target with its backend verb, a mock's status, and a missing integration", () => {
    const proxy = create(IntegrationSchema, { type: IntegrationType.HTTP_PROXY, uri: "http://b/x", httpMethod: "post" });
    expect(integrationSummary(proxy)).toEqual({ type: "HTTP_PROXY", target: "POST http://b/x" });
    const any = create(IntegrationSchema, { type: IntegrationType.HTTP_PROXY, uri: "http://b/x", httpMethod: "ANY" });
    expect(integrationSummary(any).target).toBe("http://b/x");
    const mock = create(IntegrationSchema, { type: IntegrationType.MOCK, mock: { statusCode: 204 } });
    expect(integrationSummary(mock)).toEqual({ type: "MOCK", target: "answers 204" });
    expect(integrationSummary(undefined).type).toBe("none");
  });

  it("names the authorizer of JWT and CUSTOM methods, and says when it is missing", () => {
    const idp = create(AuthorizerSchema, { id: "a1", name: "idp", type: AuthorizerType.JWT });
    const byId = new Map([["a1", idp]]);
    const jwt = create(MethodSchema, { authorizationType: "JWT", authorizerId: "a1", authorizationScopes: ["read"] });
    expect(authorizationSummary(jwt, byId)).toBe("JWT: idp (scopes read)");
    const custom = create(MethodSchema, { authorizationType: "custom", authorizerId: "zz" });
    expect(authorizationSummary(custom, byId)).toBe("CUSTOM: zz (missing)");
    expect(authorizationSummary(create(MethodSchema, {}), byId)).toBe("NONE");
  });

  it("allows no children under a greedy path", () => {
    expect(canHaveChildren(res("g", "r", "/files/{proxy+}"))).toBe(false);
    expect(canHaveChildren(res("g", "r", "/files/{id}"))).toBe(true);
  });
});
