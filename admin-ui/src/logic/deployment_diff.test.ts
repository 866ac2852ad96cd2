import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  type Authorizer,
  AuthorizerSchema,
  AuthorizerType,
  type Deployment,
  DeploymentSchema,
  IntegrationType,
  type Method,
  MethodSchema,
  ResourceSchema,
} from "../gen/archway/v1/config_pb";
import { diffDeployments, isEmptyDiff } from "./deployment_diff";

const root = create(ResourceSchema, { id: "r0", apiId: "a", path: "/", pathPart: "" });
const pets = create(ResourceSchema, { id: "r1", apiId: "a", parentId: "r0", path: "/pets", pathPart: "pets" });
const pet = create(ResourceSchema, {
  id: "r2",
  apiId: "a",
  parentId: "r1",
  path: "/pets/{petId}",
  pathPart: "{petId}",
});

function proxy(resourceId: string, verb: string, uri: string, extra: Partial<Pick<Method, "apiKeyRequired" | "authorizationType" | "authorizerId" | "authorizationScopes">> = {},
): Method {
  return create(MethodSchema, {
    apiId: "a",
    resourceId,
    httpMethod: verb,
    integration: { type: IntegrationType.HTTP_PROXY, uri },
    ...extra,
  });
}

const jwtUsers: Authorizer = create(AuthorizerSchema, {
  id: "au1",
  apiId: "a",
  name: "users",
  type: AuthorizerType.JWT,
  jwt: { issuer: "https://idp.example", audiences: ["app"], jwksUri: "https://idp.example/jwks" },
});

function deployment(parts: Partial<Pick<Deployment, "resources" | "methods" | "authorizers">>): Deployment {
  return create(DeploymentSchema, {
    id: "d",
    apiId: "a",
    resources: parts.resources ?? [root, pets, pet],
    methods: parts.methods ?? [proxy("r1", "GET", "http://up/pets"), proxy("r2", "GET", "http://up/pets/{petId}")],
    authorizers: parts.authorizers ?? [jwtUsers],
  });
}

