// IAM users and roles: list, create, edit (description and policies, with
// an update_mask of what changed), delete; a user's access keys (create:
// the secret shown once; activate / deactivate; delete); and the outbound
// credentials nodes sign integrations' calls with (outbound_credentials.tsx).
import { useEffect, useState } from "preact/hooks";
import { allPages } from "../api/client";
import type { Refusal } from "../api/errors";
import { type AccessKey, type IamPrincipal, PrincipalType } from "../gen/archway/v1/config_pb";
import {
  POLICY_TEMPLATE,
  formToPrincipal,
  policyError,
  policyPaths,
  principalToForm,
  principalUpdate,
} from "../logic/principal_form";
import { useSession } from "../ui/context";
import { Failure, Field, Notice, PageHeader, Select } from "../ui/form";
import { when } from "../ui/format";
import { useAction, useFormState, useLoad } from "../ui/hooks";
import { ShownOnce } from "../ui/shown_once";
import { ConfirmButton } from "../ui/confirm_button";
import { ListFilter, countStatus, useFiltered } from "../ui/list_filter";
import { ListHead } from "../ui/list_head";
import { OutboundCredentials } from "./outbound_credentials";

const TYPES: Array<[string, string]> = [
  [String(PrincipalType.USER), "User"],
  [String(PrincipalType.ROLE), "Role"],
];

const typeName = (t: PrincipalType) => (t === PrincipalType.ROLE ? "role" : t === PrincipalType.USER ? "user" : "?");

