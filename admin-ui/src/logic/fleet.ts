// Which data-plane nodes serve the control plane's current configuration,
// and why the others do not. The fleet page polls every 2 s with 50+ nodes:
// these functions are pure and cheap so the page can run them on every
// answer, and `sameNode` lets unchanged rows skip re-rendering.

/** The fields of a NodeStatus this module reads (plain objects in tests). */
export interface NodeFacts {
  nodeId: string;
  build: string;
  peerAddress: string;
  connected: boolean;
  appliedVersion: bigint;
  sentVersion: bigint;
  lastSeenMs: bigint;
  lastError: string;
  lastErrorVersion: bigint;
}

export interface Standing {
  /** Not serving the current version, or not connected to hear about it. */
  behind: boolean;
  /** Why, one short text per cause ("disconnected", "behind: applied 3 of 5", "refused v5: ..."). */
  reasons: string[];
}

/**
 * A node is behind when it is disconnected, has applied an older version
 * than the control plane serves, or refused (NACKed) the current version.
 * A refusal of the current version counts even when the node's applied
 * version has the same number: a node that followed another store (a
 * replaced control-plane store) reports its own "version N" as applied and
 * refuses ours, and that is exactly the node an operator must see. (The
 * control plane keeps the last NACK until the next one, so a node that
 * refused a version and applied it after a restart stays marked until the
 * next version; a false alarm is the safer mistake.)
 */
export function standing(node: NodeFacts, configVersion: bigint): Standing {
  const reasons: string[] = [];
  if (!node.connected) reasons.push("disconnected");
  if (node.appliedVersion < configVersion) {
    reasons.push(`behind: applied ${node.appliedVersion} of ${configVersion}`);
  }
  if (node.lastError !== "" && node.lastErrorVersion === configVersion) {
    reasons.push(`refused v${configVersion}: ${node.lastError}`);
  }
  return { behind: reasons.length > 0, reasons };
}

export interface FleetRow<N extends NodeFacts = NodeFacts> {
  node: N;
  standing: Standing;
}

// Numeric collation: node-2 before node-10. A fixed locale keeps the order
// the same in every browser and in tests.
const byId = new Intl.Collator("en", { numeric: true }).compare;

/** Every node classified; behind nodes first (they need attention), then by id. */
export function fleetRows<N extends NodeFacts>(nodes: N[], configVersion: bigint): FleetRow<N>[] {
  return nodes
    .map((node) => ({ node, standing: standing(node, configVersion) }))
    .sort(
      (a, b) =>
        Number(b.standing.behind) - Number(a.standing.behind) || byId(a.node.nodeId, b.node.nodeId),
    );
}

export interface FleetSummary {
  nodes: number;
  current: number;
  behind: number;
}

export function summarize(rows: FleetRow[]): FleetSummary {
  const behind = rows.filter((r) => r.standing.behind).length;
  return { nodes: rows.length, current: rows.length - behind, behind };
}

/**
 * Whether a row matches the filter box: a case-insensitive substring of the
 * node id, build, peer address, last refusal or a reason ("behind",
 * "disconnected", "refused" find those nodes). `f` comes from `useFiltered`:
 * trimmed, lower-cased and not empty.
 */
export function matches(row: FleetRow, f: string): boolean {
  const n = row.node;
  return [n.nodeId, n.build, n.peerAddress, n.lastError, ...row.standing.reasons].some((s) =>
    s.toLowerCase().includes(f),
  );
}

/** Whether two answers about a node would render the same row (its "last seen" cell ticks by itself). */
export function sameNode(a: NodeFacts, b: NodeFacts): boolean {
  return (
    a.nodeId === b.nodeId &&
    a.build === b.build &&
    a.peerAddress === b.peerAddress &&
    a.connected === b.connected &&
    a.appliedVersion === b.appliedVersion &&
    a.sentVersion === b.sentVersion &&
    a.lastSeenMs === b.lastSeenMs &&
    a.lastError === b.lastError &&
    a.lastErrorVersion === b.lastErrorVersion
  );
}
