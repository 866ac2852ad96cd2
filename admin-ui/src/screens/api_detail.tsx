// One API: its settings, its resource tree with each method's authorization,
// API key requirement and integration, its models, request validators and
// gateway responses (REST APIs; each a section of its own module), and the
// forms that change them.
import { useMemo, useState } from "preact/hooks";
import { allPages } from "../api/client";
import {
  ApiKeySource,
  ApiProtocol,
  EndpointType,
  type Authorizer,
  type Method,
  type Resource,
  type RestApi,
} from "../gen/archway/v1/config_pb";
import { type ApiSettingsForm, apiToSettings, formatPolicy, settingsUpdate } from "../logic/api_settings";
import { foldInto } from "../logic/refusals";
import { isWebSocket, websocketRoutes } from "../logic/routes";
import { moveTargets, resourceUpdate } from "../logic/resource_update";
import {
  type TreeNode,
  authorizationSummary,
  buildTree,
  canHaveChildren,
  flatten,
  integrationSummary,
} from "../logic/tree";
import { href } from "../router";
import { useSession } from "../ui/context";
import { InlineForm } from "../ui/inline_form";
import { ConfirmButton } from "../ui/confirm_button";
import { Area, Failure, Field, Notice, PageHeader, Select } from "../ui/form";
import { when } from "../ui/format";
import { useAction, useLoad } from "../ui/hooks";
import { GatewayResponsesSection } from "./gateway_responses";
import { ModelsSection } from "./models";
import { ValidatorsSection } from "./validators";

const KEY_SOURCES: Array<[string, string]> = [
  [String(ApiKeySource.HEADER), "HEADER (the x-api-key header)"],
  [String(ApiKeySource.AUTHORIZER), "AUTHORIZER (the custom authorizer's usageIdentifierKey)"],
];
const ENDPOINT_TYPES: Array<[string, string]> = [
  [String(EndpointType.REGIONAL), "REGIONAL (every listener)"],
  [String(EndpointType.PRIVATE), "PRIVATE (private listeners and CIDRs only)"],
];

export function ApiDetailPage({ apiId }: { apiId: string }) {
  const { clients } = useSession();
  const loaded = useLoad(async () => {
    const [api, resources, methods, authorizers] = await Promise.all([
      clients.apis.getRestApi({ apiId }),
      allPages((pageToken) => clients.apis.listResources({ apiId, pageSize: 1000, pageToken })),
      allPages((pageToken) => clients.apis.listMethods({ apiId, pageSize: 1000, pageToken })),
      allPages((pageToken) => clients.apis.listAuthorizers({ apiId, pageSize: 1000, pageToken })),
    ]);
    return { api, resources, methods, authorizers };
  }, [clients, apiId]);
  const tree = useMemo(
    () => (loaded.data ? buildTree(loaded.data.resources, loaded.data.methods) : []),
    [loaded.data],
  );
  const authorizers = useMemo(
    () => new Map((loaded.data?.authorizers ?? []).map((a) => [a.id, a] as [string, Authorizer])),
    [loaded.data],
  );

  if (!loaded.data) {
    return (
      <section>
        <PageHeader title={`API ${apiId}`} />
        {loaded.error ? <Failure failure={loaded.error} /> : <p role="status">Loading…</p>}
        <p>
          <a href={href("apis")}>Back to the APIs</a>
        </p>
      </section>
    );
  }
  const { api } = loaded.data;
  const websocket = isWebSocket(api);
  return (
    <section>
      <p class="crumbs">
        <a href={href("apis")}>APIs</a> / <code>{api.id}</code>
      </p>
      <PageHeader title={api.name || api.id}>
        <a class="button-link" href={href("apis", api.id, "deployments")}>
          Deployments and stages
        </a>
        <a class="button-link" href={href("apis", api.id, "authorizers")}>
          Authorizers ({loaded.data.authorizers.length})
        </a>
      </PageHeader>
      <dl class="api-facts">
        <div>
          <dt>Id</dt>
          <dd>
            <code>{api.id}</code>
          </dd>
        </div>
        <div>
          <dt>Protocol</dt>
          <dd>{ApiProtocol[api.protocol] ?? api.protocol}</dd>
        </div>
        {websocket && (
          <div>
            <dt>Route selection expression</dt>
            <dd>
              <code>{api.routeSelectionExpression}</code>
            </dd>
          </div>
        )}
        <div>
          <dt>Created</dt>
          <dd>{when(api.createdAtMs)}</dd>
        </div>
        {!websocket && (
          <div>
            <dt>Resources</dt>
            <dd>{loaded.data.resources.length}</dd>
          </div>
        )}
        <div>
          <dt>{websocket ? "Routes" : "Methods"}</dt>
          <dd>{loaded.data.methods.length}</dd>
        </div>
      </dl>
      <Failure failure={loaded.error} />

      {websocket ? (
        <WebSocketRoutes apiId={api.id} methods={loaded.data.methods} authorizers={authorizers} />
      ) : (
        <>
          <h2 id="resources-title">Resources and methods</h2>
          <p class="muted">
            Changes here serve no traffic until the API is{" "}
            <a href={href("apis", api.id, "deployments")}>deployed to a stage</a>.
          </p>
          <CreateResource apiId={api.id} tree={tree} rootId={api.rootResourceId} onCreated={loaded.reload} />
          <ul class="tree tree-root" aria-labelledby="resources-title">
            {tree.map((node) => (
              <ResourceItem
                key={node.resource.id}
                apiId={api.id}
                node={node}
                roots={tree}
                authorizers={authorizers}
                onChanged={loaded.reload}
              />
            ))}
          </ul>
        </>
      )}

      <ModelsSection apiId={api.id} />
      {!websocket && (
        <>
          <ValidatorsSection apiId={api.id} />
          <GatewayResponsesSection apiId={api.id} />
        </>
      )}

      <h2>Settings</h2>
      <Settings key={`${api.id}`} api={api} onSaved={loaded.reload} />
    </section>
  );
}

