import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ResourceSchema } from "../gen/archway/v1/config_pb";
import { moveTargets, resourceUpdate } from "./resource_update";
import { buildTree } from "./tree";

const res = (id: string, parentId: string, path: string) =>
  create(ResourceSchema, { id, apiId: "api", parentId, path, pathPart: path.split("/").pop() ?? "" });

describe("resourceUpdate", () => {
  const pets = res("p", "root", "/pets");
  it("is null when nothing changed", () => {
    expect(resourceUpdate(pets, "root", "pets")).toBeNull();
  });
  it("names only what changed", () => {
    expect(resourceUpdate(pets, "root", "animals")).toEqual({
      apiId: "api",
      resourceId: "p",
      parentId: "root",
      pathPart: "animals",
      updateMask: { paths: ["path_part"] },
    });
    expect(resourceUpdate(pets, "v1", "pets")?.updateMask).toEqual({ paths: ["parent_id"] });
  });
});

describe("moveTargets", () => {
  it("offers neither the resource, nor what is under it, nor a greedy path", () => {
    const all = [
      res("root", "", "/"),
      res("p", "root", "/pets"),
      res("c", "p", "/pets/{id}"),
      res("ps", "root", "/petshop"),
      res("g", "root", "/{proxy+}"),
    ];
    const targets = moveTargets(buildTree(all, []), all[1]).map(([, path]) => path);
    expect(targets).toEqual(["/", "/petshop"]);
  });
});
