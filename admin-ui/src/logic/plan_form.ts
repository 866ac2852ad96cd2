// A usage plan as the form edits it (strings, as inputs hold them) and back
// to the request: numbers the wire cannot carry (a burst of "abc" or -1)
// are refused here with the field path the server would name, so the
// message lands beside the same input; everything else is the server's to
// judge. `planMask` names the top-level fields that changed, for
// UpdateUsagePlan's update_mask.
import { type Refusal, Refused, invalidField } from "../api/errors";
import { changedPaths } from "./update_mask";

export interface MethodThrottleForm {
  resourcePath: string;
  httpMethod: string;
  rate: string;
  burst: string;
}

export interface StageForm {
  apiId: string;
  stage: string;
  throttles: MethodThrottleForm[];
}

export interface PlanForm {
  name: string;
  description: string;
  /** Both empty: no plan-level throttle. */
  rate: string;
  burst: string;
  /** Empty or 0: no quota. */
  quotaLimit: string;
  /** QuotaPeriod as a number string ("0" unspecified). */
  quotaPeriod: string;
  quotaOffset: string;
  stages: StageForm[];
}

interface Throttle {
  rateLimit: number;
  burstLimit: number;
}

/** A usage plan's fields this form edits; `Method` is one method's throttle entry. */
interface PlanShape<Method> {
  name: string;
  description: string;
  throttle?: Throttle;
  quota?: { limit: bigint; period: number; offset: number };
  apiStages: Array<{ apiId: string; stage: string; throttle: Method[] }>;
}

/** The shape of UsagePlan this form fills in (protobuf-es init objects): every method has its throttle. */
export type PlanInit = PlanShape<{ resourcePath: string; httpMethod: string; throttle: Throttle }>;

/** A stored plan as read (a method's throttle message may be absent). */
type PlanLike = PlanShape<{ resourcePath: string; httpMethod: string; throttle?: Throttle }>;

export const emptyPlanForm = (): PlanForm => ({
  name: "",
  description: "",
  rate: "",
  burst: "",
  quotaLimit: "",
  quotaPeriod: "0",
  quotaOffset: "",
  stages: [],
});

export function formFromPlan(p: PlanLike): PlanForm {
  const q = p.quota && p.quota.limit > 0n ? p.quota : undefined;
  return {
    name: p.name,
    description: p.description,
    rate: p.throttle ? String(p.throttle.rateLimit) : "",
    burst: p.throttle ? String(p.throttle.burstLimit) : "",
    quotaLimit: q ? String(q.limit) : "",
    quotaPeriod: q ? String(q.period) : "0",
    quotaOffset: q && q.offset ? String(q.offset) : "",
    stages: p.apiStages.map((s) => ({
      apiId: s.apiId,
      stage: s.stage,
      throttles: s.throttle.map((m) => ({
        resourcePath: m.resourcePath,
        httpMethod: m.httpMethod,
        rate: m.throttle ? String(m.throttle.rateLimit) : "",
        burst: m.throttle ? String(m.throttle.burstLimit) : "",
      })),
    })),
  };
}

const bad = (field: string, reason: string) => new Refused(invalidField(field, reason));

function rate(field: string, s: string): number {
  const t = s.trim();
  if (t === "") return 0;
  const n = Number(t);
  if (!Number.isFinite(n)) throw bad(field, `'${s}' is not a number of requests per second`);
  // Range and sign are the server's to check (it names the limits).
  return n;
}

function whole(field: string, s: string, max: number | bigint): number {
  const t = s.trim();
  if (t === "") return 0;
  if (!/^\d+$/.test(t)) throw bad(field, `'${s}' must be a whole number, 0 or more`);
  if (BigInt(t) > BigInt(max)) throw bad(field, `must be at most ${max}, got ${t}`);
  return Number(t);
}

/** The plan to send, or the refusal of a number the wire cannot carry. */
export function planFromForm(f: PlanForm): { plan: PlanInit } | { refusal: Refusal } {
  try {
    const plan: PlanInit = { name: f.name.trim(), description: f.description, apiStages: [] };
    if (f.rate.trim() !== "" || f.burst.trim() !== "") {
      plan.throttle = {
        rateLimit: rate("plan.throttle.rate_limit", f.rate),
        burstLimit: whole("plan.throttle.burst_limit", f.burst, 0xffffffff),
      };
    }
    const limitText = f.quotaLimit.trim();
    if (limitText !== "" && limitText !== "0") {
      if (!/^\d+$/.test(limitText)) throw bad("plan.quota.limit", `'${f.quotaLimit}' must be a whole number`);
      const limit = BigInt(limitText);
      if (limit > 0xffffffffffffffffn) throw bad("plan.quota.limit", "is too large");
      plan.quota = {
        limit,
        period: Number(f.quotaPeriod) || 0,
        offset: whole("plan.quota.offset", f.quotaOffset, 0xffffffff),
      };
    }
    f.stages.forEach((s, i) => {
      plan.apiStages.push({
        apiId: s.apiId.trim(),
        stage: s.stage.trim(),
        throttle: s.throttles.map((m, j) => {
          const at = `plan.api_stages[${i}].throttle[${j}]`;
          return {
            resourcePath: m.resourcePath.trim(),
            httpMethod: m.httpMethod.trim(),
            throttle: {
              rateLimit: rate(`${at}.throttle.rate_limit`, m.rate),
              burstLimit: whole(`${at}.throttle.burst_limit`, m.burst, 0xffffffff),
            },
          };
        }),
      });
    });
    return { plan };
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    return { refusal: e.refusal };
  }
}

const PLAN_FIELDS = {
  name: (p: PlanInit) => p.name,
  description: (p: PlanInit) => p.description,
  throttle: (p: PlanInit) => p.throttle,
  quota: (p: PlanInit) => p.quota,
  api_stages: (p: PlanInit) => p.apiStages,
};

/** UpdateUsagePlan's update_mask: the top-level fields whose value differs. */
export function planMask(before: PlanInit, after: PlanInit): string[] {
  return changedPaths(PLAN_FIELDS, before, after);
}
