// An API's request validators, on its page: list, create, edit (name and
// what it checks), delete. A method names one to have its required
// parameters and its body (against its request model) checked before the
// integration is called; one a method uses cannot be deleted, and that
// refusal shows under its row.
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { allPages } from "../api/client";
import type { RequestValidator } from "../gen/archway/v1/config_pb";
import { type ValidatorForm, formToValidator, validatorChecks, validatorToForm, validatorUpdate } from "../logic/validator_form";
import { ConfirmButton } from "../ui/confirm_button";
import { useSession } from "../ui/context";
import { Checkbox, Failure, Field, Notice } from "../ui/form";
import { InlineForm } from "../ui/inline_form";
import { useAction, useFormState, useLoad } from "../ui/hooks";
import { ListHead } from "../ui/list_head";
import { RowFailure, useRowAction } from "../ui/row_failure";

const COLUMNS = ["Name", "Checks", "Id"];
const FIELDS = ["name", "validate_request_body", "validate_request_parameters"];

export function ValidatorsSection({ apiId }: { apiId: string }) {
  const { clients } = useSession();
  const loaded = useLoad(
    () => allPages((pageToken) => clients.apis.listRequestValidators({ apiId, pageSize: 1000, pageToken })),
    [clients, apiId],
  );
  const [editing, setEditing] = useState<RequestValidator | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const remove = useRowAction();
  const validators = loaded.data ?? [];

  return (
    <section aria-labelledby="validators-title">
      <h2 id="validators-title">Request validators</h2>
      <p class="muted">
        What a method that names one checks before calling its integration: its required request parameters
        (400 BAD_REQUEST_PARAMETERS), its body against its request model (400 BAD_REQUEST_BODY), or both. Changes
        serve traffic once the API is deployed.
      </p>
      <Failure failure={loaded.error} />
      {done && <Notice>{done}</Notice>}
      <table class="list" aria-label="Request validators">
        <ListHead columns={COLUMNS} />
        <tbody>
          {validators.map((v) => (
            <Fragment key={v.id}>
              <tr>
                <td>{v.name}</td>
                <td>{validatorChecks(v)}</td>
                <td>
                  <code class="muted">{v.id}</code>
                </td>
                <td class="row-actions">
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`Edit request validator ${v.name}`}
                    onClick={() => {
                      setDone(null);
                      setEditing(v);
                    }}
                  >
                    Edit
                  </button>
                  <ConfirmButton
                    action={remove}
                    label={`Delete request validator ${v.name}`}
                    confirmText={`Delete request validator ${v.name} (${v.id})?`}
                    run={remove.on(v.id, () => clients.apis.deleteRequestValidator({ apiId, requestValidatorId: v.id }))}
                    onDone={() => {
                      if (editing?.id === v.id) setEditing(null);
                      setDone(`Deleted request validator ${v.name}.`);
                      loaded.reload();
                    }}
                  />
                </td>
              </tr>
              <RowFailure failure={remove.failureOf(v.id)} columns={COLUMNS.length + 1} />
            </Fragment>
          ))}
          {loaded.data && validators.length === 0 && (
            <tr>
              <td colSpan={COLUMNS.length + 1} class="muted">
                No request validators yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <ValidatorEditor
        key={editing ? editing.id : "new"}
        apiId={apiId}
        editing={editing}
        onCancel={() => setEditing(null)}
        onSaved={(v, created) => {
          setEditing(null);
          remove.clear();
          setDone(`${created ? "Created" : "Saved"} request validator ${v.name}.`);
          loaded.reload();
        }}
      />
    </section>
  );
}

/** One line: the name and the two switches; the same form creates and edits. */
function ValidatorEditor({
  apiId,
  editing,
  onCancel,
  onSaved,
}: {
  apiId: string;
  editing: RequestValidator | null;
  onCancel: () => void;
  onSaved: (v: RequestValidator, created: boolean) => void;
}) {
  const { clients, canWrite } = useSession();
  const save = useAction();
  const [form, set, reset] = useFormState<ValidatorForm>(validatorToForm(editing ?? undefined));
  const [note, setNote] = useState<string | null>(null);
  const off = !canWrite;

  return (
    <InlineForm
      label={editing ? `Edit request validator ${editing.name}` : "Create a request validator"}
      action={save}
      submit={editing ? "Save request validator" : "Create request validator"}
      fields={FIELDS}
      beside={
        editing && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )
      }
      after={note && <Notice>{note}</Notice>}
      onSubmit={async () => {
        setNote(null);
        if (editing) {
          const request = validatorUpdate(editing, form);
          if (!request) return setNote("Nothing changed.");
          const saved = await save.run(() => clients.apis.updateRequestValidator(request));
          if (saved) onSaved(saved, false);
          return;
        }
        const made = await save.run(() =>
          clients.apis.createRequestValidator({ requestValidator: formToValidator(apiId, form) }),
        );
        if (made) {
          reset();
          onSaved(made, true);
        }
      }}
    >
      <Field
        label="Validator name"
        names={["name"]}
        failure={save.failure}
        value={form.name}
        onValue={set("name")}
        disabled={off}
        required
      />
      <Checkbox label="Validate body" name="validate_request_body" checked={form.body} onChecked={set("body")} disabled={off} />
      <Checkbox
        label="Validate parameters"
        name="validate_request_parameters"
        checked={form.parameters}
        onChecked={set("parameters")}
        disabled={off}
      />
    </InlineForm>
  );
}
