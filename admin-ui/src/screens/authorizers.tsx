// An API's authorizers: JWT (checked by the node against the issuer's
// keys), TOKEN and REQUEST (a URL the node calls). List, create, edit
// (every field of the kind, through update_mask), delete.
import { useMemo, useState } from "preact/hooks";
import { allPages } from "../api/client";
import { type Refusal, invalidField } from "../api/errors";
import { AuthorizerType, type Authorizer } from "../gen/archway/v1/config_pb";
import {
  type AuthorizerForm,
  type AuthorizerKind,
  authorizerToForm,
  emptyAuthorizerForm,
  formToAuthorizer,
  kindOf,
  updateMaskFor,
} from "../logic/authorizer_form";
import { foldInto } from "../logic/refusals";
import { href } from "../router";
import { useSession } from "../ui/context";
import { ConfirmButton } from "../ui/confirm_button";
import { ListHead } from "../ui/list_head";
import { Area, Failure, Field, Notice, PageHeader, Select } from "../ui/form";
import { useAction, useLoad } from "../ui/hooks";

const KINDS: Array<[AuthorizerKind, string]> = [
  ["JWT", "JWT (tokens from an OIDC issuer, checked against its JWKS)"],
  ["TOKEN", "TOKEN (a custom authorizer given one header's token)"],
  ["REQUEST", "REQUEST (a custom authorizer given headers, query, stage variables, context)"],
];
const IDENTITY_HINT: Record<AuthorizerKind, string> = {
  JWT: "The header the token comes in; empty: Authorization (\"Bearer \" is stripped).",
  TOKEN: "The header the token comes in, e.g. Authorization or method.request.header.X-Token.",
  REQUEST:
    "Comma-separated: method.request.header.NAME, method.request.querystring.NAME, stageVariables.NAME, context.NAME. Missing any: 401 without a call.",
};
const FIELDS = [
  "name",
  "type",
  "identity_source",
  "jwt",
  "jwt.issuer",
  "jwt.audiences",
  "jwt.jwks_uri",
  "jwt.algorithms",
  "jwt.leeway_seconds",
  "authorizer_uri",
  "result_ttl_seconds",
  "identity_validation_expression",
  "timeout_ms",
];

