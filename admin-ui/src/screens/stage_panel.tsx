// One stage of an API: what it serves, roll back in one click, and its
// settings. Each settings form saves with an update_mask naming only what
// it changed (src/logic/stage_forms.ts), and starts again from the stored
// stage only when its own fields change there, so saving one form does not
// throw away unsaved edits in another.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Code } from "@connectrpc/connect";
import type { Refusal } from "../api/errors";
import { fieldError } from "../api/errors";
import type { Deployment, Stage } from "../gen/archway/v1/config_pb";
import {
  type Pair,
  type StageUpdate,
  CACHE_SIZES,
  accessLogFormOf,
  accessLogUpdate,
  cacheFormOf,
  cacheUpdate,
  canaryFormOf,
  canaryUpdate,
  pairsOf,
  removeCanaryUpdate,
  rollbackTarget,
  rollbackUpdate,
  isStageWide,
  throttleFormOf,
  throttleIndexes,
  throttleUpdate,
  variablesUpdate,
} from "../logic/stage_forms";
import { useSession } from "../ui/context";
import { Failure, Field, Notice, Select } from "../ui/form";
import { when } from "../ui/format";
import { useAction } from "../ui/hooks";
import { MethodThrottleRow } from "../ui/method_throttle_row";
import { ThrottleFields } from "../ui/throttle_fields";
import { throttleText } from "../logic/throttle_text";

/** Labels for deployment pickers: id, description and date. */
export function deploymentOptions(list: Deployment[]): Array<[string, string]> {
  return list.map((d) => [d.id, `${d.id}${d.description ? ` — ${d.description}` : ""} (${when(d.createdAtMs)})`]);
}

interface PanelProps {
  stage: Stage;
  deployments: Deployment[];
  onChange: () => void;
}

function describe(d: Deployment | undefined, id: string) {
  if (!d) return <code>{id}</code>;
  return (
    <>
      <code>{d.id}</code>
      {d.description && ` — ${d.description}`} <span class="muted">({when(d.createdAtMs)})</span>
    </>
  );
}

export function StagePanel({ stage, deployments, onChange }: PanelProps) {
  const { clients, canWrite } = useSession();
  const act = useAction();
  const [note, setNote] = useState("");
  const byId = new Map(deployments.map((d) => [d.id, d]));
  // This stage's own history, never the API's newest older deployment
  // (which another stage may have been given).
  const target = rollbackTarget(stage, deployments);
  const titleId = `stage-${stage.stageName}`;
  const targetId = `rollback-${stage.stageName}`;

  const rollBack = async () => {
    if (!target) return;
    setNote("");
    const done = await act.run(() => clients.deployments.updateStage(rollbackUpdate(stage, target.id)));
    if (done) {
      setNote(`Stage ${stage.stageName} now serves ${target.id}.`);
      onChange();
    }
  };

  return (
    <section class="stage-panel" aria-labelledby={titleId}>
      <header class="stage-head">
        {/* The region is named by the stage's name alone, so that "Stage" labels only the deploy form's field. */}
        <h3>
          Stage <span id={titleId}>{stage.stageName}</span>
        </h3>
        <div class="actions">
          <button
            type="button"
            disabled={!canWrite || !target || act.busy}
            aria-describedby={targetId}
            title={
              target
                ? `Point ${stage.stageName} back at ${target.id}, the deployment it served before`
                : `${stage.stageName} has no earlier deployment of its own to roll back to`
            }
            onClick={rollBack}
          >
            Roll back
          </button>
          <button
            type="button"
            class="danger"
            disabled={!canWrite || act.busy}
            onClick={async () => {
              if (!confirm(`Delete stage ${stage.stageName}? Clients of /${stage.stageName} get errors at once.`)) return;
              const gone = await act.run(() =>
                clients.deployments.deleteStage({ apiId: stage.apiId, stageName: stage.stageName }),
              );
              if (gone) onChange();
            }}
          >
            Delete stage
          </button>
        </div>
      </header>
      <dl class="facts">
        <dt>Serves</dt>
        <dd data-testid="serving">{describe(byId.get(stage.deploymentId), stage.deploymentId)}</dd>
        <dt>Roll back to</dt>
        <dd id={targetId} data-testid="rollback-target">
          {target ? (
            describe(target.deployment, target.id)
          ) : (
            <span class="muted">none: this stage has no earlier deployment left to go back to</span>
          )}
        </dd>
        {stage.canary && (
          <>
            <dt>Canary</dt>
            <dd>
              {stage.canary.percentTraffic}% to {describe(byId.get(stage.canary.deploymentId), stage.canary.deploymentId)}
            </dd>
          </>
        )}
        <dt>Updated</dt>
        <dd>{when(stage.updatedAtMs)}</dd>
      </dl>
      <Failure failure={act.failure} />
      {note && <Notice>{note}</Notice>}
      <VariablesForm stage={stage} onChange={onChange} />
      <CanaryForm stage={stage} deployments={deployments} onChange={onChange} />
      <ThrottleForm stage={stage} onChange={onChange} />
      <AccessLogForm stage={stage} onChange={onChange} />
<CacheForm stage={stage} onChange={onChange} />
    </section>
  );
}

