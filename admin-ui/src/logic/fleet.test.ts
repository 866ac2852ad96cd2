import { describe, expect, it } from "vitest";
import { fleetRows, matches, type NodeFacts, sameNode, standing, summarize } from "./fleet";

function node(id: string, over: Partial<NodeFacts> = {}): NodeFacts {
  return {
    nodeId: id,
    build: "archway 0.1.0",
    peerAddress: "127.0.0.1:40000",
    connected: true,
    appliedVersion: 5n,
    sentVersion: 5n,
    lastSeenMs: 1_700_000_000_000n,
    lastError: "",
    lastErrorVersion: 0n,
    ...over,
  };
}

describe("standing", () => {
  it("a connected node at the current version is current", () => {
    expect(standing(node("a"), 5n)).toEqual({ behind: false, reasons: [] });
  });

  it("an older applied version is behind, saying by how much", () => {
    expect(standing(node("a", { appliedVersion: 3n }), 5n)).toEqual({
      behind: true,
      reasons: ["behind: applied 3 of 5"],
    });
  });

  it("a node that never applied anything is behind", () => {
    expect(standing(node("a", { appliedVersion: 0n, sentVersion: 0n }), 1n).reasons).toEqual([
      "behind: applied 0 of 1",
    ]);
  });

  it("a disconnected node is behind even at the current version", () => {
    expect(standing(node("a", { connected: false }), 5n)).toEqual({
      behind: true,
      reasons: ["disconnected"],
    });
  });

  it("a refusal of the current version is behind with its reason", () => {
    const s = standing(
      node("a", { appliedVersion: 4n, lastError: "route GET /x: bad template", lastErrorVersion: 5n }),
      5n,
    );
    expect(s.behind).toBe(true);
    expect(s.reasons).toEqual(["behind: applied 4 of 5", "refused v5: route GET /x: bad template"]);
  });

  it("a refusal of an older version does not make a current node behind", () => {
    const s = standing(node("a", { lastError: "bad", lastErrorVersion: 4n }), 5n);
    expect(s).toEqual({ behind: false, reasons: [] });
  });

  it("a refusal of the current version counts even when the applied number is the same (another store's)", () => {
    const s = standing(
      node("a", { appliedVersion: 5n, lastError: "version 5 comes from store x", lastErrorVersion: 5n }),
      5n,
    );
    expect(s).toEqual({ behind: true, reasons: ["refused v5: version 5 comes from store x"] });
  });

  it("every cause is listed at once", () => {
    const s = standing(
      node("a", { connected: false, appliedVersion: 2n, lastError: "no", lastErrorVersion: 5n }),
      5n,
    );
    expect(s.reasons).toEqual(["disconnected", "behind: applied 2 of 5", "refused v5: no"]);
  });

  it("compares versions as 64-bit integers, not floats", () => {
    const big = 2n ** 60n;
    expect(standing(node("a", { appliedVersion: big }), big + 1n).behind).toBe(true);
    expect(standing(node("a", { appliedVersion: big + 1n }), big + 1n).behind).toBe(false);
  });
});

describe("fleetRows", () => {
  it("puts behind nodes first, then orders by id with numbers in order", () => {
    const rows = fleetRows(
      [
        node("node-10"),
        node("node-2"),
        node("node-3", { appliedVersion: 4n }),
        node("node-1"),
        node("node-20", { connected: false }),
      ],
      5n,
    );
    expect(rows.map((r) => r.node.nodeId)).toEqual(["node-3", "node-20", "node-1", "node-2", "node-10"]);
  });

  it("keeps the node objects it was given", () => {
    const n = node("a");
    expect(fleetRows([n], 5n)[0].node).toBe(n);
  });
});

describe("summarize", () => {
  it("counts nodes, current and behind", () => {
    const rows = fleetRows([node("a"), node("b", { appliedVersion: 1n }), node("c", { connected: false })], 5n);
    expect(summarize(rows)).toEqual({ nodes: 3, current: 1, behind: 2 });
    expect(summarize([])).toEqual({ nodes: 0, current: 0, behind: 0 });
  });
});

describe("matches", () => {
  const rows = fleetRows(
    [
      node("edge-eu-1", { build: "Archway 0.2.0" }),
      node("edge-us-1", { peerAddress: "10.0.0.7:5000", appliedVersion: 4n }),
      node("edge-us-2", { lastError: "TLS certificate missing", lastErrorVersion: 3n }),
    ],
    5n,
  );
  const ids = (f: string) => rows.filter((r) => matches(r, f)).map((r) => r.node.nodeId);

  it("finds by id, build, address and refusal, ignoring the case of what it searches", () => {
    expect(ids("eu")).toEqual(["edge-eu-1"]);
    expect(ids("archway 0.2")).toEqual(["edge-eu-1"]);
    expect(ids("tls certificate")).toEqual(["edge-us-2"]);
    expect(ids("10.0.0.7")).toEqual(["edge-us-1"]);
    expect(ids("certificate")).toEqual(["edge-us-2"]);
  });
  it("finds nodes by why they are behind", () => {
    expect(ids("behind")).toEqual(["edge-us-1"]);
  });
});

describe("sameNode", () => {
  it("is true for equal answers and false when any shown field changes", () => {
    const a = node("a");
    expect(sameNode(a, { ...a })).toBe(true);
    for (const change of [
      { build: "x" },
      { peerAddress: "x" },
      { connected: false },
      { appliedVersion: 6n },
      { sentVersion: 6n },
      { lastSeenMs: 1n },
      { lastError: "x" },
      { lastErrorVersion: 9n },
    ] as Partial<NodeFacts>[]) {
      expect(sameNode(a, { ...a, ...change })).toBe(false);
    }
  });
});