describe("diffDeployments", () => {
  it("finds nothing between a deployment and a copy of it", () => {
    const d = diffDeployments(deployment({}), deployment({}));
    expect(isEmptyDiff(d)).toBe(true);
    expect(d).toEqual({ resources: [], methods: [], integrations: [], authorizers: [] });
  });

  it("does not depend on the order of resources, methods, authorizers or map keys", () => {
    const a = deployment({
      methods: [
        proxy("r1", "GET", "http://up/pets"),
        create(MethodSchema, {
          apiId: "a",
          resourceId: "r2",
          httpMethod: "GET",
          integration: {
            type: IntegrationType.MOCK,
            mock: { statusCode: 200, headers: { "x-a": "1", "x-b": "2" }, body: "{}" },
          },
        }),
      ],
    });
    const b = deployment({
      resources: [pet, root, pets],
      methods: [
        create(MethodSchema, {
          apiId: "a",
          resourceId: "r2",
          httpMethod: "GET",
          integration: {
            type: IntegrationType.MOCK,
            mock: { statusCode: 200, headers: { "x-b": "2", "x-a": "1" }, body: "{}" },
          },
        }),
        proxy("r1", "GET", "http://up/pets"),
      ],
    });
    expect(isEmptyDiff(diffDeployments(a, b))).toBe(true);
  });

  it("lists an added method with its integration, and a removed one", () => {
    const before = deployment({});
    const after = deployment({
      methods: [proxy("r1", "GET", "http://up/pets"), proxy("r1", "POST", "http://up/pets")],
    });
    const d = diffDeployments(before, after);
    expect(d.methods).toEqual([
      {
        kind: "removed",
        label: "GET /pets/{petId}",
        fields: [
          { field: "integration.type", before: "HTTP_PROXY" },
          { field: "integration.uri", before: "http://up/pets/{petId}" },
        ],
      },
      {
        kind: "added",
        label: "POST /pets",
        fields: [
          { field: "integration.type", after: "HTTP_PROXY" },
          { field: "integration.uri", after: "http://up/pets" },
        ],
      },
    ]);
    expect(d.resources).toEqual([]);
    expect(d.integrations).toEqual([]);
  });

  it("shows a changed integration URI old → new under integrations, not methods", () => {
    const after = deployment({
      methods: [proxy("r1", "GET", "http://v2/pets"), proxy("r2", "GET", "http://up/pets/{petId}")],
    });
    const d = diffDeployments(deployment({}), after);
    expect(d.methods).toEqual([]);
    expect(d.integrations).toEqual([
      {
        kind: "changed",
        label: "GET /pets",
        fields: [{ field: "integration.uri", before: "http://up/pets", after: "http://v2/pets" }],
      },
    ]);
  });

  it("shows changed method fields: API key, authorization and authorizer by name", () => {
    const after = deployment({
      methods: [
        proxy("r1", "GET", "http://up/pets", {
          apiKeyRequired: true,
          authorizationType: "JWT",
          authorizerId: "au1",
          authorizationScopes: ["read", "write"],
        }),
        proxy("r2", "GET", "http://up/pets/{petId}"),
      ],
    });
    const d = diffDeployments(deployment({}), after);
    expect(d.methods).toEqual([
      {
        kind: "changed",
        label: "GET /pets",
        fields: [
          { field: "api_key_required", after: "true" },
          { field: "authorization_scopes", after: "read, write" },
          { field: "authorization_type", after: "JWT" },
          { field: "authorizer", after: "users" },
        ],
      },
    ]);
  });

  it("reports a renamed path as one changed resource and keeps its methods matched", () => {
    const renamed = create(ResourceSchema, { ...pet, path: "/pets/{id}", pathPart: "{id}" });
    const d = diffDeployments(deployment({}), deployment({ resources: [root, pets, renamed] }));
    expect(d.resources).toEqual([
      {
        kind: "changed",
        label: "/pets/{id} (was /pets/{petId})",
        fields: [
          { field: "path", before: "/pets/{petId}", after: "/pets/{id}" },
          { field: "path_part", before: "{petId}", after: "{id}" },
        ],
      },
    ]);
    expect(d.methods).toEqual([]);
    expect(d.integrations).toEqual([]);
  });

  it("matches a resource made again under a new id by its path", () => {
    const remade = create(ResourceSchema, { ...pet, id: "r9" });
    const after = deployment({
      resources: [root, pets, remade],
      methods: [proxy("r1", "GET", "http://up/pets"), proxy("r9", "GET", "http://up/pets/{petId}")],
    });
    expect(isEmptyDiff(diffDeployments(deployment({}), after))).toBe(true);
  });

  it("lists added and removed resources with their methods", () => {
    const owners = create(ResourceSchema, { id: "r3", parentId: "r0", path: "/owners", pathPart: "owners" });
    const after = deployment({
      resources: [root, pets, owners],
      methods: [proxy("r1", "GET", "http://up/pets"), proxy("r3", "GET", "http://up/owners")],
    });
    const d = diffDeployments(deployment({}), after);
    expect(d.resources.map((c) => [c.kind, c.label])).toEqual([
      ["added", "/owners"],
      ["removed", "/pets/{petId}"],
    ]);
    expect(d.methods.map((c) => [c.kind, c.label])).toEqual([
      ["added", "GET /owners"],
      ["removed", "GET /pets/{petId}"],
    ]);
  });

  it("shows an integration added to or dropped from a method", () => {
    const bare = create(MethodSchema, { apiId: "a", resourceId: "r1", httpMethod: "GET" });
    const d = diffDeployments(
      deployment({ methods: [bare] }),
      deployment({ methods: [proxy("r1", "GET", "http://up/pets")] }),
    );
    expect(d.integrations.map((c) => c.kind)).toEqual(["added"]);
    const back = diffDeployments(
      deployment({ methods: [proxy("r1", "GET", "http://up/pets")] }),
      deployment({ methods: [bare] }),
    );
    expect(back.integrations.map((c) => c.kind)).toEqual(["removed"]);
    expect(back.integrations[0].fields).toContainEqual({ field: "integration.uri", before: "http://up/pets" });
  });

  it("shows changed mock headers by key", () => {
    const mock = (headers: Record<string, string>) =>
      create(MethodSchema, {
        apiId: "a",
        resourceId: "r1",
        httpMethod: "GET",
        integration: { type: IntegrationType.MOCK, mock: { statusCode: 200, headers } },
      });
    const d = diffDeployments(
      deployment({ methods: [mock({ a: "1", b: "2" })] }),
      deployment({ methods: [mock({ b: "3", c: "4" })] }),
    );
    expect(d.integrations[0].fields).toEqual([
      { field: "integration.mock.headers.a", before: "1" },
      { field: "integration.mock.headers.b", before: "2", after: "3" },
      { field: "integration.mock.headers.c", after: "4" },
    ]);
  });

  it("diffs authorizers: changed issuer, added, removed, and renamed", () => {
    const changed = create(AuthorizerSchema, { ...jwtUsers, jwt: { ...jwtUsers.jwt!, issuer: "https://new.example" } });
    const token = create(AuthorizerSchema, {
      id: "au2",
      name: "tokens",
      type: AuthorizerType.TOKEN,
      authorizerUri: "http://auth/check",
    });
    const d = diffDeployments(deployment({}), deployment({ authorizers: [changed, token] }));
    expect(d.authorizers).toEqual([
      {
        kind: "added",
        label: "tokens",
        fields: [
          { field: "authorizer_uri", after: "http://auth/check" },
          { field: "name", after: "tokens" },
          { field: "type", after: "TOKEN" },
        ],
      },
      {
        kind: "changed",
        label: "users",
        fields: [{ field: "jwt.issuer", before: "https://idp.example", after: "https://new.example" }],
      },
    ]);
    const renamed = create(AuthorizerSchema, { ...jwtUsers, name: "people" });
    const r = diffDeployments(deployment({}), deployment({ authorizers: [renamed] }));
    expect(r.authorizers).toEqual([
      { kind: "changed", label: "people (was users)", fields: [{ field: "name", before: "users", after: "people" }] },
    ]);
    const gone = diffDeployments(deployment({}), deployment({ authorizers: [] }));
    expect(gone.authorizers.map((c) => [c.kind, c.label])).toEqual([["removed", "users"]]);
  });

  it("names the authorizer a method switched to, matched across re-created authorizers", () => {
    const other = create(AuthorizerSchema, { id: "au2", name: "staff", type: AuthorizerType.JWT });
    const uses = (id: string) =>
      proxy("r1", "GET", "http://up/pets", { authorizationType: "JWT", authorizerId: id });
    const d = diffDeployments(
      deployment({ methods: [uses("au1")], authorizers: [jwtUsers, other] }),
      deployment({ methods: [uses("au2")], authorizers: [jwtUsers, other] }),
    );
    expect(d.methods[0].fields).toEqual([{ field: "authorizer", before: "users", after: "staff" }]);
    // The same authorizer made again under a new id is no change.
    const remade = create(AuthorizerSchema, { ...jwtUsers, id: "au7" });
    const same = diffDeployments(
      deployment({ methods: [uses("au1")] }),
      deployment({ methods: [uses("au7")], authorizers: [remade] }),
    );
    expect(isEmptyDiff(same)).toBe(true);
  });
});
