// The deployments screen's forms → admin API requests. Each stage form
// becomes an UpdateStage whose update_mask names only the fields the form
// changed (AIP-134), so saving the canary never clobbers the variables
// someone else just edited, and saving what did not change sends nothing.
// Input the server could not even receive (a percentage that is not a
// number) is refused here as the server would refuse it: InvalidArgument
// with the server's field path, so the form shows it beside the same field.
import { create } from "@bufbuild/protobuf";
import { Refused, invalidField } from "../api/errors";
import type { CreateDeploymentRequest } from "../gen/archway/v1/admin_pb";
import {
  AccessLogSettingsSchema,
  CanarySettingsSchema,
  type Deployment,
  type MethodThrottle,
  MethodThrottleSchema,
  type Stage,
  StageSchema,
} from "../gen/archway/v1/config_pb";
import { type MaskReaders, changedPaths as changedPathsOf } from "./update_mask";

export interface StageUpdate {
  stage: Stage;
  updateMask: { paths: string[] };
}

/** A refusal of the form, shaped as the server's ("field: reason", InvalidArgument), to throw. */
export function invalid(field: string, reason: string): Refused {
  return new Refused(invalidField(field, reason));
}

function entries(map: Record<string, string> | undefined): Array<[string, string]> {
  return Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function throttles(list: readonly MethodThrottle[]) {
  return list
    .map((m) => [m.resourcePath, m.httpMethod, m.throttle?.rateLimit ?? null, m.throttle?.burstLimit ?? null])
    .sort((a, b) => (`${a[0]} ${a[1]}` < `${b[0]} ${b[1]}` ? -1 : 1));
}

/** Every path a stage form may name, read from a stage in a comparable form. */
const READ: MaskReaders<Stage> = {
  deployment_id: (s) => s.deploymentId,
  description: (s) => s.description,
  variables: (s) => entries(s.variables),
  "canary.deployment_id": (s) => s.canary?.deploymentId ?? "",
  "canary.percent_traffic": (s) => s.canary?.percentTraffic ?? 0,
  "canary.stage_variable_overrides": (s) => entries(s.canary?.stageVariableOverrides),
  "access_log_settings.format": (s) => s.accessLogSettings?.format ?? "",
  "access_log_settings.destination": (s) => s.accessLogSettings?.destination ?? "",
  method_settings: (s) => throttles(s.methodSettings),
  cache_cluster_enabled: (s) => s.cacheClusterEnabled,
  cache_cluster_size: (s) => s.cacheClusterSize,
  cache_ttl_seconds: (s) => s.cacheTtlSeconds ?? null,
};

/** Which of `paths` differ between the stored stage and the edited one. */
export function changedPaths(current: Stage, next: Stage, paths: readonly string[]): string[] {
  return changedPathsOf(READ, current, next, paths);
}

/** UpdateStage for what changed among `paths`, or null when nothing did. */
function stageUpdate(current: Stage, next: Stage, paths: readonly string[]): StageUpdate | null {
  const changed = changedPaths(current, next, paths);
  if (!changed.length) return null;
  return {
    stage: create(StageSchema, { ...next, apiId: current.apiId, stageName: current.stageName }),
    updateMask: { paths: changed },
  };
}

// --- key/value pairs (stage variables, canary overrides) ---

export interface Pair {
  key: string;
  value: string;
}

export function pairsOf(map: Record<string, string> | undefined): Pair[] {
  return entries(map).map(([key, value]) => ({ key, value }));
}

/** The map the rows make; blank rows are dropped; a value without a name, or a name given twice, is refused under `field`. */
function mapOf(pairs: readonly Pair[], field: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const { key, value } of pairs) {
    const k = key.trim();
    if (!k && !value) continue;
    if (!k) throw invalid(field, `the value '${value}' has no name`);
    if (k in map) throw invalid(field, `'${k}' is given twice`);
    map[k] = value;
  }
  return map;
}

export function variablesUpdate(current: Stage, pairs: readonly Pair[]): StageUpdate | null {
  const variables = mapOf(pairs, "stage.variables");
  return stageUpdate(current, create(StageSchema, { ...current, variables }), ["variables"]);
}

// --- canary ---

export interface CanaryForm {
  deploymentId: string;
  percent: string;
  overrides: Pair[];
}

export function canaryFormOf(s: Stage): CanaryForm {
  return {
    deploymentId: s.canary?.deploymentId ?? "",
    percent: s.canary ? String(s.canary.percentTraffic) : "10",
    overrides: pairsOf(s.canary?.stageVariableOverrides),
  };
}

