// Renaming or moving a resource (UpdateResource): the request names in
// update_mask only what the operator changed, and the parent picker offers
// no place the server would refuse for a loop (the resource itself or
// anything under it).
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { UpdateResourceRequestSchema } from "../gen/archway/v1/admin_pb";
import type { Resource } from "../gen/archway/v1/config_pb";
import { type TreeNode, canHaveChildren, flatten } from "./tree";
import { changedPaths } from "./update_mask";

export type UpdateResourceInit = MessageInitShape<typeof UpdateResourceRequestSchema>;

interface Place {
  parentId: string;
  pathPart: string;
}

const PLACE_FIELDS = {
  parent_id: (p: Place) => p.parentId,
  path_part: (p: Place) => p.pathPart,
};

/** The request for a new parent and path part; null when neither changed. */
export function resourceUpdate(r: Resource, parentId: string, pathPart: string): UpdateResourceInit | null {
  const paths = changedPaths(PLACE_FIELDS, r, { parentId, pathPart });
  if (paths.length === 0) return null;
  return { apiId: r.apiId, resourceId: r.id, parentId, pathPart, updateMask: { paths } };
}

/** Where `r` may move: every resource that is not `r`, not under it, and not greedy. */
export function moveTargets(roots: TreeNode[], r: Resource): Array<[id: string, path: string]> {
  const own = `${r.path}/`;
  return flatten(roots)
    .map(({ node }) => node.resource)
    .filter((p) => p.id !== r.id && !p.path.startsWith(own) && canHaveChildren(p))
    .map((p) => [p.id, p.path]);
}
