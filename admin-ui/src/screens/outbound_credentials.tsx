// Outbound credentials, on the IAM screen: the AWS keys nodes sign
// function and service integrations' calls with. List (the secret is never
// returned), put (create, or replace one by name: its secret typed again
// into a password field, sent once, then forgotten by the form), delete
// (refused, under its row, while a served deployment signs with it).
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { allPages } from "../api/client";
import type { OutboundCredential } from "../gen/archway/v1/config_pb";
import { type OutboundForm, credentialToForm, formToCredential } from "../logic/outbound_form";
import { ConfirmButton } from "../ui/confirm_button";
import { useSession } from "../ui/context";
import { Failure, Field, Notice } from "../ui/form";
import { when } from "../ui/format";
import { useAction, useFormState, useLoad } from "../ui/hooks";
import { ListHead } from "../ui/list_head";
import { RowFailure, useRowAction } from "../ui/row_failure";

const COLUMNS = ["Name", "Access key id", "Role ARN", "Description", "Updated"];
const FIELDS = ["name", "description", "role_arn", "access_key_id", "secret_access_key", "session_token"];

export function OutboundCredentials() {
  const { clients } = useSession();
  const loaded = useLoad(
    () => allPages((pageToken) => clients.iam.listOutboundCredentials({ pageSize: 1000, pageToken })),
    [clients],
  );
  const [replacing, setReplacing] = useState<OutboundCredential | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const remove = useRowAction();
  const credentials = loaded.data ?? [];

  return (
    <section aria-labelledby="outbound-title">
      <h2 id="outbound-title">Outbound credentials</h2>
      <p class="muted">
        AWS keys that nodes sign function and service integrations' calls with, when an integration's credentials name
        one or its role ARN. The secret is sealed and never shown again; replacing a credential takes its secret again.
        Changes reach the fleet at once.
      </p>
      <Failure failure={loaded.error} />
      {done && <Notice>{done}</Notice>}
      <table class="list" aria-label="Outbound credentials">
        <ListHead columns={COLUMNS} />
        <tbody>
          {credentials.map((c) => (
            <Fragment key={c.name}>
              <tr>
                <td>{c.name}</td>
                <td>
                  <code>{c.accessKeyId}</code>
                </td>
                <td>{c.roleArn ? <code>{c.roleArn}</code> : "—"}</td>
                <td>{c.description}</td>
                <td>{when(c.updatedAtMs)}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`Replace outbound credential ${c.name}`}
                    onClick={() => {
                      setDone(null);
                      setReplacing(c);
                    }}
                  >
                    Replace
                  </button>
                  <ConfirmButton
                    action={remove}
                    label={`Delete outbound credential ${c.name}`}
                    confirmText={`Delete outbound credential ${c.name}? Integrations naming it can no longer sign.`}
                    run={remove.on(c.name, () => clients.iam.deleteOutboundCredential({ name: c.name }))}
                    onDone={() => {
                      if (replacing?.name === c.name) setReplacing(null);
                      setDone(`Deleted outbound credential ${c.name}.`);
                      loaded.reload();
                    }}
                  />
                </td>
              </tr>
              <RowFailure failure={remove.failureOf(c.name)} columns={COLUMNS.length + 1} />
            </Fragment>
          ))}
          {loaded.data && credentials.length === 0 && (
            <tr>
              <td colSpan={COLUMNS.length + 1} class="muted">
                No outbound credentials: nodes sign with their own environment's.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <CredentialEditor
        key={replacing ? replacing.name : "new"}
        replacing={replacing}
        onCancel={() => setReplacing(null)}
        onSaved={(c) => {
          setReplacing(null);
          remove.clear();
          setDone(`Saved outbound credential ${c.name}; its secret is sealed and will not be shown.`);
          loaded.reload();
        }}
      />
    </section>
  );
}

/** PutOutboundCredential: a new credential, or `replacing` (its name fixed, its secret typed again). */
function CredentialEditor({
  replacing,
  onCancel,
  onSaved,
}: {
  replacing: OutboundCredential | null;
  onCancel: () => void;
  onSaved: (c: OutboundCredential) => void;
}) {
  const { clients, canWrite } = useSession();
  const save = useAction();
  const [form, set, reset] = useFormState<OutboundForm>(credentialToForm(replacing ?? undefined));
  const off = !canWrite;
  const f = save.failure;

  return (
    <form
      class="stack-form panel credential-form"
      aria-label={replacing ? `Replace outbound credential ${replacing.name}` : "Put an outbound credential"}
      autoComplete="off"
      onSubmit={async (e) => {
        e.preventDefault();
        const saved = await save.run(() => clients.iam.putOutboundCredential({ credential: formToCredential(form) }));
        // Sent or refused, the secret leaves the form's state: it is typed again for the next try.
        reset("secret", "sessionToken");
        if (saved) {
          if (!replacing) reset();
          onSaved(saved);
        }
      }}
    >
      <h3>{replacing ? `Replace outbound credential ${replacing.name}` : "Put an outbound credential"}</h3>
      <div class="row">
        <Field
          label="Credential name"
          names={["credential.name"]}
          failure={f}
          value={form.name}
          onValue={set("name")}
          disabled={off || !!replacing}
          hint="1 to 64 letters, digits or +=,.@_-; an existing name is replaced."
          spellcheck={false}
        />
        <Field
          label="Access key id"
          names={["credential.access_key_id"]}
          failure={f}
          value={form.accessKeyId}
          onValue={set("accessKeyId")}
          disabled={off}
          placeholder="AKIA…"
          spellcheck={false}
        />
        <Field
          label="Secret access key"
          names={["credential.secret_access_key"]}
          failure={f}
          value={form.secret}
          onValue={set("secret")}
          disabled={off}
          type="password"
          autoComplete="new-password"
          hint="Sealed on the control plane; never shown again."
          required
        />
      </div>
      <div class="row">
        <Field
          label="Role ARN (optional)"
          names={["credential.role_arn"]}
          failure={f}
          value={form.roleArn}
          onValue={set("roleArn")}
          disabled={off}
          placeholder="arn:aws:iam::123456789012:role/NAME"
          hint="Integrations whose credentials are this ARN sign with this key."
          spellcheck={false}
        />
        <Field
          label="Session token (temporary keys only)"
          names={["credential.session_token"]}
          failure={f}
          value={form.sessionToken}
          onValue={set("sessionToken")}
          disabled={off}
          type="password"
          autoComplete="new-password"
        />
      </div>
      <Field
        label="Credential description"
        names={["credential.description"]}
        failure={f}
        value={form.description}
        onValue={set("description")}
        disabled={off}
      />
      <div class="toolbar">
        <button type="submit" disabled={off || save.busy}>
          {replacing ? "Replace credential" : "Put credential"}
        </button>
        {replacing && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      <Failure failure={f} fields={FIELDS.map((n) => `credential.${n}`)} />
    </form>
  );
}
