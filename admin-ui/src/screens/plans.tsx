// Usage plans: list, create, edit (update_mask of what changed), delete; a
// plan's keys (add, remove, reset quota) and their use per day as a chart.
import { useMemo, useState } from "preact/hooks";
import { allPages } from "../api/client";
import type { Refusal } from "../api/errors";
import { type ApiKey, QuotaPeriod, type UsagePlan } from "../gen/archway/v1/config_pb";
import {
  type MethodThrottleForm,
  type PlanForm,
  type StageForm,
  emptyPlanForm,
  formFromPlan,
  planFromForm,
  planMask,
} from "../logic/plan_form";
import { throttleText } from "../logic/throttle_text";
import { lastDays, topKeys, usageSeries } from "../logic/usage_series";
import { href, navigate } from "../router";
import { Chart } from "../ui/chart";
import { useSession } from "../ui/context";
import { Failure, Field, Notice, PageHeader, Select } from "../ui/form";
import { when } from "../ui/format";
import { type Loaded, useAction, useLoad } from "../ui/hooks";
import { ConfirmButton } from "../ui/confirm_button";
import { ListFilter, countStatus, useFiltered } from "../ui/list_filter";
import { ListHead } from "../ui/list_head";
import { KeyCells } from "../ui/key_cells";
import { InlineForm } from "../ui/inline_form";
import { ThrottleFields } from "../ui/throttle_fields";
import { MethodThrottleRow } from "../ui/method_throttle_row";

const PERIODS: Array<[string, string]> = [
  [String(QuotaPeriod.UNSPECIFIED), "—"],
  [String(QuotaPeriod.DAY), "Day"],
  [String(QuotaPeriod.WEEK), "Week"],
  [String(QuotaPeriod.MONTH), "Month"],
];

/** Distinct on white, in this order, for the keys of a chart. */
const COLORS = ["#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#be185d"];

export function PlansPage({ planId }: { planId?: string }) {
  return planId ? <PlanDetail planId={planId} /> : <PlanList />;
}

function quotaText(p: UsagePlan): string {
  const q = p.quota;
  if (!q || q.limit === 0n) return "none";
  const per = PERIODS.find(([v]) => v === String(q.period))?.[1].toLowerCase() ?? "?";
  return `${q.limit.toLocaleString()} per ${per}${q.offset ? ` (offset ${q.offset})` : ""}`;
}

