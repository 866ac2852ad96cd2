import { describe, expect, it } from "vitest";
import { dayMs, daysBetween, lastDays, usageSeries, topKeys } from "./usage_series";

describe("daysBetween", () => {
  it("lists every day of the range, both ends included, across a month end", () => {
    expect(daysBetween("2026-02-27", "2026-03-02")).toEqual([
      "2026-02-27",
      "2026-02-28",
      "2026-03-01",
      "2026-03-02",
    ]);
    expect(daysBetween("2026-12-02", "2026-12-02")).toEqual(["2026-12-02"]);
  });

  it("is empty for a backwards range or a date that is not one", () => {
    expect(daysBetween("2026-03-02", "2026-03-01")).toEqual([]);
    expect(daysBetween("2026-02-30", "2026-03-01")).toEqual([]);
    expect(daysBetween("", "2026-03-01")).toEqual([]);
  });

  it("stops at 367 days however long the range", () => {
    expect(daysBetween("2000-01-01", "2026-01-01")).toHaveLength(367);
  });
});

describe("lastDays", () => {
  it("ends today (UTC) and spans n days", () => {
    const now = Date.UTC(2026, 11, 2, 23, 59);
    expect(lastDays(7, now)).toEqual({ from: "2026-11-26", to: "2026-12-02" });
    expect(lastDays(1, now)).toEqual({ from: "2026-12-02", to: "2026-12-02" });
  });
});

describe("usageSeries", () => {
  it("fills missing days with 0, one series per key, x at midnight UTC", () => {
    const s = usageSeries(
      [
        { keyId: "b", date: "2026-03-02", used: 5n },
        { keyId: "a", date: "2026-03-01", used: 3n },
        { keyId: "a", date: "2026-03-03", used: 4n },
      ],
      "2026-03-01",
      "2026-03-03",
    );
    expect(s.days).toEqual(["2026-03-01", "2026-03-02", "2026-03-03"]);
    expect(s.xs).toEqual(s.days.map((d) => dayMs(d) / 1000));
    expect(s.xs[1] - s.xs[0]).toBe(86_400);
    expect(s.series).toEqual([
      { keyId: "a", values: [3, 0, 4], total: 7 },
      { keyId: "b", values: [0, 5, 0], total: 5 },
    ]);
  });

  it("keeps the plan's keys in order, with zeros for a key never used", () => {
    const s = usageSeries([{ keyId: "z", date: "2026-03-01", used: 1 }], "2026-03-01", "2026-03-02", ["q", "z"]);
    expect(s.series.map((x) => [x.keyId, x.values])).toEqual([
      ["q", [0, 0]],
      ["z", [1, 0]],
    ]);
  });

  it("counts the first and last day of the range and leaves out days beyond them", () => {
    const s = usageSeries(
      [
        { keyId: "a", date: "2026-02-28", used: 100 },
        { keyId: "a", date: "2026-03-01", used: 1 },
        { keyId: "a", date: "2026-03-07", used: 7 },
        { keyId: "a", date: "2026-03-08", used: 100 },
      ],
      "2026-03-01",
      "2026-03-07",
    );
    expect(s.series[0].values).toEqual([1, 0, 0, 0, 0, 0, 7]);
    expect(s.series[0].total).toBe(8);
  });

  it("has no days (and zero-length series) for a backwards range", () => {
    const s = usageSeries([{ keyId: "a", date: "2026-03-01", used: 1 }], "2026-03-02", "2026-03-01", ["a"]);
    expect(s.days).toEqual([]);
    expect(s.series).toEqual([{ keyId: "a", values: [], total: 0 }]);
  });
});

describe("topKeys", () => {
  const s = (keyId: string, values: number[]) => ({ keyId, values, total: values.reduce((a, b) => a + b, 0) });
  it("keeps the busiest keys and sums the rest per day", () => {
    const r = topKeys([s("a", [1, 0]), s("b", [5, 5]), s("c", [0, 2]), s("d", [3, 0])], 2);
    expect(r.top.map((k) => k.keyId)).toEqual(["b", "d"]);
    expect(r.others).toEqual({ count: 2, values: [1, 2], total: 3 });
  });
  it("has no others when every key fits, and orders ties by id", () => {
    const r = topKeys([s("z", [1]), s("a", [1])], 5);
    expect(r.top.map((k) => k.keyId)).toEqual(["a", "z"]);
    expect(r.others).toBeNull();
  });
});
