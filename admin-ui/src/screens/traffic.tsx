// Traffic: requests per second, 4xx/5xx per second and p50/p99 latency of
// one API stage (or all of them) over the last 5 or 15 minutes, summed over
// the fleet (FleetService.GetTraffic: the nodes' own Prometheus counters),
// polled every 5 s. The choice lives in the route, #/traffic/<api>/<stage>,
// so a chart can be linked to; the shaping is in logic/traffic.ts.
import { useMemo, useState } from "preact/hooks";
import { allPages } from "../api/client";
import type { GetTrafficResponse } from "../gen/archway/v1/admin_pb";
import {
  busiestStages,
  millis,
  perSecond,
  shapeTraffic,
  stageChoices,
  totalLine,
  trafficTotals,
} from "../logic/traffic";
import { href, navigate } from "../router";
import { Chart, type Series } from "../ui/chart";
import { useSession } from "../ui/context";
import { ListHead } from "../ui/list_head";
import { Failure, PageHeader, Select } from "../ui/form";
import { useLoad, usePolledLoad } from "../ui/hooks";

const POLL_MS = 5000;
const WINDOWS: Array<[string, string]> = [
  ["15", "Last 15 minutes"],
  ["5", "Last 5 minutes"],
];
const FIELDS = ["api_id", "stage_name", "minutes"];

/** The three charts, in order: each one's title, test id, series and unit. */
const CHARTS: Array<{ title: string; testId: string; series: "rps" | "errors" | "latency"; format: (v: number) => string }> = [
  { title: "Requests per second", testId: "chart-rps", series: "rps", format: perSecond },
  { title: "Error rates: 4xx and 5xx responses per second", testId: "chart-errors", series: "errors", format: perSecond },
  {
    title: "Latency: p50 and p99, ms (gaps: no requests in that step)",
    testId: "chart-latency",
    series: "latency",
    format: millis,
  },
];

interface Loaded {
  answer: GetTrafficResponse;
}