/**
 * A WEBSOCKET API's routes by key: whether each answers the client, and
 * $connect's authorization (the only route that has one). Routes are
 * written with PutMethod or `archwayctl apply -f` (`route_key:`).
 */
function WebSocketRoutes({
  apiId,
  methods,
  authorizers,
}: {
  apiId: string;
  methods: Method[];
  authorizers: Map<string, Authorizer>;
}) {
  const rows = websocketRoutes(methods);
  return (
    <>
      <h2 id="routes-title">Routes</h2>
      <p class="muted">
        Each message goes to the route whose key the route selection expression gives, else to{" "}
        <code>$default</code>. Changes serve no connection until the API is{" "}
        <a href={href("apis", apiId, "deployments")}>deployed to a stage</a>; routes are written with{" "}
        <code>archwayctl apply -f</code> (<code>route_key:</code>) or PutMethod.
      </p>
      {rows.length === 0 ? (
        <p class="muted">No routes: a WEBSOCKET API needs one to be deployed.</p>
      ) : (
        <ul class="methods" aria-labelledby="routes-title">
          {rows.map(({ key, twoWay, method }) => {
            const integ = integrationSummary(method.integration);
            return (
              <li key={key} class="method-row">
                <code class="verb">{key}</code>
                <span>
                  <span class="label">Response</span>{" "}
                  {twoWay ? <span class="badge">two-way</span> : "one-way"}
                </span>
                {key === "$connect" && (
                  <span>
                    <span class="label">Authorization</span> {authorizationSummary(method, authorizers)}
                  </span>
                )}
                {key === "$connect" && (
                  <span>
                    <span class="label">API key</span>{" "}
                    {method.apiKeyRequired ? <span class="badge">required</span> : "not required"}
                  </span>
                )}
                <span class="integration">
                  <span class="label">Integration</span>{" "}
                  <span class={integ.type === "none" ? "badge bad" : "badge"}>{integ.type}</span>{" "}
                  <code>{integ.target}</code>
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}

function CreateResource({
  apiId,
  tree,
  rootId,
  onCreated,
}: {
  apiId: string;
  tree: TreeNode[];
  rootId: string;
  onCreated: () => void;
}) {
  const { clients, canWrite } = useSession();
  const create = useAction();
  const [parent, setParent] = useState("");
  const [part, setPart] = useState("");
  const parents = useMemo(
    () =>
      flatten(tree)
        .filter(({ node }) => canHaveChildren(node.resource))
        .map(({ node }) => [node.resource.id, node.resource.path] as [string, string]),
    [tree],
  );
  const parentId = parent || rootId || parents[0]?.[0] || "";
  return (
    <InlineForm
      label="Create a resource"
      action={create}
      submit="Create resource"
      fields={["parent_id", "path_part"]}
      onSubmit={async () => {
        const made = await create.run(() =>
          clients.apis.createResource({ apiId, parentId, pathPart: part.trim() }),
        );
        if (made) {
          setPart("");
          onCreated();
        }
      }}
    >
      <Select
        label="Parent resource"
        names={["parent_id"]}
        failure={create.failure}
        value={parentId}
        onValue={setParent}
        options={parents}
        disabled={!canWrite}
      />
      <Field
        label="Path part"
        names={["path_part"]}
        failure={create.failure}
        value={part}
        onValue={setPart}
        disabled={!canWrite}
        hint="pets, {petId}, or {proxy+} (last only)"
        required
      />
    </InlineForm>
  );
}

/** Every resource under `node`, and their methods: what deleting it deletes. */
function subtreeSize(node: TreeNode): { resources: number; methods: number } {
  let resources = 0;
  let methods = 0;
  const stack = [node];
  const seen = new Set<string>();
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n.resource.id)) continue;
    seen.add(n.resource.id);
    resources++;
    methods += n.methods.length;
    stack.push(...n.children);
  }
  return { resources, methods };
}

function ResourceItem({
  apiId,
  node,
  roots,
  authorizers,
  onChanged,
}: {
  apiId: string;
  node: TreeNode;
  roots: TreeNode[];
  authorizers: Map<string, Authorizer>;
  onChanged: () => void;
}) {
  const { clients } = useSession();
  const remove = useAction();
  const [editing, setEditing] = useState(false);
  const r = node.resource;
  const isRoot = !r.parentId;
  return (
    <li class="tree-node">
      <div class="res-row">
        <code class="res-path">{r.path}</code>
        <span class="row-actions">
          <a href={href("apis", apiId, "methods", r.id, "new")} aria-label={`Add method to ${r.path}`}>
            Add method
          </a>
          {!isRoot && (
            <button
              type="button"
              class="secondary small"
              aria-expanded={editing}
              aria-label={`Rename or move ${r.path}`}
              onClick={() => setEditing((e) => !e)}
            >
              Rename or move
            </button>
          )}
          {!isRoot && (
            <ConfirmButton
              action={remove}
              class="danger small"
              label={`Delete resource ${r.path}`}
              confirmText={() => {
                const size = subtreeSize(node);
                const what =
                  size.resources > 1
                    ? `${r.path}, the ${size.resources - 1} resource(s) under it and ${size.methods} method(s)`
                    : `${r.path} and its ${size.methods} method(s)`;
                return `Delete resource ${what}?`;
              }}
              run={() => clients.apis.deleteResource({ apiId, resourceId: r.id })}
              onDone={onChanged}
            />
          )}
        </span>
      </div>
      <Failure failure={remove.failure} />
      {editing && (
        <EditResource
          resource={r}
          roots={roots}
          onDone={(changed) => {
            setEditing(false);
            if (changed) onChanged();
          }}
        />
      )}
      {node.methods.length > 0 ? (
        <ul class="methods" aria-label={`Methods of ${r.path}`}>
          {node.methods.map((m) => {
            const integ = integrationSummary(m.integration);
            return (
              <li key={m.httpMethod} class="method-row">
                <a
                  class="verb"
                  href={href("apis", apiId, "methods", r.id, m.httpMethod)}
                  aria-label={`Edit ${m.httpMethod} ${r.path}`}
                >
                  {m.httpMethod}
                </a>
                <span>
                  <span class="label">Authorization</span> {authorizationSummary(m, authorizers)}
                </span>
                <span>
                  <span class="label">API key</span>{" "}
                  {m.apiKeyRequired ? <span class="badge">required</span> : "not required"}
                </span>
                <span class="integration">
                  <span class="label">Integration</span>{" "}
                  <span class={integ.type === "none" ? "badge bad" : "badge"}>{integ.type}</span>{" "}
                  <code>{integ.target}</code>
                </span>
              </li>
            );
          })}
        </ul>
      ) : (
        <p class="muted no-methods">No methods.</p>
      )}
      {node.children.length > 0 && (
        <ul class="tree">
          {node.children.map((child) => (
            <ResourceItem
              key={child.resource.id}
              apiId={apiId}
              node={child}
              roots={roots}
              authorizers={authorizers}
              onChanged={onChanged}
            />
          ))}
        </ul>
      )}
    </li>
  );
}

/** Renames or moves a resource; its descendants' paths follow (server-side). */
function EditResource({
  resource,
  roots,
  onDone,
}: {
  resource: Resource;
  roots: TreeNode[];
  onDone: (changed: boolean) => void;
}) {
  const { clients, canWrite } = useSession();
  const save = useAction();
  const [parentId, setParentId] = useState(resource.parentId);
  const [part, setPart] = useState(resource.pathPart);
  const targets = useMemo(() => moveTargets(roots, resource), [roots, resource]);
  return (
    <InlineForm
      label={`Rename or move ${resource.path}`}
      action={save}
      submit="Save resource"
      fields={["parent_id", "path_part"]}
      beside={
        <button type="button" class="secondary" onClick={() => onDone(false)}>
          Cancel
        </button>
      }
      onSubmit={async () => {
        const request = resourceUpdate(resource, parentId, part.trim());
        if (!request) return onDone(false);
        if (await save.run(() => clients.apis.updateResource(request))) onDone(true);
      }}
    >
      <Select
        label="Move under"
        names={["parent_id"]}
        failure={save.failure}
        value={parentId}
        onValue={setParentId}
        options={targets}
        disabled={!canWrite}
      />
      <Field
        label="Rename to"
        names={["path_part"]}
        failure={save.failure}
        value={part}
        onValue={setPart}
        disabled={!canWrite}
        required
      />
    </InlineForm>
  );
}

function Settings({ api, onSaved }: { api: RestApi; onSaved: () => void }) {
  const { clients, canWrite } = useSession();
  const save = useAction();
  const [form, setForm] = useState<ApiSettingsForm>(() => apiToSettings(api));
  const [saved, setSaved] = useState<string | null>(null);
  const set = <K extends keyof ApiSettingsForm>(k: K) => (v: ApiSettingsForm[K]) => {
    setSaved(null);
    setForm((f) => ({ ...f, [k]: v }));
  };
  const failure = foldInto(save.failure, ["policy"]);
  const fields = [
    "name",
    "description",
    "api_key_source",
    "endpoint_type",
    "policy",
    "route_selection_expression",
    "update_mask",
  ];
  return (
    <form
      class="api-form"
      aria-label="API settings"
      onSubmit={async (e) => {
        e.preventDefault();
        const request = settingsUpdate(api, form);
        if (!request) {
          setSaved("Nothing changed.");
          return;
        }
        const updated = await save.run(() => clients.apis.updateRestApi(request));
        if (updated) {
          setForm(apiToSettings(updated));
          setSaved(`Saved ${request.updateMask?.paths?.join(", ")}.`);
          onSaved();
        }
      }}
    >
      <Field label="Name" names={["name"]} failure={failure} value={form.name} onValue={set("name")} disabled={!canWrite} />
      <Field
        label="Description"
        names={["description"]}
        failure={failure}
        value={form.description}
        onValue={set("description")}
        disabled={!canWrite}
      />
      {isWebSocket(api) && (
        <Field
          label="Route selection expression"
          names={["route_selection_expression"]}
          failure={failure}
          value={form.routeSelectionExpression}
          onValue={set("routeSelectionExpression")}
          disabled={!canWrite}
          hint="$request.body.action, or ${request.body.a}/${request.body.b}; takes effect when deployed"
        />
      )}
      <Select
        label="API key source"
        names={["api_key_source"]}
        failure={failure}
        value={String(form.apiKeySource)}
        onValue={(v) => set("apiKeySource")(Number(v) as ApiKeySource)}
        options={KEY_SOURCES}
        disabled={!canWrite}
      />
      <Select
        label="Endpoint type"
        names={["endpoint_type"]}
        failure={failure}
        value={String(form.endpointType)}
        onValue={(v) => set("endpointType")(Number(v) as EndpointType)}
        options={ENDPOINT_TYPES}
        disabled={!canWrite}
      />
      <Area
        label="Resource policy (IAM policy JSON with Principal; empty: none)"
        names={["policy"]}
        failure={failure}
        value={form.policy}
        onValue={set("policy")}
        disabled={!canWrite}
        class="code"
        rows={Math.min(20, Math.max(6, form.policy.split("\n").length + 1))}
        spellcheck={false}
      />
      <div class="form-buttons">
        <button type="submit" disabled={!canWrite || save.busy}>
          Save settings
        </button>
        <button
          type="button"
          class="secondary"
          disabled={!canWrite || !form.policy.trim()}
          onClick={() => set("policy")(formatPolicy(form.policy))}
        >
          Format policy JSON
        </button>
        <button
          type="button"
          class="secondary"
          disabled={save.busy}
          onClick={() => {
            save.clear();
            setSaved(null);
            setForm(apiToSettings(api));
          }}
        >
          Undo changes
        </button>
      </div>
      {saved && <Notice>{saved}</Notice>}
      <Failure failure={failure} fields={fields} />
    </form>
  );
}