const CANARY_PATHS = ["canary.deployment_id", "canary.percent_traffic", "canary.stage_variable_overrides"];

/** Sets (or starts) the stage's canary; the mask names the canary's fields that changed, so nothing else of the stage moves. */
export function canaryUpdate(current: Stage, form: CanaryForm): StageUpdate | null {
  const text = form.percent.trim();
  const percent = Number(text);
  if (!text || !Number.isFinite(percent) || percent < 0 || percent > 100)
    throw invalid("stage.canary.percent_traffic", `must be a number from 0 to 100, got '${form.percent}'`);
  if (!form.deploymentId)
    throw invalid("stage.canary.deployment_id", "choose the deployment the canary sends traffic to");
  const overrides = mapOf(form.overrides, "stage.canary.stage_variable_overrides");
  const next = create(StageSchema, {
    ...current,
    canary: create(CanarySettingsSchema, {
      deploymentId: form.deploymentId,
      percentTraffic: percent,
      stageVariableOverrides: overrides,
    }),
  });
  return stageUpdate(current, next, CANARY_PATHS);
}

/** Removes the canary: all of its traffic goes back to the stage's deployment. */
export function removeCanaryUpdate(current: Stage): StageUpdate {
  return {
    stage: create(StageSchema, { ...current, canary: undefined }),
    updateMask: { paths: ["canary"] },
  };
}

// --- throttling ---

export interface ThrottleRow {
  resourcePath: string;
  httpMethod: string;
  rate: string;
  burst: string;
}

/** Stage-wide limits (the "*" "*" entry of method_settings) and per-method rows. */
export interface ThrottleForm {
  rate: string;
  burst: string;
  methods: ThrottleRow[];
}

/** The method setting `*`/`*`: the stage-wide one. */
export const isStageWide = (m: MethodThrottle) => m.resourcePath === "*" && m.httpMethod === "*";

export function throttleFormOf(s: Stage): ThrottleForm {
  const wide = s.methodSettings.find(isStageWide);
  return {
    rate: wide?.throttle ? String(wide.throttle.rateLimit) : "",
    burst: wide?.throttle ? String(wide.throttle.burstLimit) : "",
    methods: s.methodSettings
      .filter((m) => !isStageWide(m))
      .map((m) => ({
        resourcePath: m.resourcePath,
        httpMethod: m.httpMethod,
        rate: String(m.throttle?.rateLimit ?? ""),
        burst: String(m.throttle?.burstLimit ?? ""),
      })),
  };
}

/**
 * Where each input of the form lands in the request's method_settings (the
 * server names refusals `stage.method_settings[i]....`): the stage-wide
 * entry first when it is set, then the rows in order.
 */
export function throttleIndexes(form: ThrottleForm): { stage: number | null; rows: number[] } {
  const wide = form.rate.trim() !== "" || form.burst.trim() !== "";
  return { stage: wide ? 0 : null, rows: form.methods.map((_, i) => i + (wide ? 1 : 0)) };
}

