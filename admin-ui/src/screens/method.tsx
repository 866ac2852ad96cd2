// One method of a resource: its authorization, API key requirement and
// integration, saved together by one PutMethod (all of it or none).
import { useMemo, useState } from "preact/hooks";
import { allPages } from "../api/client";
import { type Refusal, invalidField } from "../api/errors";
import { AuthorizerType, type Authorizer, type Method, type Resource } from "../gen/archway/v1/config_pb";
import {
  type IntegrationChoice,
  type MethodForm,
  emptyMethodForm,
  formToMethod,
  methodToForm,
} from "../logic/method_form";
import { foldInto } from "../logic/refusals";
import { VERBS } from "../logic/tree";
import { href, navigate } from "../router";
import { useSession } from "../ui/context";
import { ConfirmButton } from "../ui/confirm_button";
import { Area, Checkbox, Failure, Field, PageHeader, Select } from "../ui/form";
import { useAction, useLoad } from "../ui/hooks";

const AUTH_TYPES: Array<[string, string]> = [
  ["NONE", "NONE (open)"],
  ["AWS_IAM", "AWS_IAM (SigV4-signed by IAM users and roles)"],
  ["JWT", "JWT (a JWT authorizer)"],
  ["CUSTOM", "CUSTOM (a TOKEN or REQUEST authorizer)"],
];
const INTEGRATION_TYPES: Array<[IntegrationChoice, string]> = [
  ["HTTP_PROXY", "HTTP_PROXY (forward to an HTTP backend)"],
  ["MOCK", "MOCK (answer from the gateway)"],
  ["NONE", "None (the method cannot be deployed)"],
];
/** Server field paths whose inner parts belong to one input of this form. */
const FOLDED = ["integration.cache_key_parameters", "integration.mock.headers", "authorization_scopes"];
const FIELDS = [
  "method.http_method",
  "authorization_type",
  "authorizer_id",
  "authorization_scopes",
  "api_key_required",
  "integration",
  "integration.type",
  "integration.uri",
  "integration.http_method",
  "integration.timeout_ms",
  "integration.cache_key_parameters",
  "integration.mock",
  "integration.mock.status_code",
  "integration.mock.headers",
  "integration.mock.body",
];

export function MethodPage({ apiId, resourceId, verb }: { apiId: string; resourceId: string; verb: string }) {
  const { clients } = useSession();
  const isNew = verb.toLowerCase() === "new";
  const loaded = useLoad(async () => {
    const [resource, methods, authorizers] = await Promise.all([
      clients.apis.getResource({ apiId, resourceId }),
      allPages((pageToken) => clients.apis.listMethods({ apiId, resourceId, pageSize: 1000, pageToken })),
      allPages((pageToken) => clients.apis.listAuthorizers({ apiId, pageSize: 1000, pageToken })),
    ]);
    const existing = isNew ? undefined : methods.find((m) => m.httpMethod === verb.toUpperCase());
    return { resource, methods, authorizers, existing };
  }, [clients, apiId, resourceId, verb]);

  const back = href("apis", apiId);
  if (!loaded.data) {
    return (
      <section>
        <PageHeader title={isNew ? "Add method" : `Method ${verb.toUpperCase()}`} />
        {loaded.error ? <Failure failure={loaded.error} /> : <p role="status">Loading…</p>}
        <p>
          <a href={back}>Back to the API</a>
        </p>
      </section>
    );
  }
  return (
    <MethodEditor
      key={`${resourceId}/${verb}`}
      apiId={apiId}
      isNew={isNew}
      verb={isNew ? "" : verb.toUpperCase()}
      resource={loaded.data.resource}
      taken={loaded.data.methods.map((m) => m.httpMethod)}
      authorizers={loaded.data.authorizers}
      existing={loaded.data.existing}
    />
  );
}

