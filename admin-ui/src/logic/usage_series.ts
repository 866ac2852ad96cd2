// GetUsage's answer (requests per key and UTC day, only the days a key was
// used) shaped for the chart and the table: one x per day of the range, one
// series per key, a day without an entry counted as 0.

export interface UsageRow {
  keyId: string;
  /** YYYY-MM-DD (UTC). */
  date: string;
  used: bigint | number;
}

export interface UsageSeries {
  /** The days of the range, YYYY-MM-DD, in order. */
  days: string[];
  /** Each day's midnight UTC in seconds since the epoch: the chart's x values. */
  xs: number[];
  series: Array<{ keyId: string; values: number[]; total: number }>;
}

const DAY_MS = 86_400_000;
/** GetUsage answers at most 366 days; a range is never longer. */
const MAX_DAYS = 367;

/** Midnight UTC of a YYYY-MM-DD date in ms, or NaN when it is not one. */
export function dayMs(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return NaN;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Rejects 2026-02-30 and the like, which Date.UTC rolls over.
  return new Date(ms).toISOString().slice(0, 10) === date ? ms : NaN;
}

export function dateOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, both included; empty when the range is backwards or not dates. */
export function daysBetween(from: string, to: string): string[] {
  const a = dayMs(from);
  const b = dayMs(to);
  if (Number.isNaN(a) || Number.isNaN(b) || b < a) return [];
  const out: string[] = [];
  for (let t = a; t <= b && out.length < MAX_DAYS; t += DAY_MS) out.push(dateOf(t));
  return out;
}

/** The last `n` UTC days up to and including today's: the default range. */
export function lastDays(n: number, now: number = Date.now()): { from: string; to: string } {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return { from: dateOf(today - (n - 1) * DAY_MS), to: dateOf(today) };
}

/**
 * One series per key: the keys named in `keyIds` first, in that order
 * (a key with no use in the range gets a line of zeros), then any other key
 * the answer has, by id. Entries outside the range are left out.
 */
export function usageSeries(rows: UsageRow[], from: string, to: string, keyIds: string[] = []): UsageSeries {
  const days = daysBetween(from, to);
  const index = new Map(days.map((d, i) => [d, i]));
  const byKey = new Map<string, number[]>();
  for (const k of keyIds) if (!byKey.has(k)) byKey.set(k, new Array(days.length).fill(0));
  const extra = [...new Set(rows.map((r) => r.keyId))].filter((k) => !byKey.has(k)).sort();
  for (const k of extra) byKey.set(k, new Array(days.length).fill(0));
  for (const r of rows) {
    const i = index.get(r.date);
    if (i === undefined) continue;
    byKey.get(r.keyId)![i] += Number(r.used);
  }
  return {
    days,
    xs: days.map((d) => dayMs(d) / 1000),
    series: [...byKey].map(([keyId, values]) => ({
      keyId,
      values,
      total: values.reduce((a, b) => a + b, 0),
    })),
  };
}

export interface TopKeys {
  /** The busiest keys, most requests first (ties by id). */
  top: UsageSeries["series"];
  /** The rest summed per day, or null when every key is in `top`. */
  others: { count: number; values: number[]; total: number } | null;
}

/**
 * The `n` busiest keys and the rest summed: a plan can hold thousands of
 * keys, and a chart line (or table row) per key would be unreadable and slow.
 */
export function topKeys(series: UsageSeries["series"], n: number): TopKeys {
  const sorted = [...series].sort((a, b) => b.total - a.total || a.keyId.localeCompare(b.keyId));
  const top = sorted.slice(0, Math.max(0, n));
  const rest = sorted.slice(top.length);
  if (rest.length === 0) return { top, others: null };
  const values = new Array(rest[0].values.length).fill(0);
  for (const s of rest) s.values.forEach((v, i) => (values[i] += v));
  return { top, others: { count: rest.length, values, total: values.reduce((a, b) => a + b, 0) } };
}