export function AuthorizersPage({ apiId }: { apiId: string }) {
  const { clients } = useSession();
  const loaded = useLoad(async () => {
    const [api, authorizers, methods] = await Promise.all([
      clients.apis.getRestApi({ apiId }),
      allPages((pageToken) => clients.apis.listAuthorizers({ apiId, pageSize: 1000, pageToken })),
      allPages((pageToken) => clients.apis.listMethods({ apiId, pageSize: 1000, pageToken })),
    ]);
    return { api, authorizers, methods };
  }, [clients, apiId]);
  const usedBy = useMemo(() => {
    const counts = new Map<string, number>();
    for (const m of loaded.data?.methods ?? []) {
      if (m.authorizerId) counts.set(m.authorizerId, (counts.get(m.authorizerId) ?? 0) + 1);
    }
    return counts;
  }, [loaded.data]);
  const [editing, setEditing] = useState<Authorizer | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const remove = useAction();

  return (
    <section>
      <p class="crumbs">
        <a href={href("apis")}>APIs</a> / <a href={href("apis", apiId)}>{loaded.data?.api.name || apiId}</a> /
        authorizers
      </p>
      <PageHeader title="Authorizers" />
      <p class="muted">
        Methods choose one with authorization type JWT or CUSTOM on their{" "}
        <a href={href("apis", apiId)}>API page</a>. Changes serve traffic once the API is deployed.
      </p>
      <Failure failure={loaded.error} />
      <Failure failure={remove.failure} />
      {done && <Notice>{done}</Notice>}
      <table class="list" aria-label="Authorizers">
        <ListHead columns={["Name", "Type", "Identity source", "Checks with", "Used by"]} />
        <tbody>
          {(loaded.data?.authorizers ?? []).map((a) => (
            <tr key={a.id}>
              <td>
                {a.name} <code class="muted">{a.id}</code>
              </td>
              <td>{AuthorizerType[a.type] ?? a.type}</td>
              <td>
                <code>{a.identitySource || (a.type === AuthorizerType.REQUEST ? "—" : "Authorization")}</code>
              </td>
              <td>{describe(a)}</td>
              <td>{usedBy.get(a.id) ?? 0} method(s)</td>
              <td class="row-actions">
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Edit authorizer ${a.name}`}
                  onClick={() => {
                    setDone(null);
                    setEditing(a);
                  }}
                >
                  Edit
                </button>
                <ConfirmButton
                  action={remove}
                  label={`Delete authorizer ${a.name}`}
                  confirmText={`Delete authorizer ${a.name} (${a.id})?`}
                  run={() => clients.apis.deleteAuthorizer({ apiId, authorizerId: a.id })}
                  onDone={() => {
                    if (editing?.id === a.id) setEditing(null);
                    setDone(`Deleted ${a.name}.`);
                    loaded.reload();
                  }}
                />
              </td>
            </tr>
          ))}
          {loaded.data && loaded.data.authorizers.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">
                No authorizers yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>

      <AuthorizerEditor
        key={editing ? editing.id : "new"}
        apiId={apiId}
        editing={editing}
        onCancel={() => setEditing(null)}
        onSaved={(a, created) => {
          setEditing(null);
          setDone(`${created ? "Created" : "Saved"} ${a.name}.`);
          loaded.reload();
        }}
      />
    </section>
  );
}

function describe(a: Authorizer): string {
  if (a.type === AuthorizerType.JWT) {
    const j = a.jwt;
    if (!j) return "—";
    return `issuer ${j.issuer}; audiences ${j.audiences.join(", ")}; keys ${j.jwksUri}`;
  }
  const ttl = a.resultTtlSeconds === undefined ? "300 s (default)" : `${a.resultTtlSeconds} s`;
  return `${a.authorizerUri}; answers reused ${ttl}; timeout ${a.timeoutMs || 10000} ms`;
}

function AuthorizerEditor({
  apiId,
  editing,
  onCancel,
  onSaved,
}: {
  apiId: string;
  editing: Authorizer | null;
  onCancel: () => void;
  onSaved: (a: Authorizer, created: boolean) => void;
}) {
  const { clients, canWrite } = useSession();
  const [form, setForm] = useState<AuthorizerForm>(() =>
    editing ? authorizerToForm(editing) : emptyAuthorizerForm("JWT"),
  );
  const [local, setLocal] = useState<Refusal | null>(null);
  const save = useAction();
  const failure = foldInto(local ?? save.failure, ["jwt.audiences", "jwt.algorithms"]);
  const set = <K extends keyof AuthorizerForm>(k: K) => (v: AuthorizerForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const kind = form.kind;
  const editable = editing ? kindOf(editing.type) !== null : true;

  return (
    <form
      class="api-form"
      aria-labelledby="authorizer-form-title"
      onSubmit={async (e) => {
        e.preventDefault();
        setLocal(null);
        const built = formToAuthorizer(apiId, form, editing?.id ?? "");
        if ("error" in built) {
          setLocal(invalidField(built.error.field, built.error.reason));
          return;
        }
        const saved = await save.run(() =>
          editing
            ? clients.apis.updateAuthorizer({ authorizer: built.authorizer, updateMask: { paths: updateMaskFor(kind) } })
            : clients.apis.createAuthorizer({ authorizer: built.authorizer }),
        );
        if (saved) onSaved(saved, !editing);
      }}
    >
      <h2 id="authorizer-form-title">{editing ? `Edit authorizer ${editing.name}` : "New authorizer"}</h2>
      <Select
        label="Type"
        names={["type"]}
        failure={failure}
        value={kind}
        onValue={(v) => set("kind")(v as AuthorizerKind)}
        options={KINDS}
        disabled={!canWrite || !!editing}
      />
      {editing && <p class="hint">The type cannot change (methods chose JWT or CUSTOM to match it).</p>}
      <Field label="Name" names={["name"]} failure={failure} value={form.name} onValue={set("name")} disabled={!canWrite} />
      <Field
        label="Identity source"
        names={["identity_source"]}
        failure={failure}
        value={form.identitySource}
        onValue={set("identitySource")}
        disabled={!canWrite}
        hint={IDENTITY_HINT[kind]}
        spellcheck={false}
      />
      {kind === "JWT" ? (
        <>
          <Field
            label="Issuer"
            names={["jwt.issuer", "jwt"]}
            failure={failure}
            value={form.issuer}
            onValue={set("issuer")}
            disabled={!canWrite}
            hint="The token's iss must equal this."
            spellcheck={false}
          />
          <Area
            label="Audiences (one per line; the token's aud must hold one)"
            names={["jwt.audiences"]}
            failure={failure}
            value={form.audiences}
            onValue={set("audiences")}
            disabled={!canWrite}
            rows={2}
          />
          <Field
            label="JWKS URL"
            names={["jwt.jwks_uri"]}
            failure={failure}
            value={form.jwksUri}
            onValue={set("jwksUri")}
            disabled={!canWrite}
            placeholder="https://issuer.example/.well-known/jwks.json"
            spellcheck={false}
          />
          <Field
            label="Algorithms"
            names={["jwt.algorithms"]}
            failure={failure}
            value={form.algorithms}
            onValue={set("algorithms")}
            disabled={!canWrite}
            hint="Comma-separated, e.g. RS256, ES256; empty: RS256."
          />
          <Field
            label="Leeway (seconds)"
            names={["jwt.leeway_seconds"]}
            failure={failure}
            value={form.leewaySeconds}
            onValue={set("leewaySeconds")}
            disabled={!canWrite}
            inputMode="numeric"
            hint="Clock skew allowed for exp and nbf, at most 300; empty: 60."
          />
        </>
      ) : (
        <>
          <Field
            label="Authorizer URL"
            names={["authorizer_uri", "jwt"]}
            failure={failure}
            value={form.authorizerUri}
            onValue={set("authorizerUri")}
            disabled={!canWrite}
            placeholder="http://authorizer.internal/check"
            hint="Nodes POST AWS's authorizer event here and read AWS's authorizer response."
            spellcheck={false}
          />
          <Field
            label="Result TTL (seconds)"
            names={["result_ttl_seconds"]}
            failure={failure}
            value={form.resultTtlSeconds}
            onValue={set("resultTtlSeconds")}
            disabled={!canWrite}
            inputMode="numeric"
            hint="How long an answer is reused for the same identity, 0 to 3600; empty: 300."
          />
          {kind === "TOKEN" && (
            <Field
              label="Identity validation expression"
              names={["identity_validation_expression"]}
              failure={failure}
              value={form.identityValidationExpression}
              onValue={set("identityValidationExpression")}
              disabled={!canWrite}
              hint="A regular expression the whole token must match, or 401 without a call."
              spellcheck={false}
            />
          )}
          <Field
            label="Timeout (ms)"
            names={["timeout_ms"]}
            failure={failure}
            value={form.timeoutMs}
            onValue={set("timeoutMs")}
            disabled={!canWrite}
            inputMode="numeric"
            hint="100 to 29000; empty: 10000."
          />
        </>
      )}
      <div class="form-buttons">
        <button type="submit" disabled={!canWrite || save.busy || !editable}>
          {editing ? "Save authorizer" : "Create authorizer"}
        </button>
        {editing && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      <Failure failure={failure} fields={FIELDS} />
    </form>
  );
}