export function TrafficPage({ apiId = "", stage = "" }: { apiId?: string; stage?: string }) {
  const { clients } = useSession();
  const [minutes, setMinutes] = useState("15");

  const apis = useLoad(
    () => allPages((pageToken) => clients.apis.listRestApis({ pageSize: 500, pageToken })),
    [clients],
  );
  const declared = useLoad(
    async () =>
      apiId
        ? (await allPages((pageToken) => clients.deployments.listStages({ apiId, pageSize: 500, pageToken }))).map(
            (st) => st.stageName,
          )
        : [],
    [clients, apiId],
  );
  const traffic = usePolledLoad<Loaded>(
    async () => ({
      answer: await clients.fleet.getTraffic({ apiId, stageName: stage, minutes: Number(minutes) }),
    }),
    [clients, apiId, stage, minutes],
    POLL_MS,
  );

  const apiOptions = useMemo(() => {
    const list = (apis.data ?? []).map((a): [string, string] => [a.id, a.name && a.name !== a.id ? `${a.name} (${a.id})` : a.id]);
    // A route to an API this list does not (yet) hold still shows it.
    if (apiId && !list.some(([id]) => id === apiId)) list.push([apiId, apiId]);
    return [["", "All"] as [string, string], ...list];
  }, [apis.data, apiId]);
  const stageOptions = useMemo(
    () => [
      ["", "All"] as [string, string],
      ...stageChoices(traffic.data?.answer.stages ?? [], apiId, declared.data, stage || undefined).map(
        (s): [string, string] => [s, s],
      ),
    ],
    [traffic.data, declared.data, apiId, stage],
  );

  const shaped = useMemo(
    () => (traffic.data ? shapeTraffic(traffic.data.answer) : null),
    [traffic.data],
  );
  const totals = useMemo(() => (traffic.data ? trafficTotals(traffic.data.answer) : null), [traffic.data]);
  const series = useMemo(() => {
    if (!shaped) return null;
    const rps: Series[] = [{ label: "Requests/s", values: shaped.requestsPerSecond, color: "#1f5fbf" }];
    const errors: Series[] = [
      { label: "4xx/s", values: shaped.clientErrorsPerSecond, color: "#b26b00" },
      { label: "5xx/s", values: shaped.serverErrorsPerSecond, color: "#b3261e" },
    ];
    const latency: Series[] = [
      { label: "p50 ms", values: shaped.p50Ms, color: "#1e7b3a" },
      { label: "p99 ms", values: shaped.p99Ms, color: "#6b3fa0" },
    ];
    return { rps, errors, latency };
  }, [shaped]);

  const scope = apiId ? (stage ? `${apiId} / ${stage}` : `${apiId}, every stage`) : "every API and stage";
  const step = traffic.data?.answer.stepSeconds ?? 0;

  return (
    <section aria-label="Traffic">
      <PageHeader title="Traffic" />
      <form class="inline-form" aria-label="Choose what to show" onSubmit={(e) => e.preventDefault()}>
        <Select
          label="API"
          names={["api_id"]}
          failure={traffic.error}
          value={apiId}
          options={apiOptions}
          onValue={(v) => (v ? navigate("traffic", v) : navigate("traffic"))}
        />
        <Select
          label="Stage"
          names={["stage_name"]}
          failure={traffic.error}
          value={stage}
          options={stageOptions}
          disabled={!apiId}
          onValue={(v) => (v ? navigate("traffic", apiId, v) : navigate("traffic", apiId))}
        />
        <Select
          label="Window"
          names={["minutes"]}
          failure={traffic.error}
          value={minutes}
          options={WINDOWS}
          onValue={setMinutes}
        />
      </form>
      <Failure failure={apis.error} />
      <Failure failure={declared.error} />
      <Failure failure={traffic.error} fields={FIELDS} />
      {traffic.error && traffic.data && <p class="muted">Showing the last answer; retrying every 5 s.</p>}
      {!traffic.data && traffic.loading && <p role="status">Loading…</p>}

      {traffic.data && totals && series && shaped && (
        <div aria-busy={traffic.loading ? "true" : "false"}>
          <p class="traffic-total">
            <strong data-testid="traffic-total">{totalLine(totals.requests, Number(minutes))}</strong>{" "}
            <span class="muted">
              ({scope}; {totals.clientErrors.toLocaleString("en")} 4xx, {totals.serverErrors.toLocaleString("en")}{" "}
              5xx; steps of {step} s, the last one still filling; updated every 5 s)
            </span>
          </p>
          <div class="charts">
            {CHARTS.map((c) => (
              <Chart
                key={c.testId}
                title={c.title}
                testId={c.testId}
                xs={shaped.xs}
                series={series[c.series]}
                format={c.format}
              />
            ))}
          </div>
          <StageTable stages={traffic.data.answer.stages} />
        </div>
      )}
    </section>
  );
}

/** The stages that served requests in the window, busiest first, each a link to its charts. */
function StageTable({ stages }: { stages: GetTrafficResponse["stages"] }) {
  const rows = useMemo(() => busiestStages(stages), [stages]);
  return (
    <>
      {/* No aria-label: "API"/"Stage" must name only the selects above. */}
      <h2>Where the requests went</h2>
      {rows.length === 0 ? (
        <p class="muted">No requests in this window.</p>
      ) : (
        <table class="list">
          <ListHead columns={["API", "Stage", "Requests"]} actions={false} />
          <tbody>
            {rows.map((s) => (
              <tr key={`${s.apiId}/${s.stageName}`}>
                <td>
                  <code>{s.apiId}</code>
                </td>
                <td>
                  <a href={href("traffic", s.apiId, s.stageName)}>{s.stageName}</a>
                </td>
                <td class="num">{Number(s.requests).toLocaleString("en")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