function PlanList() {
  const { clients } = useSession();
  const plans = useLoad(
    () => allPages((pageToken) => clients.plans.listUsagePlans({ pageSize: 1000, pageToken })),
    [clients],
  );
  const { filter, setFilter, shown } = useFiltered(
    plans.data,
    (p, f) => p.id.includes(f) || p.name.toLowerCase().includes(f),
  );
  const remove = useAction();

  return (
    <section aria-label="Usage plans">
      <PageHeader title="Usage plans" />
      <details class="panel">
        <summary>Create a usage plan</summary>
        <PlanEditor onSaved={(p) => navigate("plans", p.id)} />
      </details>
      <ListFilter id="plan-filter" placeholder="id or name" filter={filter} onFilter={setFilter}>
        {countStatus(plans, shown.length, "plans")}
      </ListFilter>
      <Failure failure={plans.error} />
      <Failure failure={remove.failure} />
      <table class="list" aria-label="Usage plans">
        <ListHead columns={["Name", "Id", "Throttle", "Quota", "Stages", "Created"]} />
        <tbody>
          {shown.map((p) => (
            <tr key={p.id}>
              <td>
                <a href={href("plans", p.id)}>{p.name || p.id}</a>
              </td>
              <td>
                <code>{p.id}</code>
              </td>
              <td>{throttleText(p.throttle)}</td>
              <td>{quotaText(p)}</td>
              <td>{p.apiStages.map((s) => `${s.apiId}/${s.stage}`).join(", ") || <span class="muted">none</span>}</td>
              <td>{when(p.createdAtMs)}</td>
              <td class="row-actions">
                <ConfirmButton
                  action={remove}
                  label={`Delete usage plan ${p.name || p.id}`}
                  confirmText={`Delete usage plan ${p.name} (${p.id})? Remove its keys first.`}
                  run={() => clients.plans.deleteUsagePlan({ usagePlanId: p.id })}
                  onDone={plans.reload}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function PlanDetail({ planId }: { planId: string }) {
  const { clients } = useSession();
  const plan = useLoad(() => clients.plans.getUsagePlan({ usagePlanId: planId }), [clients, planId]);
  const keys = useLoad(
    () => allPages((pageToken) => clients.plans.listApiKeys({ pageSize: 1000, pageToken })),
    [clients],
  );
  const remove = useAction();
  const p = plan.data;
  const memberIds = useMemo(
    () => (keys.data ?? []).filter((k) => k.usagePlanIds.includes(planId)).map((k) => k.id),
    [keys.data, planId],
  );
  const names = useMemo(() => new Map((keys.data ?? []).map((k) => [k.id, k.name])), [keys.data]);
  return (
    <section aria-labelledby="plan-title">
      <p>
        <a href={href("plans")}>← Usage plans</a>
      </p>
      <header class="page-header">
        <h1 id="plan-title">Usage plan {p ? p.name : planId}</h1>
        <div class="actions">
          <ConfirmButton
            action={remove}
            disabled={!p}
            confirmText={`Delete usage plan ${p?.name} (${planId})? Remove its keys first.`}
            run={() => clients.plans.deleteUsagePlan({ usagePlanId: planId })}
            onDone={() => navigate("plans")}
          >
            Delete plan
          </ConfirmButton>
        </div>
      </header>
      <Failure failure={plan.error} />
      <Failure failure={remove.failure} />
      {p && (
        <>
          <p class="muted">
            <code>{p.id}</code> · created {when(p.createdAtMs)} · throttle {throttleText(p.throttle)} · quota {quotaText(p)}
          </p>
          <details class="panel">
            <summary>Edit the plan</summary>
            <PlanEditor key={`${p.id}`} plan={p} onSaved={() => plan.reload()} />
          </details>
          <PlanKeys plan={p} keys={keys} />
          <PlanUsage plan={p} keyIds={memberIds} names={names} />
        </>
      )}
    </section>
  );
}

/** Creates a plan, or edits `plan` sending only the fields that changed. */
function PlanEditor({ plan, onSaved }: { plan?: UsagePlan; onSaved: (p: UsagePlan) => void }) {
  const { clients, canWrite } = useSession();
  const [form, setForm] = useState<PlanForm>(() => (plan ? formFromPlan(plan) : emptyPlanForm()));
  const [local, setLocal] = useState<Refusal | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const save = useAction();
  const apis = useLoad(
    () => allPages((pageToken) => clients.apis.listRestApis({ pageSize: 1000, pageToken })),
    [clients],
  );
  const failure = local ?? save.failure;
  const set = (patch: Partial<PlanForm>) => setForm((f) => ({ ...f, ...patch }));
  const setStage = (i: number, patch: Partial<StageForm>) =>
    setForm((f) => ({ ...f, stages: f.stages.map((s, k) => (k === i ? { ...s, ...patch } : s)) }));
  const fields: string[] = [
    "plan",
    "plan.name",
    "plan.description",
    "plan.throttle",
    "plan.throttle.rate_limit",
    "plan.throttle.burst_limit",
    "plan.quota",
    "plan.quota.limit",
    "plan.quota.period",
    "plan.quota.offset",
  ];
  form.stages.forEach((s, i) => {
    const at = `plan.api_stages[${i}]`;
    fields.push(at);
    s.throttles.forEach((_, j) => {
      const m = `${at}.throttle[${j}]`;
      fields.push(m, `${m}.resource_path`, `${m}.http_method`, `${m}.throttle`, `${m}.throttle.rate_limit`, `${m}.throttle.burst_limit`);
    });
  });
  const off = !canWrite;
  const apiOptions: Array<[string, string]> = [["", "Choose an API"], ...(apis.data ?? []).map((a): [string, string] => [a.id, `${a.name} (${a.id})`])];

  return (
    <form
      class="stack-form"
      aria-label={plan ? "Edit the usage plan" : "Create a usage plan"}
      onSubmit={async (e) => {
        e.preventDefault();
        setSaved(null);
        save.clear();
        const built = planFromForm(form);
        if ("refusal" in built) {
          setLocal(built.refusal);
          return;
        }
        setLocal(null);
        let answer: UsagePlan | undefined;
        if (plan) {
          const before = planFromForm(formFromPlan(plan));
          const paths = "plan" in before ? planMask(before.plan, built.plan) : ["*"];
          answer = await save.run(() =>
            clients.plans.updateUsagePlan({ plan: { ...built.plan, id: plan.id }, updateMask: { paths } }),
          );
        } else {
          answer = await save.run(() => clients.plans.createUsagePlan({ plan: built.plan }));
        }
        if (answer) {
          setSaved(plan ? "Saved." : `Created ${answer.name} (${answer.id}).`);
          if (!plan) setForm(emptyPlanForm());
          onSaved(answer);
        }
      }}
    >
      <div class="row">
        <Field label="Plan name" names={["plan.name"]} failure={failure} value={form.name} onValue={(v) => set({ name: v })} disabled={off} />
        <Field
          label="Description"
          names={["plan.description"]}
          failure={failure}
          value={form.description}
          onValue={(v) => set({ description: v })}
          disabled={off}
        />
      </div>
      <fieldset>
        <legend>Throttle per key (empty: none)</legend>
        <div class="row">
          <ThrottleFields
            at="plan.throttle"
            rateLabel="Throttle rate (requests/s)"
            burstLabel="Throttle burst"
            failure={failure}
            rate={form.rate}
            burst={form.burst}
            onRate={(v) => set({ rate: v })}
            onBurst={(v) => set({ burst: v })}
            disabled={off}
          />
        </div>
      </fieldset>
      <fieldset>
        <legend>Quota per key (empty or 0: none)</legend>
        <div class="row">
          <Field
            label="Quota limit (requests)"
            names={["plan.quota.limit", "plan.quota"]}
            failure={failure}
            value={form.quotaLimit}
            onValue={(v) => set({ quotaLimit: v })}
            inputMode="numeric"
            disabled={off}
          />
          <Select
            label="Quota period"
            names={["plan.quota.period"]}
            failure={failure}
            value={form.quotaPeriod}
            onValue={(v) => set({ quotaPeriod: v })}
            options={PERIODS}
            disabled={off}
          />
          <Field
            label="Period offset (days)"
            names={["plan.quota.offset"]}
            failure={failure}
            value={form.quotaOffset}
            onValue={(v) => set({ quotaOffset: v })}
            inputMode="numeric"
            hint="Week: 0-6 (Monday first); month: 0-27"
            disabled={off}
          />
        </div>
      </fieldset>
      <fieldset>
        <legend>API stages the plan applies to</legend>
        {form.stages.length === 0 && <p class="muted">None yet.</p>}
        {form.stages.map((s, i) => (
          <StageEditor
            key={i}
            index={i}
            stage={s}
            apiOptions={apiOptions}
            failure={failure}
            disabled={off}
            onChange={(patch) => setStage(i, patch)}
            onRemove={() => setForm((f) => ({ ...f, stages: f.stages.filter((_, k) => k !== i) }))}
          />
        ))}
        <button
          type="button"
          class="secondary"
          disabled={off}
          onClick={() => setForm((f) => ({ ...f, stages: [...f.stages, { apiId: "", stage: "", throttles: [] }] }))}
        >
          Add a stage
        </button>
      </fieldset>
      <div class="toolbar">
        <button type="submit" disabled={off || save.busy}>
          {plan ? "Save plan" : "Create plan"}
        </button>
        {saved && <Notice>{saved}</Notice>}
      </div>
      <Failure failure={failure} fields={fields} />
    </form>
  );
}

function StageEditor({
  index,
  stage,
  apiOptions,
  failure,
  disabled,
  onChange,
  onRemove,
}: {
  index: number;
  stage: StageForm;
  apiOptions: Array<[string, string]>;
  failure: Refusal | null;
  disabled: boolean;
  onChange: (patch: Partial<StageForm>) => void;
  onRemove: () => void;
}) {
  const { clients } = useSession();
  const at = `plan.api_stages[${index}]`;
  const stages = useLoad(
    () =>
      stage.apiId
        ? allPages((pageToken) => clients.deployments.listStages({ apiId: stage.apiId, pageSize: 1000, pageToken }))
        : Promise.resolve([]),
    [clients, stage.apiId],
  );
  const known = apiOptions.some(([v]) => v === stage.apiId);
  const options: Array<[string, string]> = known || !stage.apiId ? apiOptions : [...apiOptions, [stage.apiId, stage.apiId]];
  const stageOptions: Array<[string, string]> = [["", "Choose a stage"], ...(stages.data ?? []).map((s): [string, string] => [s.stageName, s.stageName])];
  if (stage.stage && !stageOptions.some(([v]) => v === stage.stage)) stageOptions.push([stage.stage, stage.stage]);
  const setThrottle = (j: number, patch: Partial<MethodThrottleForm>) =>
    onChange({ throttles: stage.throttles.map((m, k) => (k === j ? { ...m, ...patch } : m)) });

  return (
    <div class="stage-row" role="group" aria-label={`Stage ${index + 1}`}>
      <div class="row">
        <Select
          label={`API (stage ${index + 1})`}
          names={[at]}
          failure={failure}
          value={stage.apiId}
          onValue={(v) => onChange({ apiId: v, stage: "" })}
          options={options}
          disabled={disabled}
        />
        <Select
          label={`Stage name (stage ${index + 1})`}
          names={[`${at}.stage`]}
          failure={failure}
          value={stage.stage}
          onValue={(v) => onChange({ stage: v })}
          options={stageOptions}
          disabled={disabled || !stage.apiId}
        />
        <button type="button" class="danger" disabled={disabled} onClick={onRemove} aria-label={`Remove stage ${index + 1}`}>
          Remove
        </button>
      </div>
      {stage.throttles.map((m, j) => {
        const mt = `${at}.throttle[${j}]`;
        const n = `${index + 1}.${j + 1}`;
        return (
          <MethodThrottleRow
            key={j}
            at={mt}
            n={n}
            value={m}
            onChange={(p) => setThrottle(j, p)}
            onRemove={() => onChange({ throttles: stage.throttles.filter((_, k) => k !== j) })}
            removeLabel={`Remove method throttle ${n}`}
            failure={failure}
            disabled={disabled}
          />
        );
      })}
      <button
        type="button"
        class="secondary"
        disabled={disabled}
        onClick={() => onChange({ throttles: [...stage.throttles, { resourcePath: "*", httpMethod: "*", rate: "", burst: "" }] })}
      >
        Add a method throttle
      </button>
    </div>
  );
}

function PlanKeys({ plan, keys }: { plan: UsagePlan; keys: Loaded<ApiKey[]> }) {
  const { clients, canWrite } = useSession();
  const change = useAction();
  const [find, setFind] = useState("");
  const [chosen, setChosen] = useState("");
  const all = keys.data ?? [];
  const members = useMemo(() => all.filter((k) => k.usagePlanIds.includes(plan.id)), [all, plan.id]);
  // At most 200 candidates in the select: with 10,000 keys, the search box narrows it.
  const candidates = useMemo(() => {
    const f = find.trim().toLowerCase();
    return all
      .filter((k) => !k.usagePlanIds.includes(plan.id))
      .filter((k) => !f || k.id.includes(f) || k.name.toLowerCase().includes(f))
      .slice(0, 200);
  }, [all, plan.id, find]);
  const options: Array<[string, string]> = [
    ["", candidates.length ? "Choose a key" : "No key matches"],
    ...candidates.map((k): [string, string] => [k.id, `${k.name} (${k.id})`]),
  ];

  return (
    <section aria-labelledby="plan-keys-title">
      <h2 id="plan-keys-title">Keys in this plan ({keys.data ? members.length : "loading…"})</h2>
      <InlineForm
        label="Add a key"
        action={change}
        submit="Add key"
        fields={["key_id"]}
        ready={!!chosen}
        onSubmit={async () => {
          if (!chosen) return;
          if (await change.run(() => clients.plans.addKeyToPlan({ usagePlanId: plan.id, keyId: chosen }))) {
            setChosen("");
            keys.reload();
          }
        }}
      >
        <div class="field">
          <label for="key-find">Find a key</label>
          <input id="key-find" type="search" value={find} placeholder="name or id" onInput={(e) => setFind((e.target as HTMLInputElement).value)} />
        </div>
        <Select label="Member key" names={["key_id"]} failure={change.failure} value={chosen} onValue={setChosen} options={options} disabled={!canWrite} />
      </InlineForm>
      <table class="list" aria-label="Keys in this plan">
        <ListHead columns={["Name", "Id", "Prefix", "Enabled"]} />
        <tbody>
          {members.map((k) => (
            <tr key={k.id}>
              <KeyCells k={k} />
              <td class="row-actions">
                <ConfirmButton
                  action={change}
                  class="secondary"
                  label={`Reset the quota of key ${k.name || k.id}`}
                  confirmText={`Start the quota period of key ${k.name} over (its count goes to 0)?`}
                  run={() => clients.plans.resetUsage({ usagePlanId: plan.id, keyId: k.id })}
                >
                  Reset quota
                </ConfirmButton>
                <ConfirmButton
                  action={change}
                  label={`Remove key ${k.name || k.id}`}
                  confirmText={`Remove key ${k.name} (${k.id}) from plan ${plan.name}?`}
                  run={() => clients.plans.removeKeyFromPlan({ usagePlanId: plan.id, keyId: k.id })}
                  onDone={keys.reload}
                >
                  Remove
                </ConfirmButton>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Keys drawn as their own line, and listed as their own row; the rest are summed. */
const CHART_KEYS = 8;
const TABLE_KEYS = 100;

function PlanUsage({ plan, keyIds, names }: { plan: UsagePlan; keyIds: string[]; names: Map<string, string> }) {
  const { clients } = useSession();
  const [range, setRange] = useState(() => lastDays(7));
  const usage = useLoad(
    () => clients.plans.getUsage({ usagePlanId: plan.id, startDate: range.from, endDate: range.to }),
    [clients, plan.id, range.from, range.to],
  );
  const data = useMemo(
    () => usageSeries(usage.data?.items ?? [], range.from, range.to, keyIds),
    [usage.data, range.from, range.to, keyIds],
  );
  const label = (id: string) => (names.get(id) ? `${names.get(id)} (${id})` : id);
  // A line per key reads up to about eight; the table lists more.
  const charted = useMemo(() => topKeys(data.series, CHART_KEYS), [data]);
  const listed = useMemo(() => topKeys(data.series, TABLE_KEYS), [data]);
  const series = useMemo(
    () => [
      ...charted.top.map((s, i) => ({ label: label(s.keyId), values: s.values, color: COLORS[i % COLORS.length] })),
      ...(charted.others
        ? [{ label: `${charted.others.count} other keys`, values: charted.others.values, color: "#7a7a7a" }]
        : []),
    ],
    [charted, names],
  );

  return (
    <section aria-labelledby="usage-title">
      <h2 id="usage-title">Usage per key</h2>
      <div class="inline-form" role="group" aria-label="Date range (UTC)">
        <Field
          label="From"
          type="date"
          names={["start_date"]}
          failure={usage.error}
          value={range.from}
          onValue={(v) => setRange((r) => ({ ...r, from: v }))}
        />
        <Field label="To" type="date" names={["end_date"]} failure={usage.error} value={range.to} onValue={(v) => setRange((r) => ({ ...r, to: v }))} />
        <button type="button" class="secondary" onClick={() => setRange(lastDays(7))}>
          Last 7 days
        </button>
        <button type="button" class="secondary" onClick={() => setRange(lastDays(30))}>
          Last 30 days
        </button>
      </div>
      <Failure failure={usage.error} fields={["start_date", "end_date"]} />
      {data.series.length === 0 ? (
        <p class="muted">No keys in this plan.</p>
      ) : (
        <>
          <Chart title={`Requests per day (UTC), ${range.from} – ${range.to}`} xs={data.xs} series={series} testId="usage-chart" xUnit="day" />
          <table class="list" aria-label="Usage per key and day">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Total</th>
                {data.days.map((d) => (
                  <th scope="col" key={d}>
                    {d.slice(5)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {listed.top.map((s) => (
                <tr key={s.keyId}>
                  <td>{label(s.keyId)}</td>
                  <td>{s.total.toLocaleString()}</td>
                  {s.values.map((v, i) => (
                    <td key={data.days[i]}>{v.toLocaleString()}</td>
                  ))}
                </tr>
              ))}
              {listed.others && (
                <tr>
                  <td>{listed.others.count} other keys (together)</td>
                  <td>{listed.others.total.toLocaleString()}</td>
                  {listed.others.values.map((v, i) => (
                    <td key={data.days[i]}>{v.toLocaleString()}</td>
                  ))}
                </tr>
              )}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
