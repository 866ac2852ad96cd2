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
 * The seconds a step's counts were gathered over. The contract makes the
 * last point the step still in progress; dividing its counts by the whole
 * step would draw a false drop at the right edge of every chart, so it is
 * divided by the part already elapsed (at least one second). When the
 * browser's clock does not place `nowMs` inside that step (clock skew), the
 * whole step is used, as the server's own requests_per_second does.
 */
export function stepSpan(startMs: number, stepSeconds: number, nowMs: number, last: boolean): number {
  const step = Math.max(1, stepSeconds);
  if (!last) return step;
  const elapsed = (nowMs - startMs) / 1000;
  if (elapsed <= 0 || elapsed >= step) return step;
  return Math.max(1, elapsed);
}

/** A latency quantile in ms, or null (a gap) when the step had no requests or no estimate. */
export function quantileMs(seconds: number | undefined, requests: number): number | null {
  if (requests === 0 || seconds === undefined || !Number.isFinite(seconds)) return null;
  return seconds * 1000;
}

export function shapeTraffic(t: TrafficFacts, nowMs: number): TrafficSeries {
  const s: TrafficSeries = {
    xs: [],
    requestsPerSecond: [],
    clientErrorsPerSecond: [],
    serverErrorsPerSecond: [],
    p50Ms: [],
    p99Ms: [],
  };
  const points = [...t.points].sort((a, b) => (a.startMs < b.startMs ? -1 : a.startMs > b.startMs ? 1 : 0));
  points.forEach((p, i) => {
    const start = Number(p.startMs);
    const requests = Number(p.requests);
    const last = i === points.length - 1;
    const span = stepSpan(start, t.stepSeconds, nowMs, last);
    const whole = span === Math.max(1, t.stepSeconds);
    s.xs.push(start / 1000);
    // A whole step: the server's own rate, the figure it promises.
    s.requestsPerSecond.push(whole ? p.requestsPerSecond : requests / span);
    s.clientErrorsPerSecond.push(Number(p.clientErrors) / span);
    s.serverErrorsPerSecond.push(Number(p.serverErrors) / span);
    s.p50Ms.push(quantileMs(p.p50Seconds, requests));
    s.p99Ms.push(quantileMs(p.p99Seconds, requests));
  });
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