export function IamPage() {
  const { clients } = useSession();
  const principals = useLoad(
    () => allPages((pageToken) => clients.iam.listPrincipals({ pageSize: 1000, pageToken })),
    [clients],
  );
  const [selected, setSelected] = useState<string | null>(null);
  const { filter, setFilter, shown } = useFiltered(
    principals.data,
    (p, f) => p.name.toLowerCase().includes(f) || p.arn.toLowerCase().includes(f),
  );
  const current = principals.data?.find((p) => p.name === selected);
  const remove = useAction();
  // Opening a principal moves the focus (and the view) to its panel above the list.
  useEffect(() => {
    if (selected) document.getElementById("principal-title")?.focus();
  }, [selected]);

  return (
    <section aria-label="IAM users and roles">
      <PageHeader title="IAM users and roles" />
      <details class="panel">
        <summary>Create a user or role</summary>
        <PrincipalEditor
          onSaved={(p) => {
            principals.reload();
            setSelected(p.name);
          }}
        />
      </details>
      {current && (
        <section aria-labelledby="principal-title" class="panel">
          <header class="page-header">
            <h2 id="principal-title" tabIndex={-1}>
              {current.type === PrincipalType.ROLE ? "Role" : "User"} {current.name}
            </h2>
            <div class="actions">
              <button type="button" class="secondary" onClick={() => setSelected(null)}>
                Close
              </button>
            </div>
          </header>
          <p class="muted">
            <code>{current.arn}</code> · created {when(current.createdAtMs)}
          </p>
          <PrincipalEditor key={current.name} principal={current} onSaved={() => principals.reload()} />
          <AccessKeys principal={current} />
        </section>
      )}
      <ListFilter id="iam-filter" placeholder="name or ARN" filter={filter} onFilter={setFilter}>
        {countStatus(principals, shown.length, "users and roles")}
      </ListFilter>
      <Failure failure={principals.error} />
      <Failure failure={remove.failure} />
      <table class="list" aria-label="IAM users and roles">
        <ListHead columns={["Name", "Type", "ARN", "Policies", "Created"]} />
        <tbody>
          {shown.map((p) => (
            <tr key={p.name} aria-current={p.name === selected ? "true" : undefined}>
              <td>
                <button type="button" class="link" onClick={() => setSelected(p.name)} aria-label={`Open ${typeName(p.type)} ${p.name}`}>
                  {p.name}
                </button>
              </td>
              <td>{typeName(p.type)}</td>
              <td>
                <code>{p.arn}</code>
              </td>
              <td>{p.policies.length}</td>
              <td>{when(p.createdAtMs)}</td>
              <td class="row-actions">
                <ConfirmButton
                  action={remove}
                  label={`Delete ${typeName(p.type)} ${p.name}`}
                  confirmText={`Delete ${typeName(p.type)} ${p.name} with its access keys and sessions?`}
                  run={() => clients.iam.deletePrincipal({ name: p.name })}
                  onDone={() => {
                    if (selected === p.name) setSelected(null);
                    principals.reload();
                  }}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <OutboundCredentials />
    </section>
  );
}

/** Creates a principal, or edits the description and policies of `principal`. */
function PrincipalEditor({ principal, onSaved }: { principal?: IamPrincipal; onSaved: (p: IamPrincipal) => void }) {
  const { clients, canWrite } = useSession();
  const save = useAction();
  const [form, set, reset] = useFormState(principalToForm(principal));
  const { policies } = form;
  const setPolicies = set("policies");
  const [saved, setSaved] = useState<string | null>(null);
  const f = save.failure;
  const off = !canWrite;
  const prefix = principal ? `p-${principal.name}` : "new-principal";

  return (
    <form
      class="stack-form"
      aria-label={principal ? `Edit ${principal.name}` : "Create a user or role"}
      onSubmit={async (e) => {
        e.preventDefault();
        setSaved(null);
        let answer: IamPrincipal | undefined;
        if (principal) {
          answer = await save.run(() => clients.iam.updatePrincipal(principalUpdate(principal, form)));
        } else {
          answer = await save.run(() => clients.iam.createPrincipal({ principal: formToPrincipal(form) }));
        }
        if (answer) {
          setSaved(principal ? "Saved." : `Created ${typeName(answer.type)} ${answer.name}.`);
          // The type chosen stays for the next one.
          if (!principal) reset("name", "description", "policies");
          onSaved(answer);
        }
      }}
    >
      {!principal && (
        <div class="row">
          <Field
            label="Name"
            names={["principal.name"]}
            failure={f}
            value={form.name}
            onValue={set("name")}
            disabled={off}
            hint="1 to 64 letters, digits or +=,.@_-"
          />
          <Select label="Type" names={["principal.type"]} failure={f} value={form.type} onValue={set("type")} options={TYPES} disabled={off} />
        </div>
      )}
      <Field
        label="Description"
        names={["principal.description"]}
        failure={f}
        value={form.description}
        onValue={set("description")}
        disabled={off}
      />
      <fieldset aria-describedby={policiesListError(f) ? `${prefix}-policies-err` : undefined}>
        <legend>Identity policies (IAM JSON, without Principal)</legend>
        {policies.length === 0 && <p class="muted">No policies: signed requests of this principal are denied.</p>}
        {policies.map((doc, i) => (
          <PolicyArea
            key={i}
            id={`${prefix}-policy-${i}`}
            index={i}
            value={doc}
            failure={f}
            disabled={off}
            onValue={(v) => setPolicies(policies.map((p, k) => (k === i ? v : p)))}
            onRemove={() => setPolicies(policies.filter((_, k) => k !== i))}
          />
        ))}
        {policiesListError(f) && (
          <p id={`${prefix}-policies-err`} class="field-error" role="alert" data-field="policies">
            {policiesListError(f)}
          </p>
        )}
        <button type="button" class="secondary" disabled={off} onClick={() => setPolicies([...policies, POLICY_TEMPLATE])}>
          Add a policy
        </button>
      </fieldset>
      <div class="toolbar">
        <button type="submit" disabled={off || save.busy}>
          {principal ? "Save" : "Create"}
        </button>
        {saved && <Notice>{saved}</Notice>}
      </div>
      <Failure
        failure={f}
        fields={["principal", "principal.name", "principal.type", "principal.description", ...policyPaths(f)]}
      />
    </form>
  );
}

function policiesListError(f: Refusal | null): string | undefined {
  if (!f) return undefined;
  const path = Object.keys(f.fields).find((p) => p === "principal.policies");
  return path ? `${path}: ${f.fields[path]}` : undefined;
}

function PolicyArea({
  id,
  index,
  value,
  failure,
  disabled,
  onValue,
  onRemove,
}: {
  id: string;
  index: number;
  value: string;
  failure: Refusal | null;
  disabled: boolean;
  onValue: (v: string) => void;
  onRemove: () => void;
}) {
  const error = policyError(failure, index);
  return (
    <div class="field policy">
      <label for={id}>Policy {index + 1}</label>
      <textarea
        id={id}
        class="code"
        name={`policies[${index}]`}
        spellcheck={false}
        value={value}
        disabled={disabled}
        onInput={(e) => onValue((e.target as HTMLTextAreaElement).value)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? `${id}-err` : undefined}
      />
      {error && (
        <p id={`${id}-err`} class="field-error" role="alert" data-field={`policies[${index}]`}>
          {error}
        </p>
      )}
      <div>
        <button type="button" class="danger" disabled={disabled} onClick={onRemove}>
          Remove policy {index + 1}
        </button>
      </div>
    </div>
  );
}

function AccessKeys({ principal }: { principal: IamPrincipal }) {
  const { clients, canWrite } = useSession();
  const keys = useLoad(
    () => allPages((pageToken) => clients.iam.listAccessKeys({ principal: principal.name, pageSize: 1000, pageToken })),
    [clients, principal.name],
  );
  const create = useAction();
  const change = useAction();
  // The secret of the key just made: this component's state only.
  const [made, setMade] = useState<AccessKey | null>(null);
  const isUser = principal.type === PrincipalType.USER;

  return (
    <section aria-labelledby="access-keys-title">
      <h3 id="access-keys-title">{isUser ? "Access keys" : "Role sessions"}</h3>
      {isUser ? (
        <div class="toolbar">
          <button
            type="button"
            disabled={!canWrite || create.busy}
            onClick={async () => {
              const k = await create.run(() => clients.iam.createAccessKey({ principal: principal.name }));
              if (k) {
                setMade(k);
                keys.reload();
              }
            }}
          >
            Create access key
          </button>
          <span class="muted">A user holds at most two keys (to rotate them).</span>
        </div>
      ) : (
        <p class="muted">Roles have no keys of their own: AssumeRole gives temporary credentials, listed here until they expire.</p>
      )}
      <Failure failure={create.failure} />
      {made && (
        <ShownOnce label="secret access key" value={made.secretAccessKey} testId="new-secret-key" onDone={() => setMade(null)}>
          Access key <strong>{made.accessKeyId}</strong> of {made.principal} was created. Its
        </ShownOnce>
      )}
      <Failure failure={keys.error} />
      <Failure failure={change.failure} />
      <table class="list" aria-label={isUser ? "Access keys" : "Role sessions"}>
        <ListHead columns={["Access key id", "Status", "Created", ...(isUser ? [] : ["Session", "Expires"])]} />
        <tbody>
          {(keys.data ?? []).map((k) => (
            <tr key={k.accessKeyId}>
              <td>
                <code>{k.accessKeyId}</code>
              </td>
              <td>{k.enabled ? <span class="badge good">active</span> : <span class="badge bad">inactive</span>}</td>
              <td>{when(k.createdAtMs)}</td>
              {!isUser && <td>{k.sessionName}</td>}
              {!isUser && <td>{when(k.expiresAtMs)}</td>}
              <td class="row-actions">
                <button
                  type="button"
                  class="secondary"
                  disabled={!canWrite || change.busy}
                  aria-label={`${k.enabled ? "Deactivate" : "Activate"} access key ${k.accessKeyId}`}
                  onClick={async () => {
                    const done = await change.run(() =>
                      clients.iam.updateAccessKey({
                        accessKeyId: k.accessKeyId,
                        enabled: !k.enabled,
                        updateMask: { paths: ["enabled"] },
                      }),
                    );
                    if (done) keys.reload();
                  }}
                >
                  {k.enabled ? "Deactivate" : "Activate"}
                </button>
                <ConfirmButton
                  action={change}
                  label={`Delete access key ${k.accessKeyId}`}
                  confirmText={`Delete access key ${k.accessKeyId}? Requests signed with it are refused from then on.`}
                  run={() => clients.iam.deleteAccessKey({ accessKeyId: k.accessKeyId })}
                  onDone={keys.reload}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
