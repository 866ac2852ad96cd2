// How a throttle (AWS's rate and burst) reads in a summary line: the same
// words on a plan's row and in a stage's "Throttling" summary.

/** "10/s, burst 20", or `none` when there is no throttle. */
export function throttleText(t: { rateLimit: number; burstLimit: number } | undefined, none = "none"): string {
  return t ? `${t.rateLimit}/s, burst ${t.burstLimit}` : none;
}
