import { describe, expect, it } from "vitest";
import { emptyPlanForm, formFromPlan, planFromForm, planMask, type PlanForm } from "./plan_form";

const ok = (f: PlanForm) => {
  const r = planFromForm(f);
  if ("refusal" in r) throw new Error(r.refusal.message);
  return r.plan;
};

describe("planFromForm", () => {
  it("leaves out throttle and quota when their inputs are empty", () => {
    const p = ok({ ...emptyPlanForm(), name: " gold " });
    expect(p).toEqual({ name: "gold", description: "", apiStages: [] });
  });

  it("fills throttle, quota and per-method throttles of each stage", () => {
    const p = ok({
      ...emptyPlanForm(),
      name: "gold",
      rate: "10.5",
      burst: "20",
      quotaLimit: "1000",
      quotaPeriod: "2",
      quotaOffset: "3",
      stages: [{ apiId: "pets", stage: "prod", throttles: [{ resourcePath: "/pets", httpMethod: "GET", rate: "1", burst: "2" }] }],
    });
    expect(p.throttle).toEqual({ rateLimit: 10.5, burstLimit: 20 });
    expect(p.quota).toEqual({ limit: 1000n, period: 2, offset: 3 });
    expect(p.apiStages).toEqual([
      {
        apiId: "pets",
        stage: "prod",
        throttle: [{ resourcePath: "/pets", httpMethod: "GET", throttle: { rateLimit: 1, burstLimit: 2 } }],
      },
    ]);
  });

  it("refuses numbers the wire cannot carry with the server's field path", () => {
    const bad = (f: Partial<PlanForm>) => {
      const r = planFromForm({ ...emptyPlanForm(), name: "x", ...f });
      if (!("refusal" in r)) throw new Error("accepted");
      return Object.keys(r.refusal.fields);
    };
    expect(bad({ rate: "fast", burst: "1" })).toEqual(["plan.throttle.rate_limit"]);
    expect(bad({ rate: "1", burst: "-1" })).toEqual(["plan.throttle.burst_limit"]);
    expect(bad({ rate: "1", burst: "1.5" })).toEqual(["plan.throttle.burst_limit"]);
    expect(bad({ rate: "1", burst: "4294967296" })).toEqual(["plan.throttle.burst_limit"]);
    expect(bad({ quotaLimit: "lots" })).toEqual(["plan.quota.limit"]);
    expect(bad({ quotaLimit: "5", quotaOffset: "x" })).toEqual(["plan.quota.offset"]);
    expect(
      bad({ stages: [{ apiId: "a", stage: "s", throttles: [{ resourcePath: "*", httpMethod: "*", rate: "1", burst: "b" }] }] }),
    ).toEqual(["plan.api_stages[0].throttle[0].throttle.burst_limit"]);
  });

  it("passes a negative or huge rate on for the server to refuse with its limits", () => {
    expect(ok({ ...emptyPlanForm(), rate: "-1", burst: "1" }).throttle?.rateLimit).toBe(-1);
  });
});

describe("planMask", () => {
  const stored = {
    name: "gold",
    description: "d",
    throttle: { rateLimit: 10, burstLimit: 20 },
    quota: { limit: 100n, period: 1, offset: 0 },
    apiStages: [{ apiId: "pets", stage: "prod", throttle: [] }],
  };

  it("is empty when the form is the plan as read", () => {
    const before = ok(formFromPlan(stored));
    expect(planMask(before, ok(formFromPlan(stored)))).toEqual([]);
  });

  it("names each changed top-level field, and a cleared throttle or quota", () => {
    const before = ok(formFromPlan(stored));
    const f = formFromPlan(stored);
    f.name = "platinum";
    f.rate = "";
    f.burst = "";
    f.quotaLimit = "0";
    f.stages[0].throttles.push({ resourcePath: "*", httpMethod: "*", rate: "1", burst: "1" });
    const after = ok(f);
    expect(after.throttle).toBeUndefined();
    expect(after.quota).toBeUndefined();
    expect(planMask(before, after)).toEqual(["name", "throttle", "quota", "api_stages"]);
  });

  it("reads a plan with a zero quota limit as no quota", () => {
    const f = formFromPlan({ ...stored, quota: { limit: 0n, period: 1, offset: 0 } });
    expect(f.quotaLimit).toBe("");
    expect(ok(f).quota).toBeUndefined();
  });
});
