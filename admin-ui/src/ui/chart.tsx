// A time-series chart (uPlot: canvas, ~50 KB, no dependencies, fast with
// thousands of points). Screen readers get the caption and a table of the
// same numbers; the canvas itself is hidden from them.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { dateOf } from "../logic/usage_series";

export interface Series {
  label: string;
  /** One value per x; null where there is no value (drawn as a gap). */
  values: Array<number | null>;
  color: string;
}

interface ChartProps {
  title: string;
  /** x values, seconds since the epoch. */
  xs: number[];
  series: Series[];
  /** How a y value reads, e.g. `v => v.toFixed(1) + " req/s"`. */
  format?: (v: number) => string;
  height?: number;
  /** For tests and screenshots. */
  testId?: string;
  /** "day": each x is a UTC day (midnight), labelled YYYY-MM-DD in UTC, one tick per day at most. */
  xUnit?: "day";
}

const plain = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(3));

const utcDay = (x: number) => dateOf(x * 1000);

export function Chart({ title, xs, series, format = plain, height = 220, testId, xUnit }: ChartProps) {
  const xLabel = xUnit === "day" ? utcDay : (x: number) => new Date(x * 1000).toLocaleString();
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join("\u0000");

  // Build once per set of series; new data goes through setData.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height,
      series: [
        xUnit === "day" ? { label: "Day", value: (_u: uPlot, v: number | null) => (v == null ? "—" : utcDay(v)) } : {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => (v == null ? "—" : format(v)),
        })),
      ],
      axes: [
        xUnit === "day"
          ? { incrs: [86_400, 7 * 86_400, 28 * 86_400], values: (_u: uPlot, ticks: number[]) => ticks.map((t) => utcDay(t).slice(5)) }
          : {},
        { values: (_u: uPlot, ticks: number[]) => ticks.map(format), size: 70 }],
      scales: {
        // Plain numbers for days: ticks at multiples of 86,400 s are UTC midnights in every time zone.
        ...(xUnit === "day" ? { x: { time: false } } : {}),
        y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
      },
      legend: { live: true },
    };
    const p = new uPlot(opts, [xs, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    plot.current = p;
    const resize = new ResizeObserver(() => p.setSize({ width: Math.max(280, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      p.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height, xUnit]);

  useEffect(() => {
    plot.current?.setData([xs, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [xs, series]);

  const last = xs.length - 1;
  // How many values the chart draws (gaps left out), so a test can tell an empty chart from a drawn one.
  const points = series.reduce((sum, s) => sum + s.values.filter((v) => v != null).length, 0);
  return (
    <figure class="chart-figure" data-testid={testId} data-points={points}>
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart" aria-hidden="true" />
      <details>
        <summary>
          Data{" "}
          {last >= 0 &&
            series.map((s) => `${s.label}: ${s.values[last] == null ? "—" : format(s.values[last]!)}`).join(", ")}
        </summary>
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Time</th>
              {series.map((s) => (
                <th scope="col" key={s.label}>
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {xs.map((x, i) => (
              <tr key={x}>
                <td>{xLabel(x)}</td>
                {series.map((s) => (
                  <td key={s.label}>{s.values[i] == null ? "—" : format(s.values[i]!)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
