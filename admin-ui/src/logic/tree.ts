// An API's resources arrive as a flat list (each names its parent); the
// detail page shows them as the tree they form, each with its methods.
import type { Authorizer, Integration, Method, Resource } from "../gen/archway/v1/config_pb";
import { IntegrationType } from "../gen/archway/v1/config_pb";

export interface TreeNode {
  resource: Resource;
  /** This resource's methods, in VERBS order. */
  methods: Method[];
  children: TreeNode[];
}

/** The verbs the admin API accepts, in the order the UI lists them. */
export const VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"] as const;

function verbRank(verb: string): number {
  const i = (VERBS as readonly string[]).indexOf(verb.toUpperCase());
  return i < 0 ? VERBS.length : i;
}

/**
 * Nests `resources` under their parents, children sorted by path part.
 * The roots are the resources without a parent and those whose parent is
 * not in the list (a page read while another client deleted it): nothing
 * the server listed goes missing. A parent cycle (which the server never
 * makes) cannot loop: each resource is placed once.
 */
export function buildTree(resources: Resource[], methods: Method[]): TreeNode[] {
  const byResource = new Map<string, Method[]>();
  for (const m of methods) {
    const list = byResource.get(m.resourceId) ?? [];
    list.push(m);
    byResource.set(m.resourceId, list);
  }
  const nodes = new Map<string, TreeNode>();
  for (const r of resources) {
    const ms = (byResource.get(r.id) ?? []).slice();
    ms.sort((a, b) => verbRank(a.httpMethod) - verbRank(b.httpMethod));
    nodes.set(r.id, { resource: r, methods: ms, children: [] });
  }
  const roots: TreeNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.resource.parentId ? nodes.get(node.resource.parentId) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  // Resources caught in a parent cycle are reachable from no root: one of
  // each cycle becomes a root, cut from its parent, so the tree is finite.
  const reached = new Set<string>();
  const visit = (n: TreeNode) => {
    const stack = [n];
    while (stack.length) {
      const cur = stack.pop()!;
      if (reached.has(cur.resource.id)) continue;
      reached.add(cur.resource.id);
      stack.push(...cur.children);
    }
  };
  roots.forEach(visit);
  for (const node of nodes.values()) {
    if (!reached.has(node.resource.id)) {
      const parent = nodes.get(node.resource.parentId);
      if (parent) parent.children = parent.children.filter((c) => c !== node);
      roots.push(node);
      visit(node);
    }
  }
  const sortAll = (list: TreeNode[], seen: Set<string>) => {
    list.sort((a, b) => comparePaths(a.resource.path, b.resource.path));
    for (const n of list) {
      if (seen.has(n.resource.id)) continue;
      seen.add(n.resource.id);
      sortAll(n.children, seen);
    }
  };
  sortAll(roots, new Set());
  return roots;
}

function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every node with its depth, depth-first in display order (for a parent picker). */
export function flatten(roots: TreeNode[]): Array<{ node: TreeNode; depth: number }> {
  const out: Array<{ node: TreeNode; depth: number }> = [];
  const seen = new Set<string>();
  const stack: Array<{ node: TreeNode; depth: number }> = roots
    .map((node) => ({ node, depth: 0 }))
    .reverse();
  while (stack.length) {
    const item = stack.pop()!;
    if (seen.has(item.node.resource.id)) continue;
    seen.add(item.node.resource.id);
    out.push(item);
    for (let i = item.node.children.length - 1; i >= 0; i--) {
      stack.push({ node: item.node.children[i], depth: item.depth + 1 });
    }
  }
  return out;
}

/** Whether a resource can have children: nothing goes under a greedy `{proxy+}`. */
export function canHaveChildren(r: Resource): boolean {
  return !r.path.endsWith("+}");
}

/** "HTTP_PROXY → http://…", "MOCK 200", or that there is none (the method cannot be deployed). */
export function integrationSummary(i: Integration | undefined): { type: string; target: string } {
  if (!i) return { type: "none", target: "no integration: cannot be deployed" };
  switch (i.type) {
    case IntegrationType.HTTP_PROXY: {
      const verb = i.httpMethod && i.httpMethod.toUpperCase() !== "ANY" ? `${i.httpMethod.toUpperCase()} ` : "";
      return { type: "HTTP_PROXY", target: `${verb}${i.uri}` };
    }
    case IntegrationType.MOCK:
      return { type: "MOCK", target: `answers ${i.mock?.statusCode ?? 0}` };
    default:
      return { type: IntegrationType[i.type] ?? String(i.type), target: "" };
  }
}

/** "NONE", "AWS_IAM", "JWT: idp (scopes read)", "CUSTOM: lambda". */
export function authorizationSummary(m: Method, authorizers: Map<string, Authorizer>): string {
  const kind = (m.authorizationType || "NONE").toUpperCase();
  if (kind !== "JWT" && kind !== "CUSTOM") return kind;
  const a = authorizers.get(m.authorizerId);
  const name = a ? a.name : `${m.authorizerId} (missing)`;
  const scopes = m.authorizationScopes.length ? ` (scopes ${m.authorizationScopes.join(", ")})` : "";
  return `${kind}: ${name}${scopes}`;
}
