// GetTraffic's answer shaped for the traffic page's charts: one x per step
// (seconds since the epoch, as uPlot wants), rates per second, latency in
// milliseconds with a gap (null) where a step had no requests, and the
// window's totals. Counters arrive as uint64 (bigint); they become numbers
// here, exactly below 2^53 (9e15 requests in 15 minutes is out of reach).

/** The fields of a TrafficPoint this module reads (plain objects in tests). */
export interface PointFacts {
  startMs: bigint;
  requests: bigint;
  clientErrors: bigint;
  serverErrors: bigint;
  requestsPerSecond: number;
  p50Seconds?: number;
  p99Seconds?: number;
}

export interface StageFacts {
  apiId: string;
  stageName: string;
  requests: bigint;
}

export interface TrafficFacts {
  stepSeconds: number;
  points: PointFacts[];
  stages: StageFacts[];
}

export interface TrafficSeries {
  /** Step starts, seconds since the epoch. */
  xs: number[];
  requestsPerSecond: Array<number | null>;
  clientErrorsPerSecond: Array<number | null>;
  serverErrorsPerSecond: Array<number | null>;
  p50Ms: Array<number | null>;
  p99Ms: Array<number | null>;
}

/**
 * Every point's rate is its counts over the whole step, as the server's
 * requests_per_second. Counts land in the step in which the control plane
 * receives a node's report (every few seconds), so dividing the step in
 * progress by the time elapsed in it would jump after each step boundary;
 * the whole step only under-reads the last point while it fills, which the
 * chart's caption says.
 */
function rate(count: bigint, stepSeconds: number): number {
  return Number(count) / Math.max(1, stepSeconds);
}

/** A latency quantile in ms, or null (a gap) when the step had no requests or no estimate. */
export function quantileMs(seconds: number | undefined, requests: number): number | null {
  if (requests === 0 || seconds === undefined || !Number.isFinite(seconds)) return null;
  return seconds * 1000;
}

export function shapeTraffic(t: TrafficFacts): TrafficSeries {
  const s: TrafficSeries = {
    xs: [],
    requestsPerSecond: [],
    clientErrorsPerSecond: [],
    serverErrorsPerSecond: [],
    p50Ms: [],
    p99Ms: [],
  };
  const points = [...t.points].sort((a, b) => (a.startMs < b.startMs ? -1 : a.startMs > b.startMs ? 1 : 0));
  for (const p of points) {
    const requests = Number(p.requests);
    s.xs.push(Number(p.startMs) / 1000);
    s.requestsPerSecond.push(p.requestsPerSecond);
    s.clientErrorsPerSecond.push(rate(p.clientErrors, t.stepSeconds));
    s.serverErrorsPerSecond.push(rate(p.serverErrors, t.stepSeconds));
    s.p50Ms.push(quantileMs(p.p50Seconds, requests));
    s.p99Ms.push(quantileMs(p.p99Seconds, requests));
  }
  return s;
}

export interface TrafficTotals {
  requests: number;
  clientErrors: number;
  serverErrors: number;
}

export function trafficTotals(t: Pick<TrafficFacts, "points">): TrafficTotals {
  let requests = 0n;
  let clientErrors = 0n;
  let serverErrors = 0n;
  for (const p of t.points) {
    requests += p.requests;
    clientErrors += p.clientErrors;
    serverErrors += p.serverErrors;
  }
  return { requests: Number(requests), clientErrors: Number(clientErrors), serverErrors: Number(serverErrors) };
}

/** "1 request in the last 15 minutes", "1,234 requests in the last 5 minutes". */
export function totalLine(requests: number, minutes: number): string {
  const n = requests.toLocaleString("en");
  return `${n} ${requests === 1 ? "request" : "requests"} in the last ${minutes} ${minutes === 1 ? "minute" : "minutes"}`;
}

/**
 * The stage names to offer for an API: the API's stages (ListStages, so a
 * stage deployed a moment ago can be chosen before its first request), those
 * that served requests in the window (the answer's `stages`: a stage deleted
 * since still has its traffic), and the one chosen now, so the select can
 * show it; sorted, without duplicates.
 */
export function stageChoices(traffic: StageFacts[], apiId: string, declared: string[] = [], chosen?: string): string[] {
  const names = new Set([...declared, ...traffic.filter((s) => s.apiId === apiId).map((s) => s.stageName)]);
  if (chosen) names.add(chosen);
  return [...names].sort();
}

/** The stages of the answer, busiest first, for the table beside the charts. */
export function busiestStages(stages: StageFacts[]): StageFacts[] {
  return [...stages].sort(
    (a, b) =>
      (a.requests < b.requests ? 1 : a.requests > b.requests ? -1 : 0) ||
      a.apiId.localeCompare(b.apiId) ||
      a.stageName.localeCompare(b.stageName),
  );
}

/** Rates read as "0.25/s", "12/s"; latencies as "3.2 ms". */
export function perSecond(v: number): string {
  return `${v >= 100 || Number.isInteger(v) ? Math.round(v) : v.toPrecision(2)}/s`;
}

export function millis(v: number): string {
  return `${v >= 100 ? Math.round(v) : v.toPrecision(2)} ms`;
}