function number(text: string, field: string, integer: boolean): number {
  const t = text.trim();
  const n = Number(t);
  if (!t || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
    throw invalid(field, `must be ${integer ? "a whole number" : "a number"} of 0 or more, got '${text}'`);
  return n;
}

export function throttleUpdate(current: Stage, form: ThrottleForm): StageUpdate | null {
  const at = throttleIndexes(form);
  const list: MethodThrottle[] = [];
  const entry = (resourcePath: string, httpMethod: string, rate: string, burst: string, i: number) => {
    const field = `stage.method_settings[${i}].throttle`;
    return create(MethodThrottleSchema, {
      resourcePath: resourcePath.trim(),
      httpMethod: httpMethod.trim().toUpperCase(),
      throttle: {
        rateLimit: number(rate, `${field}.rate_limit`, false),
        burstLimit: number(burst, `${field}.burst_limit`, true),
      },
    });
  };
  if (at.stage !== null) list.push(entry("*", "*", form.rate, form.burst, at.stage));
  form.methods.forEach((r, j) => list.push(entry(r.resourcePath, r.httpMethod, r.rate, r.burst, at.rows[j])));
  return stageUpdate(current, create(StageSchema, { ...current, methodSettings: list }), ["method_settings"]);
}

// --- access log ---

export interface AccessLogForm {
  format: string;
  destination: string;
}

export function accessLogFormOf(s: Stage): AccessLogForm {
  return { format: s.accessLogSettings?.format ?? "", destination: s.accessLogSettings?.destination ?? "" };
}

/** An empty format turns access logging off (the server's rule). */
export function accessLogUpdate(current: Stage, form: AccessLogForm): StageUpdate | null {
  const next = create(StageSchema, {
    ...current,
    accessLogSettings: create(AccessLogSettingsSchema, {
      format: form.format.trim(),
      destination: form.destination.trim(),
    }),
  });
  return stageUpdate(current, next, ["access_log_settings.format", "access_log_settings.destination"]);
}

// --- cache ---

/** The cache sizes the server accepts (AWS's cluster sizes, read as MB per node). */
export const CACHE_SIZES = ["0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"];

export interface CacheForm {
  enabled: boolean;
  size: string;
  /** Seconds, 0 to 3600; empty: the default of 300. */
  ttl: string;
}

export function cacheFormOf(s: Stage): CacheForm {
  return {
    enabled: s.cacheClusterEnabled,
    size: s.cacheClusterSize || "0.5",
    ttl: s.cacheTtlSeconds === undefined ? "" : String(s.cacheTtlSeconds),
  };
}

export function cacheUpdate(current: Stage, form: CacheForm): StageUpdate | null {
  const ttl = form.ttl.trim() === "" ? undefined : number(form.ttl, "stage.cache_ttl_seconds", true);
  // "0.5" is what an empty size means: keep the stored empty value rather than a change.
  const size = form.size === "0.5" && !current.cacheClusterSize ? "" : form.size;
  const next = create(StageSchema, {
    ...current,
    cacheClusterEnabled: form.enabled,
    cacheClusterSize: size,
    cacheTtlSeconds: ttl,
  });
  return stageUpdate(current, next, ["cache_cluster_enabled", "cache_cluster_size", "cache_ttl_seconds"]);
}

// --- deployments and rollback ---

/** Newest first (the server lists in id order). */
export function newestFirst(list: readonly Deployment[]): Deployment[] {
  return [...list].sort((a, b) => (a.createdAtMs > b.createdAtMs ? -1 : a.createdAtMs < b.createdAtMs ? 1 : 0));
}

/**
 * What "Roll back" points the stage at: the deployment this stage served
 * before, the first of its `previousDeploymentIds` (kept by the control
 * plane, most recent first; a roll back takes it off, so rolling back again
 * goes further back). Not the newest deployment older than the current one:
 * deployments belong to the API, and that one may have been made for
 * another stage. `undefined` when the stage has no history. `deployment` is
 * the listed deployment of that id, for its description; absent when the
 * list does not have it (the id alone still rolls back).
 */
export function rollbackTarget(
  stage: Stage,
  deployments: readonly Deployment[],
): { id: string; deployment?: Deployment } | undefined {
  const id = stage.previousDeploymentIds[0];
  if (!id) return undefined;
  return { id, deployment: deployments.find((d) => d.id === id) };
}

export function rollbackUpdate(current: Stage, targetId: string): StageUpdate {
  return {
    stage: create(StageSchema, { ...current, deploymentId: targetId }),
    updateMask: { paths: ["deployment_id"] },
  };
}

/** The stages that serve a deployment, and those whose canary sends it traffic. */
export function usedBy(stages: readonly Stage[], deploymentId: string) {
  return {
    serving: stages.filter((s) => s.deploymentId === deploymentId).map((s) => s.stageName),
    canary: stages
      .filter((s) => s.canary?.deploymentId === deploymentId)
      .map((s) => ({ stage: s.stageName, percent: s.canary!.percentTraffic })),
  };
}

/** The pair the diff starts with: the one before the latest, and the latest. */
export function defaultPair(newest: readonly Deployment[]): { from: string; to: string } {
  return { from: newest[1]?.id ?? newest[0]?.id ?? "", to: newest[0]?.id ?? "" };
}

export interface DeployForm {
  stageName: string;
  description: string;
}

/**
 * CreateDeployment for the form. A stage the API does not have yet is
 * created (`create_stage`) only because the form says so beside the field
 * before Deploy is pressed; the server keeps refusing an unknown name
 * without it, so a typo in a script still cannot start a live stage.
 */
export function deployRequest(
  apiId: string,
  form: DeployForm,
  stages: readonly string[],
): Pick<CreateDeploymentRequest, "apiId" | "description" | "stageName" | "createStage"> {
  const stageName = form.stageName.trim();
  return {
    apiId,
    description: form.description.trim(),
    stageName,
    createStage: stageName !== "" && !stages.includes(stageName),
  };
}
