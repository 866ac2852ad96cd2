import { describe, expect, it } from "vitest";
import {
  busiestStages,
  millis,
  perSecond,
  type PointFacts,
  quantileMs,
  shapeTraffic,
  stageChoices,
  totalLine,
  trafficTotals,
} from "./traffic";

const T0 = 1_764_633_600_000; // a whole minute, ms

function point(i: number, over: Partial<PointFacts> = {}): PointFacts {
  const requests = over.requests ?? 0n;
  return {
    startMs: BigInt(T0 + i * 10_000),
    requests,
    clientErrors: 0n,
    serverErrors: 0n,
    requestsPerSecond: Number(requests) / 10,
    ...over,
  };
}

describe("quantileMs", () => {
  it("converts seconds to milliseconds", () => {
    expect(quantileMs(0.0125, 3)).toBeCloseTo(12.5);
  });
  it("is a gap for a step without requests, an absent estimate, or no finite value", () => {
    expect(quantileMs(0.01, 0)).toBeNull();
    expect(quantileMs(undefined, 5)).toBeNull();
    expect(quantileMs(Number.POSITIVE_INFINITY, 5)).toBeNull();
    expect(quantileMs(Number.NaN, 5)).toBeNull();
  });
  it("keeps a real zero latency", () => {
    expect(quantileMs(0, 1)).toBe(0);
  });
});

describe("shapeTraffic", () => {
  const answer = {
    stepSeconds: 10,
    stages: [],
    points: [
      point(0, { requests: 20n, clientErrors: 4n, serverErrors: 1n, p50Seconds: 0.002, p99Seconds: 0.05 }),
      point(1),
      point(2, { requests: 6n, serverErrors: 3n, p50Seconds: 0.004, p99Seconds: 0.1 }),
    ],
  };

  it("has one x per step, in seconds", () => {
    const s = shapeTraffic(answer);
    expect(s.xs).toEqual([T0 / 1000, T0 / 1000 + 10, T0 / 1000 + 20]);
  });

  it("gives rates per second over whole steps from the counts", () => {
    const s = shapeTraffic(answer);
    expect(s.requestsPerSecond).toEqual([2, 0, 0.6]);
    expect(s.clientErrorsPerSecond).toEqual([0.4, 0, 0]);
    expect(s.serverErrorsPerSecond).toEqual([0.1, 0, 0.3]);
  });

  it("leaves gaps in latency where there were no requests, and zeros in rates", () => {
    const s = shapeTraffic(answer);
    expect(s.p50Ms).toEqual([2, null, 4]);
    expect(s.p99Ms).toEqual([50, null, 100]);
    expect(s.requestsPerSecond[1]).toBe(0);
  });

  it("divides every step, the one in progress too, by the whole step", () => {
    const s = shapeTraffic(answer);
    expect(s.requestsPerSecond).toEqual([2, 0, 0.6]);
    expect(s.serverErrorsPerSecond[2]).toBeCloseTo(0.3);
  });

  it("orders points by time whatever order they came in", () => {
    const s = shapeTraffic({ ...answer, points: [...answer.points].reverse() });
    expect(s.xs[0]).toBe(T0 / 1000);
    expect(s.requestsPerSecond).toEqual([2, 0, 0.6]);
  });

  it("shapes an empty answer into empty series", () => {
    const s = shapeTraffic({ stepSeconds: 10, points: [], stages: [] });
    expect(s.xs).toEqual([]);
    expect(s.p99Ms).toEqual([]);
  });
});

describe("trafficTotals", () => {
  it("sums counts as 64-bit integers before converting", () => {
    const points = [
      point(0, { requests: 2n ** 52n, clientErrors: 1n }),
      point(1, { requests: 2n ** 52n, serverErrors: 2n }),
    ];
    expect(trafficTotals({ points })).toEqual({ requests: 2 ** 53, clientErrors: 1, serverErrors: 2 });
  });
  it("is zero for no points", () => {
    expect(trafficTotals({ points: [] })).toEqual({ requests: 0, clientErrors: 0, serverErrors: 0 });
  });
});

describe("totalLine", () => {
  it("says how many requests in how many minutes", () => {
    expect(totalLine(0, 15)).toBe("0 requests in the last 15 minutes");
    expect(totalLine(1, 5)).toBe("1 request in the last 5 minutes");
    expect(totalLine(12345, 15)).toBe("12,345 requests in the last 15 minutes");
  });
});

describe("stage choices", () => {
  const stages = [
    { apiId: "pets", stageName: "prod", requests: 5n },
    { apiId: "pets", stageName: "beta", requests: 50n },
    { apiId: "shop", stageName: "prod", requests: 7n },
  ];
  it("offers the API's stages that served requests, sorted", () => {
    expect(stageChoices(stages, "pets")).toEqual(["beta", "prod"]);
    expect(stageChoices(stages, "none")).toEqual([]);
  });
  it("adds the API's declared stages and the chosen one even without traffic, once", () => {
    expect(stageChoices(stages, "pets", ["prod", "new"])).toEqual(["beta", "new", "prod"]);
    expect(stageChoices(stages, "pets", [], "dev")).toEqual(["beta", "dev", "prod"]);
    expect(stageChoices(stages, "pets", ["prod"], "prod")).toEqual(["beta", "prod"]);
  });
  it("lists the busiest stages first", () => {
    expect(busiestStages(stages).map((s) => `${s.apiId}/${s.stageName}`)).toEqual([
      "pets/beta",
      "shop/prod",
      "pets/prod",
    ]);
  });
});

describe("formats", () => {
  it("reads rates and latencies", () => {
    expect(perSecond(0)).toBe("0/s");
    expect(perSecond(0.25)).toBe("0.25/s");
    expect(perSecond(1234.5)).toBe("1235/s");
    expect(millis(3.21)).toBe("3.2 ms");
    expect(millis(250.4)).toBe("250 ms");
  });
});
