/**
 * One formatter for every time the UI shows: making an Intl.DateTimeFormat
 * per call was the main cost of redrawing thousands of rows (measured on
 * the keys and fleet pages).
 */
export const EXACT_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A time in the operator's locale, to the second; "—" for none. */
export function when(ms: bigint | number): string {
  const n = Number(ms);
  if (!n) return "—";
  return EXACT_TIME.format(new Date(n));
}

/** "12 s ago", "3 min ago": how fresh a fleet report is. */
export function ago(ms: bigint | number, now: number = Date.now()): string {
  const n = Number(ms);
  if (!n) return "never";
  const s = Math.max(0, Math.round((now - n) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
