import { type MessageInitShape, create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { refusal } from "../api/errors";
import { DeploymentSchema, type Stage, StageSchema } from "../gen/archway/v1/config_pb";
import {
  accessLogFormOf,
  accessLogUpdate,
  cacheFormOf,
  cacheUpdate,
  canaryFormOf,
  canaryUpdate,
  defaultPair,
  deployRequest,
  newestFirst,
  pairsOf,
  removeCanaryUpdate,
  rollbackTarget,
  rollbackUpdate,
  throttleFormOf,
  throttleIndexes,
  throttleUpdate,
  usedBy,
  variablesUpdate,
} from "./stage_forms";

function stage(extra: MessageInitShape<typeof StageSchema> = {}): Stage {
  return create(StageSchema, {
    apiId: "a1",
    stageName: "prod",
    deploymentId: "d2",
    variables: { host: "up", color: "blue" },
    methodSettings: [{ resourcePath: "*", httpMethod: "*", throttle: { rateLimit: 100, burstLimit: 200 } }],
    ...extra,
  });
}

/** What the form shows when a refusal of `build` is shown: the field and reason. */
function refused(build: () => unknown): Record<string, string> {
  try {
    build();
  } catch (e) {
    return refusal(e).fields;
  }
  throw new Error("not refused");
}

const d = (id: string, at: number) => create(DeploymentSchema, { id, apiId: "a1", createdAtMs: BigInt(at) });

describe("stage variables", () => {
  it("sends nothing when the rows are what is stored, in any order", () => {
    const rows = pairsOf(stage().variables).reverse();
    expect(variablesUpdate(stage(), rows)).toBeNull();
  });

  it("replaces the whole map under the mask 'variables' only", () => {
    const u = variablesUpdate(stage(), [
      { key: "host", value: "v2" },
      { key: "", value: "" },
      { key: " region ", value: "eu" },
    ]);
    expect(u?.updateMask.paths).toEqual(["variables"]);
    expect(u?.stage.variables).toEqual({ host: "v2", region: "eu" });
    expect(u?.stage.stageName).toBe("prod");
  });

  it("removing every variable is a change (the mask clears the map)", () => {
    const u = variablesUpdate(stage(), []);
    expect(u?.updateMask.paths).toEqual(["variables"]);
    expect(u?.stage.variables).toEqual({});
  });

  it("refuses a name given twice and a value without a name, under stage.variables", () => {
    expect(
      refused(() =>
        variablesUpdate(stage(), [
          { key: "a", value: "1" },
          { key: "a", value: "2" },
        ]),
      ),
    ).toEqual({ "stage.variables": "'a' is given twice" });
    expect(refused(() => variablesUpdate(stage(), [{ key: " ", value: "x" }]))).toEqual({
      "stage.variables": "the value 'x' has no name",
    });
  });
});

describe("canary", () => {
  it("starts a canary naming only the canary's fields that are set", () => {
    const u = canaryUpdate(stage(), { deploymentId: "d3", percent: "10", overrides: [] });
    expect(u?.updateMask.paths).toEqual(["canary.deployment_id", "canary.percent_traffic"]);
    expect(u?.stage.canary).toMatchObject({ deploymentId: "d3", percentTraffic: 10 });
  });

  it("a new percentage alone sends canary.percent_traffic alone", () => {
    const s = stage({ canary: { deploymentId: "d3", percentTraffic: 10, stageVariableOverrides: { host: "c" } } });
    const form = canaryFormOf(s);
    expect(canaryUpdate(s, form)).toBeNull();
    const u = canaryUpdate(s, { ...form, percent: "25.5" });
    expect(u?.updateMask.paths).toEqual(["canary.percent_traffic"]);
    expect(u?.stage.canary?.stageVariableOverrides).toEqual({ host: "c" });
    const o = canaryUpdate(s, { ...form, overrides: [] });
    expect(o?.updateMask.paths).toEqual(["canary.stage_variable_overrides"]);
  });

  it("refuses a percentage outside 0 to 100 or not a number, and a missing deployment", () => {
    for (const bad of ["", "abc", "-1", "100.5", "Infinity"]) {
      expect(Object.keys(refused(() => canaryUpdate(stage(), { deploymentId: "d3", percent: bad, overrides: [] })))).toEqual(
        ["stage.canary.percent_traffic"],
      );
    }
    expect(canaryUpdate(stage(), { deploymentId: "d3", percent: "100", overrides: [] })).not.toBeNull();
    expect(Object.keys(refused(() => canaryUpdate(stage(), { deploymentId: "", percent: "5", overrides: [] })))).toEqual([
      "stage.canary.deployment_id",
    ]);
  });

  it("removing the canary names 'canary' with none sent", () => {
    const u = removeCanaryUpdate(stage({ canary: { deploymentId: "d3", percentTraffic: 5 } }));
    expect(u.updateMask.paths).toEqual(["canary"]);
    expect(u.stage.canary).toBeUndefined();
  });
});

describe("throttling", () => {
  it("reads the stage-wide entry apart from per-method rows", () => {
    const s = stage({
      methodSettings: [
        { resourcePath: "/pets", httpMethod: "GET", throttle: { rateLimit: 5, burstLimit: 10 } },
        { resourcePath: "*", httpMethod: "*", throttle: { rateLimit: 100, burstLimit: 200 } },
      ],
    });
    const form = throttleFormOf(s);
    expect(form).toEqual({
      rate: "100",
      burst: "200",
      methods: [{ resourcePath: "/pets", httpMethod: "GET", rate: "5", burst: "10" }],
    });
    // Re-saving the same settings (stage-wide now first) is no change.
    expect(throttleUpdate(s, form)).toBeNull();
  });

  it("sends method_settings whole, stage-wide first, verbs upper-cased", () => {
    const u = throttleUpdate(stage(), {
      rate: "50",
      burst: "60",
      methods: [{ resourcePath: "/pets", httpMethod: "post", rate: "1.5", burst: "3" }],
    });
    expect(u?.updateMask.paths).toEqual(["method_settings"]);
    expect(u?.stage.methodSettings.map((m) => [m.resourcePath, m.httpMethod, m.throttle?.rateLimit, m.throttle?.burstLimit])).toEqual([
      ["*", "*", 50, 60],
      ["/pets", "POST", 1.5, 3],
    ]);
  });

  it("empty stage-wide limits drop the stage-wide entry, and the rows' indexes follow", () => {
    const form = { rate: "", burst: "", methods: [{ resourcePath: "/a", httpMethod: "GET", rate: "1", burst: "1" }] };
    expect(throttleIndexes(form)).toEqual({ stage: null, rows: [0] });
    expect(throttleIndexes({ ...form, rate: "1" })).toEqual({ stage: 0, rows: [1] });
    expect(throttleUpdate(stage(), form)?.stage.methodSettings).toHaveLength(1);
  });

  it("refuses a limit that is not a number under the index the server would name", () => {
    expect(
      refused(() =>
        throttleUpdate(stage(), {
          rate: "10",
          burst: "20",
          methods: [{ resourcePath: "/a", httpMethod: "GET", rate: "1", burst: "2.5" }],
        }),
      ),
    ).toEqual({ "stage.method_settings[1].throttle.burst_limit": "must be a whole number of 0 or more, got '2.5'" });
    expect(Object.keys(refused(() => throttleUpdate(stage(), { rate: "x", burst: "1", methods: [] })))).toEqual([
      "stage.method_settings[0].throttle.rate_limit",
    ]);
  });
});

describe("access log and cache", () => {
  it("names only the access log field that changed", () => {
    const s = stage({ accessLogSettings: { format: "JSON", destination: "stdout" } });
    expect(accessLogUpdate(s, accessLogFormOf(s))).toBeNull();
    expect(accessLogUpdate(s, { format: "CLF", destination: "stdout" })?.updateMask.paths).toEqual([
      "access_log_settings.format",
    ]);
    expect(accessLogUpdate(stage(), { format: "", destination: "" })).toBeNull();
  });

  it("cache: enabling alone sends cache_cluster_enabled; an empty TTL means the default", () => {
    const s = stage();
    const form = cacheFormOf(s);
    expect(form).toEqual({ enabled: false, size: "0.5", ttl: "" });
    expect(cacheUpdate(s, form)).toBeNull();
    expect(cacheUpdate(s, { ...form, enabled: true })?.updateMask.paths).toEqual(["cache_cluster_enabled"]);
    const u = cacheUpdate(s, { enabled: true, size: "6.1", ttl: "0" });
    expect(u?.updateMask.paths).toEqual(["cache_cluster_enabled", "cache_cluster_size", "cache_ttl_seconds"]);
    expect(u?.stage.cacheTtlSeconds).toBe(0);
    const back = stage({ cacheTtlSeconds: 60 });
    expect(cacheUpdate(back, { ...cacheFormOf(back), ttl: "" })?.stage.cacheTtlSeconds).toBeUndefined();
    expect(Object.keys(refused(() => cacheUpdate(s, { ...form, ttl: "1.5" })))).toEqual(["stage.cache_ttl_seconds"]);
  });
});

describe("deployments, rollback and deploy", () => {
  const list = [d("b", 2000), d("a", 1000), d("c", 3000)];

  it("orders deployments newest first and picks the previous and the latest to compare", () => {
    const newest = newestFirst(list);
    expect(newest.map((x) => x.id)).toEqual(["c", "b", "a"]);
    expect(defaultPair(newest)).toEqual({ from: "b", to: "c" });
    expect(defaultPair([d("x", 1)])).toEqual({ from: "x", to: "x" });
    expect(defaultPair([])).toEqual({ from: "", to: "" });
  });

  it("rolls back to what this stage served before, not to another stage's newer deployment", () => {
    // prod got a, beta got b, prod got c: the API's newest deployment older
    // than c is beta's b, which prod never served.
    const prod = stage({ deploymentId: "c", previousDeploymentIds: ["a"] });
    const target = rollbackTarget(prod, list);
    expect(target?.id).toBe("a");
    expect(target?.deployment?.createdAtMs).toBe(1000n);
    const u = rollbackUpdate(prod, target!.id);
    expect(u.updateMask.paths).toEqual(["deployment_id"]);
    expect(u.stage.deploymentId).toBe("a");
    expect(u.stage.stageName).toBe("prod");
  });

  it("goes further back after a roll back, as the server's history says, and stops when it is empty", () => {
    // prod served a, then c, then d: history [c, a]. The server pops c on
    // the roll back, so the next target is a, and then there is none.
    const withD = [...list, d("d", 4000)];
    expect(rollbackTarget(stage({ deploymentId: "d", previousDeploymentIds: ["c", "a"] }), withD)?.id).toBe("c");
    expect(rollbackTarget(stage({ deploymentId: "c", previousDeploymentIds: ["a"] }), withD)?.id).toBe("a");
    expect(rollbackTarget(stage({ deploymentId: "a", previousDeploymentIds: [] }), withD)).toBeUndefined();
  });

  it("keeps the id when the listed deployments do not have it", () => {
    const target = rollbackTarget(stage({ deploymentId: "c", previousDeploymentIds: ["unlisted"] }), list);
    expect(target).toEqual({ id: "unlisted", deployment: undefined });
  });

  it("says which stages serve a deployment and which canaries send it traffic", () => {
    const stages = [
      stage({ stageName: "prod", deploymentId: "b", canary: { deploymentId: "c", percentTraffic: 5 } }),
      stage({ stageName: "dev", deploymentId: "c" }),
    ];
    expect(usedBy(stages, "c")).toEqual({ serving: ["dev"], canary: [{ stage: "prod", percent: 5 }] });
    expect(usedBy(stages, "a")).toEqual({ serving: [], canary: [] });
  });

  it("creates the stage only when the API has no stage of that name", () => {
    expect(deployRequest("a1", { stageName: " prod ", description: " v2 " }, ["prod"])).toEqual({
      apiId: "a1",
      description: "v2",
      stageName: "prod",
      createStage: false,
    });
    expect(deployRequest("a1", { stageName: "beta", description: "" }, ["prod"]).createStage).toBe(true);
    expect(deployRequest("a1", { stageName: "", description: "" }, ["prod"]).createStage).toBe(false);
  });
});
