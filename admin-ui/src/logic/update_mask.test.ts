import { describe, expect, it } from "vitest";
import { changedPaths } from "./update_mask";

interface Thing {
  name: string;
  limit?: bigint;
  tags: string[];
}

const READ = {
  name: (t: Thing) => t.name,
  limit: (t: Thing) => t.limit ?? null,
  tags: (t: Thing) => t.tags,
};

const thing = (over: Partial<Thing> = {}): Thing => ({ name: "a", limit: 5n, tags: ["x"], ...over });

describe("changedPaths", () => {
  it("names nothing when nothing changed, even for equal bigints and arrays that are not the same object", () => {
    expect(changedPaths(READ, thing(), thing({ limit: 5n, tags: ["x"] }))).toEqual([]);
  });

  it("names each changed field once, in the readers' order", () => {
    expect(changedPaths(READ, thing(), thing({ tags: ["x", "y"], name: "b" }))).toEqual(["name", "tags"]);
    expect(changedPaths(READ, thing(), thing({ limit: 6n }))).toEqual(["limit"]);
    expect(changedPaths(READ, thing(), thing({ limit: undefined }))).toEqual(["limit"]);
  });

  it("looks only at the paths asked for", () => {
    expect(changedPaths(READ, thing(), thing({ name: "b", tags: [] }), ["tags"])).toEqual(["tags"]);
  });

  it("throws for a path it has no reader for instead of sending it", () => {
    expect(() => changedPaths(READ, thing(), thing(), ["nope"])).toThrow(/nope/);
  });
});