function MethodEditor({
  apiId,
  isNew,
  verb,
  resource,
  taken,
  authorizers,
  existing,
}: {
  apiId: string;
  isNew: boolean;
  verb: string;
  resource: Resource;
  taken: string[];
  authorizers: Authorizer[];
  existing: Method | undefined;
}) {
  const { clients, canWrite } = useSession();
  const free = VERBS.filter((v) => !taken.includes(v));
  const [form, setForm] = useState<MethodForm>(() =>
    existing ? methodToForm(existing) : emptyMethodForm(isNew ? (free[0] ?? "GET") : verb),
  );
  const [local, setLocal] = useState<Refusal | null>(null);
  const save = useAction();
  const remove = useAction();
  const failure = foldInto(local ?? save.failure, FOLDED);
  const set = <K extends keyof MethodForm>(k: K) => (v: MethodForm[K]) => setForm((f) => ({ ...f, [k]: v }));

  const fitting = useMemo(() => {
    const wantJwt = form.authorizationType === "JWT";
    return authorizers.filter((a) => (a.type === AuthorizerType.JWT) === wantJwt);
  }, [authorizers, form.authorizationType]);
  const usesAuthorizer = form.authorizationType === "JWT" || form.authorizationType === "CUSTOM";
  const back = href("apis", apiId);
  const title = isNew ? `Add a method to ${resource.path}` : `${existing ? "Edit" : "Add"} ${verb} ${resource.path}`;

  return (
    <section>
      <p class="crumbs">
        <a href={href("apis")}>APIs</a> / <a href={back}>{apiId}</a> / <code>{resource.path}</code>
      </p>
      <PageHeader title={title} />
      <form
        class="api-form"
        aria-label="Method"
        onSubmit={async (e) => {
          e.preventDefault();
          setLocal(null);
          const built = formToMethod(apiId, resource.id, form);
          if ("error" in built) {
            setLocal(invalidField(built.error.field, built.error.reason));
            return;
          }
          const saved = await save.run(() => clients.apis.putMethod({ method: built.method }));
          if (saved) navigate("apis", apiId);
        }}
      >
        {isNew && (
          <>
            <Select
              label="HTTP method"
              names={["method.http_method"]}
              failure={failure}
              value={form.httpMethod}
              onValue={set("httpMethod")}
              options={(free.length ? free : [...VERBS]).map((v) => [v, v] as [string, string])}
              disabled={!canWrite}
            />
            {free.length === 0 && (
              <p class="muted">Every verb has a method here already; saving replaces the one chosen.</p>
            )}
          </>
        )}
        <fieldset>
          <legend>Authorization</legend>
          <Select
            label="Authorization type"
            names={["authorization_type"]}
            failure={failure}
            value={form.authorizationType}
            onValue={(v) => {
              // One authorizer of the kind: choose it; otherwise the operator picks.
              const only = authorizers.filter((a) => (a.type === AuthorizerType.JWT) === (v === "JWT"));
              const authorizerId = (v === "JWT" || v === "CUSTOM") && only.length === 1 ? only[0].id : "";
              setForm((f) => ({ ...f, authorizationType: v, authorizerId }));
            }}
            options={AUTH_TYPES}
            disabled={!canWrite}
          />
          {usesAuthorizer && (
            <>
              <Select
                label="Authorizer"
                names={["authorizer_id"]}
                failure={failure}
                value={form.authorizerId}
                onValue={set("authorizerId")}
                options={[
                  ["", fitting.length ? "Choose an authorizer" : "No authorizer of this kind"],
                  ...fitting.map((a) => [a.id, `${a.name} (${AuthorizerType[a.type]})`] as [string, string]),
                ]}
                disabled={!canWrite}
              />
              <p class="hint">
                <a href={href("apis", apiId, "authorizers")}>Manage this API's authorizers</a>
              </p>
            </>
          )}
          {form.authorizationType === "JWT" && (
            <Area
              label="Authorization scopes (one per line; the token's scope claim must hold one)"
              names={["authorization_scopes"]}
              failure={failure}
              value={form.scopes}
              onValue={set("scopes")}
              disabled={!canWrite}
              rows={3}
            />
          )}
          <Checkbox
            label="API key required"
            name="api_key_required"
            hint="Callers need an enabled key of a usage plan that includes the stage."
            checked={form.apiKeyRequired}
            onChecked={set("apiKeyRequired")}
            disabled={!canWrite}
          />
        </fieldset>

        <fieldset>
          <legend>Integration</legend>
          <Select
            label="Integration type"
            names={["integration.type", "integration"]}
            failure={failure}
            value={form.integrationType}
            onValue={(v) => set("integrationType")(v as IntegrationChoice)}
            options={INTEGRATION_TYPES}
            disabled={!canWrite}
          />
          {form.integrationType === "HTTP_PROXY" && (
            <>
              <Field
                label="Endpoint URL"
                names={["integration.uri"]}
                failure={failure}
                value={form.uri}
                onValue={set("uri")}
                disabled={!canWrite}
                placeholder="http://${stageVariables.backend}/pets/{petId}"
                hint="{name} takes a path parameter of the resource, ${stageVariables.name} a stage variable; the query string is appended."
                spellcheck={false}
              />
              <Select
                label="Verb towards the backend"
                names={["integration.http_method"]}
                failure={failure}
                value={form.integrationHttpMethod}
                onValue={set("integrationHttpMethod")}
                options={[["", "The client's verb"], ...VERBS.filter((v) => v !== "ANY").map((v) => [v, v] as [string, string])]}
                disabled={!canWrite}
              />
            </>
          )}
          {form.integrationType === "MOCK" && (
            <>
              <Field
                label="Status code"
                names={["integration.mock.status_code", "integration.mock"]}
                failure={failure}
                value={form.mockStatus}
                onValue={set("mockStatus")}
                disabled={!canWrite}
                inputMode="numeric"
              />
              <Area
                label="Response headers (Name: value, one per line)"
                names={["integration.mock.headers"]}
                failure={failure}
                value={form.mockHeaders}
                onValue={set("mockHeaders")}
                disabled={!canWrite}
                rows={3}
              />
              <Area
                label="Response body"
                names={["integration.mock.body"]}
                failure={failure}
                value={form.mockBody}
                onValue={set("mockBody")}
                disabled={!canWrite}
                rows={4}
              />
            </>
          )}
          {form.integrationType !== "NONE" && (
            <>
              <Field
                label="Timeout (ms)"
                names={["integration.timeout_ms"]}
                failure={failure}
                value={form.timeoutMs}
                onValue={set("timeoutMs")}
                disabled={!canWrite}
                inputMode="numeric"
                hint="50 to 29000; empty: 29000"
              />
              <Area
                label="Cache key parameters (one per line)"
                names={["integration.cache_key_parameters"]}
                failure={failure}
                value={form.cacheKeyParameters}
                onValue={set("cacheKeyParameters")}
                disabled={!canWrite}
                rows={2}
                placeholder="method.request.querystring.page"
              />
            </>
          )}
        </fieldset>
        <div class="form-buttons">
          <button type="submit" disabled={!canWrite || save.busy}>
            Save method
          </button>
          <a href={back}>Cancel</a>
          {existing && (
            <ConfirmButton
              action={remove}
              confirmText={`Delete method ${existing.httpMethod} ${resource.path}?`}
              run={() => clients.apis.deleteMethod({ apiId, resourceId: resource.id, httpMethod: existing.httpMethod })}
              onDone={() => navigate("apis", apiId)}
            >
              Delete method
            </ConfirmButton>
          )}
        </div>
        <Failure failure={failure} fields={FIELDS} />
        <Failure failure={remove.failure} />
      </form>
    </section>
  );
}
