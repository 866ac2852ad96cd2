// Deployments and stages of one API: deploy, the history (newest first)
// with the stages each deployment serves, a diff between any two, and a
// panel per stage (roll back, variables, canary, throttling, access log,
// cache). The request shapes and the diff are pure logic in src/logic/.
import { useMemo, useRef, useState } from "preact/hooks";
import { allPages } from "../api/client";
import type { Deployment, Stage } from "../gen/archway/v1/config_pb";
import { type Change, type DeploymentDiff, diffDeployments, isEmptyDiff } from "../logic/deployment_diff";
import { defaultPair, deployRequest, newestFirst, usedBy } from "../logic/stage_forms";
import { href } from "../router";
import { useSession } from "../ui/context";
import { InlineForm } from "../ui/inline_form";
import { ConfirmButton } from "../ui/confirm_button";
import { ListHead } from "../ui/list_head";
import { Failure, Field, Notice, Select } from "../ui/form";
import { when } from "../ui/format";
import { useAction, useFormState, useLoad } from "../ui/hooks";
import { StagePanel, deploymentOptions } from "./stage_panel";

export function DeploymentsPage({ apiId }: { apiId: string }) {
  const { clients } = useSession();
  const api = useLoad(() => clients.apis.getRestApi({ apiId }), [clients, apiId]);
  const deployments = useLoad(
    () =>
      allPages((pageToken) => clients.deployments.listDeployments({ apiId, pageSize: 500, pageToken })).then(
        newestFirst,
      ),
    [clients, apiId],
  );
  const stages = useLoad(
    () => allPages((pageToken) => clients.deployments.listStages({ apiId, pageSize: 500, pageToken })),
    [clients, apiId],
  );
  const reload = () => {
    deployments.reload();
    stages.reload();
  };
  const list = deployments.data ?? [];
  const stageList = stages.data ?? [];
  const name = api.data?.name || apiId;

  return (
    <section>
      <p class="crumbs">
        <a href={href("apis")}>APIs</a> / <a href={href("apis", apiId)}>{name}</a> / Deployments
      </p>
      <header class="page-header">
        <h1 id="deployments-title">Deployments and stages of {name}</h1>
      </header>
      <Failure failure={api.error} />
      <Failure failure={deployments.error} />
      <Failure failure={stages.error} />
      <DeployForm apiId={apiId} stages={stageList} onDeployed={reload} />
      <History apiId={apiId} deployments={list} stages={stageList} loading={deployments.loading} onChange={reload} />
      <Compare apiId={apiId} deployments={list} />
      <h2 id="stages-title">Stages</h2>
      {stages.loading && !stages.data && <p role="status">Loading…</p>}
      {stages.data && !stageList.length && (
        <p class="muted">No stage yet: deploy to a stage name above to create one.</p>
      )}
      {stageList.map((s) => (
        <StagePanel key={s.stageName} stage={s} deployments={list} onChange={reload} />
      ))}
    </section>
  );
}

function DeployForm({ apiId, stages, onDeployed }: { apiId: string; stages: Stage[]; onDeployed: () => void }) {
  const { clients, canWrite } = useSession();
  const deploy = useAction();
  const [form, set, reset] = useFormState({ stageName: "", description: "" });
  const [done, setDone] = useState("");
  const names = stages.map((s) => s.stageName);
  const request = deployRequest(apiId, form, names);
  const hint = !request.stageName
    ? "Empty: only record a deployment; no stage changes"
    : request.createStage
      ? `“${request.stageName}” is not a stage yet: Deploy creates it`
      : `Points stage ${request.stageName} at the new deployment`;
  return (
    <InlineForm
      label="Deploy"
      action={deploy}
      submit="Deploy"
      fields={["stage_name", "description"]}
      after={done && <Notice>{done}</Notice>}
      onSubmit={async () => {
        setDone("");
        const req = deployRequest(apiId, form, names);
        const made = await deploy.run(() => clients.deployments.createDeployment(req));
        if (made) {
          setDone(
            req.stageName
              ? `Deployed ${made.id} to ${req.stageName}${req.createStage ? " (new stage)" : ""}.`
              : `Recorded deployment ${made.id}.`,
          );
          // The stage stays chosen for the next deployment.
          reset("description");
          onDeployed();
        }
      }}
    >
      <Field
        label="Stage"
        names={["stage_name"]}
        failure={deploy.failure}
        value={form.stageName}
        onValue={set("stageName")}
        disabled={!canWrite}
        list="deploy-stage-names"
        autocomplete="off"
        hint={hint}
      />
      <datalist id="deploy-stage-names">
        {names.map((n) => (
          <option value={n} key={n} />
        ))}
      </datalist>
      <Field
        label="Description"
        names={["description"]}
        failure={deploy.failure}
        value={form.description}
        onValue={set("description")}
        disabled={!canWrite}
      />
    </InlineForm>
  );
}