/**
 * A form's state, made from the stored stage by `init`, and made again
 * when what the form shows changes in the store (after a save or a
 * reload), not on every reload.
 */
function useFormOf<T>(init: () => T, ...stored: unknown[]): [T, (t: T) => void] {
  const [form, setForm] = useState(init);
  const key = JSON.stringify(stored);
  const seen = useRef(key);
  useEffect(() => {
    if (seen.current === key) return;
    seen.current = key;
    setForm(init());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return [form, setForm];
}

/**
 * A settings form: builds its UpdateStage (null: nothing changed), sends
 * it, and shows the refusal (from the server, or from the form's own
 * parsing, which is shaped the same) beside the fields.
 */
function useStageSave(onChange: () => void) {
  const { clients } = useSession();
  const a = useAction();
  const [note, setNote] = useState("");
  const save = async (build: () => StageUpdate | null, saved: string) => {
    setNote("");
    const res = await a.run(async () => {
      const update = build();
      return update ? await clients.deployments.updateStage(update) : null;
    });
    if (res === null) setNote("Nothing changed.");
    else if (res) {
      setNote(saved);
      onChange();
    }
  };
  return { ...a, note, save };
}

function Settings({ title, summary, children }: { title: string; summary?: string; children: ComponentChildren }) {
  return (
    <details class="settings">
      <summary>
        {title}
        {summary && <span class="muted"> · {summary}</span>}
      </summary>
      {children}
    </details>
  );
}

/** A refusal naming a list as a whole (a name twice, a bad name), shown under the list. */
function ListError({ failure, name }: { failure: Refusal | null; name: string }) {
  const error = fieldError(failure, name);
  if (!error) return null;
  return (
    <p class="field-error" role="alert" data-field={name}>
      {error}
    </p>
  );
}

function PairsEditor(props: {
  legend: string;
  field: string;
  pairs: Pair[];
  setPairs: (p: Pair[]) => void;
  failure: Refusal | null;
  disabled: boolean;
}) {
  const { pairs, setPairs, field } = props;
  const set = (i: number, p: Partial<Pair>) => setPairs(pairs.map((x, j) => (j === i ? { ...x, ...p } : x)));
  return (
    <fieldset class="pairs">
      <legend>{props.legend}</legend>
      {pairs.length === 0 && <p class="muted">None.</p>}
      {pairs.map((p, i) => (
        <div class="pair" key={i}>
          <Field
            label="Name"
            names={[`${field}.name`]}
            value={p.key}
            onValue={(v) => set(i, { key: v })}
            disabled={props.disabled}
          />
          <Field
            label="Value"
            names={[`${field}.${p.key.trim()}`]}
            failure={props.failure}
            value={p.value}
            onValue={(v) => set(i, { value: v })}
            disabled={props.disabled}
          />
          <button
            type="button"
            class="secondary"
            disabled={props.disabled}
            aria-label={`Remove ${p.key || "this row"}`}
            onClick={() => setPairs(pairs.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </div>
      ))}
      <ListError failure={props.failure} name={field} />
      <button type="button" class="secondary" disabled={props.disabled} onClick={() => setPairs([...pairs, { key: "", value: "" }])}>
        Add
      </button>
    </fieldset>
  );
}

function pairNames(field: string, pairs: Pair[]): string[] {
  return [field, ...pairs.map((p) => `${field}.${p.key.trim()}`)];
}

function VariablesForm({ stage, onChange }: { stage: Stage; onChange: () => void }) {
  const { canWrite } = useSession();
  const s = useStageSave(onChange);
  const [pairs, setPairs] = useFormOf(() => pairsOf(stage.variables), stage.variables);
  const count = Object.keys(stage.variables).length;
  return (
    <Settings title="Stage variables" summary={`${count} set`}>
      <form
        aria-label={`Variables of ${stage.stageName}`}
        onSubmit={(e) => {
          e.preventDefault();
          s.save(() => variablesUpdate(stage, pairs), "Variables saved.");
        }}
      >
        <PairsEditor legend="Variables" field="variables" pairs={pairs} setPairs={setPairs} failure={s.failure} disabled={!canWrite} />
        <button type="submit" disabled={!canWrite || s.busy}>
          Save variables
        </button>
        <Failure failure={s.failure} fields={pairNames("variables", pairs)} />
        {s.note && <Notice>{s.note}</Notice>}
      </form>
    </Settings>
  );
}

function CanaryForm({ stage, deployments, onChange }: PanelProps) {
  const { clients, canWrite } = useSession();
  const s = useStageSave(onChange);
  const promote = useAction();
  const [form, setForm] = useFormOf(() => canaryFormOf(stage), stage.canary);
  const overridesField = "canary.stage_variable_overrides";
  const fields = ["canary.deployment_id", "canary.percent_traffic", ...pairNames(overridesField, form.overrides)];
  const doPromote = async (force: boolean) => {
    const msg = force
      ? `The canary's deployment is older than the one ${stage.stageName} serves. Promote it anyway (a rollback)?`
      : `Make ${stage.canary?.deploymentId} the deployment of ${stage.stageName} and remove the canary?`;
    if (!confirm(msg)) return;
    const done = await promote.run(() =>
      clients.deployments.promoteCanary({ apiId: stage.apiId, stageName: stage.stageName, force }),
    );
    if (done) onChange();
  };
  return (
    <Settings
      title="Canary"
      summary={stage.canary ? `${stage.canary.percentTraffic}% to ${stage.canary.deploymentId}` : "none"}
    >
      <form
        aria-label={`Canary of ${stage.stageName}`}
        onSubmit={(e) => {
          e.preventDefault();
          s.save(() => canaryUpdate(stage, form), "Canary saved.");
        }}
      >
        <div class="row">
          <Select
            label="Canary deployment"
            names={["canary.deployment_id"]}
            failure={s.failure}
            value={form.deploymentId}
            onValue={(v) => setForm({ ...form, deploymentId: v })}
            options={[["", "— choose —"], ...deploymentOptions(deployments)]}
            disabled={!canWrite}
          />
          <Field
            label="Canary traffic (%)"
            names={["canary.percent_traffic"]}
            failure={s.failure}
            value={form.percent}
            onValue={(v) => setForm({ ...form, percent: v })}
            inputMode="decimal"
            disabled={!canWrite}
            hint="0 to 100"
          />
        </div>
        <PairsEditor
          legend="Variable overrides"
          field={overridesField}
          pairs={form.overrides}
          setPairs={(overrides) => setForm({ ...form, overrides })}
          failure={s.failure}
          disabled={!canWrite}
        />
        <div class="buttons">
          <button type="submit" disabled={!canWrite || s.busy}>
            Save canary
          </button>
          {stage.canary && (
            <>
              <button type="button" disabled={!canWrite || promote.busy} onClick={() => doPromote(false)}>
                Promote
              </button>
              <button
                type="button"
                class="danger"
                disabled={!canWrite || s.busy}
                onClick={() => {
                  if (!confirm(`Remove the canary of ${stage.stageName}? All traffic goes to ${stage.deploymentId}.`)) return;
                  s.save(() => removeCanaryUpdate(stage), "Canary removed.");
                }}
              >
                Remove canary
              </button>
            </>
          )}
        </div>
        <Failure failure={s.failure} fields={fields} />
        <Failure failure={promote.failure} />
        {promote.failure?.code === Code.FailedPrecondition && stage.canary && (
          <button type="button" class="danger" disabled={!canWrite || promote.busy} onClick={() => doPromote(true)}>
            Promote anyway
          </button>
        )}
        {s.note && <Notice>{s.note}</Notice>}
      </form>
    </Settings>
  );
}

function ThrottleForm({ stage, onChange }: { stage: Stage; onChange: () => void }) {
  const { canWrite } = useSession();
  const s = useStageSave(onChange);
  const [form, setForm] = useFormOf(() => throttleFormOf(stage), stage.methodSettings);
  const at = throttleIndexes(form);
  const wide = at.stage ?? 0;
  const n = (i: number, f: string) => `method_settings[${i}].${f}`;
  const fields = [
    n(wide, "throttle.rate_limit"),
    n(wide, "throttle.burst_limit"),
    n(wide, "throttle"),
    ...at.rows.flatMap((i) => [
      n(i, "resource_path"),
      n(i, "http_method"),
      n(i, "throttle.rate_limit"),
      n(i, "throttle.burst_limit"),
      n(i, "throttle"),
      `method_settings[${i}]`,
    ]),
  ];
  const setRow = (j: number, p: Partial<(typeof form.methods)[number]>) =>
    setForm({ ...form, methods: form.methods.map((r, k) => (k === j ? { ...r, ...p } : r)) });
  return (
    <Settings
      title="Throttling"
      summary={throttleText(stage.methodSettings.find(isStageWide)?.throttle, "no stage limit")}
    >
      <form
        aria-label={`Throttling of ${stage.stageName}`}
        onSubmit={(e) => {
          e.preventDefault();
          s.save(() => throttleUpdate(stage, form), "Throttling saved.");
        }}
      >
        <div class="row">
          <ThrottleFields
            at={n(wide, "throttle")}
            rateLabel="Rate limit (requests/s)"
            burstLabel="Burst limit"
            failure={s.failure}
            rate={form.rate}
            burst={form.burst}
            onRate={(v) => setForm({ ...form, rate: v })}
            onBurst={(v) => setForm({ ...form, burst: v })}
            disabled={!canWrite}
            hint="Whole stage; empty: no limit"
          />
        </div>
        <fieldset class="pairs">
          <legend>Per method</legend>
          {form.methods.length === 0 && <p class="muted">None.</p>}
          {form.methods.map((r, j) => {
            const i = at.rows[j];
            return (
              <MethodThrottleRow
                key={j}
                at={`method_settings[${i}]`}
                value={r}
                onChange={(p) => setRow(j, p)}
                onRemove={() => setForm({ ...form, methods: form.methods.filter((_, k) => k !== j) })}
                removeLabel={`Remove the limit of ${r.httpMethod || "?"} ${r.resourcePath || "?"}`}
                failure={s.failure}
                disabled={!canWrite}
                compact
              />
            );
          })}
          <button
            type="button"
            class="secondary"
            disabled={!canWrite}
            onClick={() =>
              setForm({ ...form, methods: [...form.methods, { resourcePath: "", httpMethod: "GET", rate: "", burst: "" }] })
            }
          >
            Add method limit
          </button>
        </fieldset>
        <button type="submit" disabled={!canWrite || s.busy}>
          Save throttling
        </button>
        <Failure failure={s.failure} fields={fields} />
        {s.note && <Notice>{s.note}</Notice>}
      </form>
    </Settings>
  );
}

function AccessLogForm({ stage, onChange }: { stage: Stage; onChange: () => void }) {
  const { canWrite } = useSession();
  const s = useStageSave(onChange);
  const [form, setForm] = useFormOf(() => accessLogFormOf(stage), stage.accessLogSettings);
  const on = stage.accessLogSettings?.format;
  return (
    <Settings title="Access logging" summary={on ? `${on.length > 24 ? "template" : on} → ${stage.accessLogSettings?.destination}` : "off"}>
      <form
        aria-label={`Access logging of ${stage.stageName}`}
        onSubmit={(e) => {
          e.preventDefault();
          s.save(() => accessLogUpdate(stage, form), "Access logging saved.");
        }}
      >
        <div class="row">
          <Field
            label="Format"
            names={["access_log_settings.format"]}
            failure={s.failure}
            value={form.format}
            onValue={(v) => setForm({ ...form, format: v })}
            disabled={!canWrite}
            hint="JSON, CLF or a $context template; empty: off"
            class="wide"
          />
          <Field
            label="Destination"
            names={["access_log_settings.destination"]}
            failure={s.failure}
            value={form.destination}
            onValue={(v) => setForm({ ...form, destination: v })}
            disabled={!canWrite}
            hint="stdout, stderr or file:/absolute/path"
          />
        </div>
        <button type="submit" disabled={!canWrite || s.busy}>
          Save access logging
        </button>
        <Failure failure={s.failure} fields={["access_log_settings.format", "access_log_settings.destination"]} />
        {s.note && <Notice>{s.note}</Notice>}
      </form>
    </Settings>
  );
}

function CacheForm({ stage, onChange }: { stage: Stage; onChange: () => void }) {
  const { clients, canWrite } = useSession();
  const s = useStageSave(onChange);
  const flush = useAction();
  const [flushed, setFlushed] = useState(false);
  const [form, setForm] = useFormOf(
    () => cacheFormOf(stage),
    stage.cacheClusterEnabled,
    stage.cacheClusterSize,
    stage.cacheTtlSeconds,
  );
  const id = `cache-on-${stage.stageName}`;
  return (
    <Settings title="Cache" summary={stage.cacheClusterEnabled ? `on, ${stage.cacheClusterSize || "0.5"} MB` : "off"}>
      <form
        aria-label={`Cache of ${stage.stageName}`}
        onSubmit={(e) => {
          e.preventDefault();
          s.save(() => cacheUpdate(stage, form), "Cache settings saved.");
        }}
      >
        <div class="row">
          <div class="field check">
            <input
              id={id}
              type="checkbox"
              name="cache_cluster_enabled"
              checked={form.enabled}
              disabled={!canWrite}
              onChange={(e) => setForm({ ...form, enabled: (e.target as HTMLInputElement).checked })}
            />
            <label for={id}>Cache responses</label>
          </div>
          <Select
            label="Size (MB per node)"
            names={["cache_cluster_size"]}
            failure={s.failure}
            value={form.size}
            onValue={(v) => setForm({ ...form, size: v })}
            options={CACHE_SIZES.map((x) => [x, x])}
            disabled={!canWrite}
          />
          <Field
            label="TTL (seconds)"
            names={["cache_ttl_seconds"]}
            failure={s.failure}
            value={form.ttl}
            onValue={(v) => setForm({ ...form, ttl: v })}
            inputMode="numeric"
            disabled={!canWrite}
            hint="0 to 3600; empty: 300"
          />
        </div>
        <div class="buttons">
          <button type="submit" disabled={!canWrite || s.busy}>
            Save cache
          </button>
          <button
            type="button"
            class="secondary"
            disabled={!canWrite || flush.busy}
            onClick={async () => {
              setFlushed(false);
              const done = await flush.run(() =>
                clients.deployments.flushStageCache({ apiId: stage.apiId, stageName: stage.stageName }),
              );
              if (done) setFlushed(true);
            }}
          >
            Flush cache
          </button>
        </div>
        <Failure failure={s.failure} fields={["cache_cluster_enabled", "cache_cluster_size", "cache_ttl_seconds"]} />
        <Failure failure={flush.failure} />
        {s.note && <Notice>{s.note}</Notice>}
        {flushed && <Notice>Every node drops this stage's cached responses.</Notice>}
      </form>
    </Settings>
  );
}