function History(props: {
  apiId: string;
  deployments: Deployment[];
  stages: Stage[];
  loading: boolean;
  onChange: () => void;
}) {
  const { clients } = useSession();
  const remove = useAction();
  return (
    <>
      <h2 id="history-title">Deployment history</h2>
      <p class="muted" role="status">
        {props.loading && !props.deployments.length
          ? "Loading…"
          : `${props.deployments.length} deployment${props.deployments.length === 1 ? "" : "s"}, newest first`}
      </p>
      <Failure failure={remove.failure} />
      {props.deployments.length > 0 && (
        <table class="list" aria-label="Deployments">
          <ListHead columns={["Id", "Description", "Created", "Served by", "Actions"]} actions={false} />
          <tbody>
            {props.deployments.map((d) => {
              const use = usedBy(props.stages, d.id);
              return (
                <tr key={d.id}>
                  <td>
                    <code>{d.id}</code>
                  </td>
                  <td>{d.description || <span class="muted">—</span>}</td>
                  <td>{when(d.createdAtMs)}</td>
                  <td>
                    {use.serving.map((s) => (
                      <span class="badge good" key={s}>
                        {s}
                      </span>
                    ))}{" "}
                    {use.canary.map((c) => (
                      <span class="badge" key={c.stage}>
                        {c.stage} canary {c.percent}%
                      </span>
                    ))}
                  </td>
                  <td class="row-actions">
                    <ConfirmButton
                      action={remove}
                      label={`Delete ${d.id}`}
                      title="Delete this deployment"
                      confirmText={`Delete deployment ${d.id}${d.description ? ` (${d.description})` : ""}?`}
                      run={() => clients.deployments.deleteDeployment({ apiId: props.apiId, deploymentId: d.id })}
                      onDone={props.onChange}
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}

function Compare({ apiId, deployments }: { apiId: string; deployments: Deployment[] }) {
  const { clients } = useSession();
  const [picked, setPicked] = useState<{ from?: string; to?: string }>({});
  const pair = defaultPair(deployments);
  const known = (id: string | undefined) => !!id && deployments.some((d) => d.id === id);
  const from = known(picked.from) ? picked.from! : pair.from;
  const to = known(picked.to) ? picked.to! : pair.to;
  // Deployments never change: each is fetched once per visit.
  const cache = useRef(new Map<string, Promise<Deployment>>());
  const get = (id: string) => {
    let p = cache.current.get(id);
    if (!p) {
      p = clients.deployments.getDeployment({ apiId, deploymentId: id });
      p.catch(() => cache.current.delete(id));
      cache.current.set(id, p);
    }
    return p;
  };
  const diff = useLoad<DeploymentDiff | null>(
    async () => (from && to ? diffDeployments(await get(from), await get(to)) : null),
    [clients, apiId, from, to],
  );
  const options = useMemo(() => deploymentOptions(deployments), [deployments]);
  if (!deployments.length) return null;
  return (
    <>
      <h2 id="compare-title">Compare deployments</h2>
      <div class="toolbar compare">
        <Select label="From" names={["from"]} value={from} onValue={(v) => setPicked({ from: v, to })} options={options} />
        <Select label="To" names={["to"]} value={to} onValue={(v) => setPicked({ from, to: v })} options={options} />
      </div>
      <Failure failure={diff.error} />
      <div aria-live="polite" aria-busy={diff.loading}>
        {diff.loading && !diff.data ? (
          <p role="status">Loading…</p>
        ) : from === to ? (
          <p class="muted">Pick two different deployments to see what changed.</p>
        ) : diff.data && isEmptyDiff(diff.data) ? (
          <Notice>No differences: both serve the same resources, methods, integrations and authorizers.</Notice>
        ) : (
          diff.data && <DiffView diff={diff.data} />
        )}
      </div>
    </>
  );
}

const SECTIONS: Array<[keyof DeploymentDiff, string]> = [
  ["resources", "Resources"],
  ["methods", "Methods"],
  ["integrations", "Integrations"],
  ["authorizers", "Authorizers"],
];

/** Changes shown per section before "Show all" (a 10,000-method API may change everything). */
const SHOWN = 100;

function DiffView({ diff }: { diff: DeploymentDiff }) {
  return (
    <div class="diff">
      {SECTIONS.filter(([k]) => diff[k].length).map(([k, title]) => (
        <DiffSection key={k} id={`diff-${k}`} title={title} changes={diff[k]} />
      ))}
    </div>
  );
}

function DiffSection({ id, title, changes }: { id: string; title: string; changes: Change[] }) {
  const [all, setAll] = useState(false);
  const shown = all ? changes : changes.slice(0, SHOWN);
  return (
    <section aria-labelledby={id}>
      <h3 id={id}>
        {title} <span class="muted">({changes.length})</span>
      </h3>
      <ul class="changes">
        {shown.map((c) => (
          <ChangeItem change={c} key={`${c.kind} ${c.label}`} />
        ))}
      </ul>
      {shown.length < changes.length && (
        <button type="button" class="secondary" onClick={() => setAll(true)}>
          Show all {changes.length} {title.toLowerCase()}
        </button>
      )}
    </section>
  );
}

const KIND_CLASS = { added: "add", removed: "del", changed: "chg" } as const;

function ChangeItem({ change }: { change: Change }) {
  return (
    <li class={KIND_CLASS[change.kind]}>
      <span class="kind">{change.kind}</span> <code>{change.label}</code>
      {change.fields.length > 0 && (
        <table class="list fields">
          <ListHead columns={["Field", "From", "To"]} actions={false} />
          <tbody>
            {change.fields.map((f) => (
              <tr key={f.field}>
                <td>
                  <code>{f.field}</code>
                </td>
                <td class="old">{f.before ?? <span class="muted">—</span>}</td>
                <td class="new">{f.after ?? <span class="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </li>
  );
}
