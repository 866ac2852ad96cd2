// An API's models (JSON Schemas, draft 4), on its page: list, create,
// edit (content type, description, schema: the name is what methods and
// other models refer to), delete. The server compiles each schema and
// refuses one that does not compile, or the deletion of a model something
// names; the first shows beside the schema, the second under the row.
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { allPages } from "../api/client";
import { type Refusal, invalidField } from "../api/errors";
import type { Model } from "../gen/archway/v1/config_pb";
import {
  type ModelForm,
  formToModel,
  formatSchema,
  modelToForm,
  modelUpdate,
  referencedModels,
} from "../logic/model_form";
import { ConfirmButton } from "../ui/confirm_button";
import { useSession } from "../ui/context";
import { Area, Failure, Field, Notice } from "../ui/form";
import { useAction, useFormState, useLoad } from "../ui/hooks";
import { ListHead } from "../ui/list_head";
import { RowFailure, useRowAction } from "../ui/row_failure";

const FIELDS = ["name", "content_type", "description", "schema"];
const COLUMNS = ["Name", "Content type", "Description", "Refers to"];

export function ModelsSection({ apiId }: { apiId: string }) {
  const { clients } = useSession();
  const loaded = useLoad(
    () => allPages((pageToken) => clients.apis.listModels({ apiId, pageSize: 1000, pageToken })),
    [clients, apiId],
  );
  const [editing, setEditing] = useState<Model | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const remove = useRowAction();
  const models = loaded.data ?? [];

  return (
    <section aria-labelledby="models-title">
      <h2 id="models-title">Models</h2>
      <p class="muted">
        JSON Schemas (draft 4) that methods validate request bodies against and exports describe payloads with. A
        schema may refer to another model of this API by its URL,{" "}
        <code>https://apigateway.amazonaws.com/restapis/{apiId}/models/NAME</code>. Changes serve traffic once the API
        is deployed.
      </p>
      <Failure failure={loaded.error} />
      {done && <Notice>{done}</Notice>}
      <table class="list" aria-label="Models">
        <ListHead columns={COLUMNS} />
        <tbody>
          {models.map((m) => (
            <Fragment key={m.name}>
              <tr>
                <td>
                  {m.name} <code class="muted">{m.id}</code>
                </td>
                <td>
                  <code>{m.contentType}</code>
                </td>
                <td>{m.description}</td>
                <td>{referencedModels(m.schema).join(", ") || "—"}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`Edit model ${m.name}`}
                    onClick={() => {
                      setDone(null);
                      setEditing(m);
                    }}
                  >
                    Edit
                  </button>
                  <ConfirmButton
                    action={remove}
                    label={`Delete model ${m.name}`}
                    confirmText={`Delete model ${m.name}?`}
                    run={remove.on(m.name, () => clients.apis.deleteModel({ apiId, modelName: m.name }))}
                    onDone={() => {
                      if (editing?.name === m.name) setEditing(null);
                      setDone(`Deleted model ${m.name}.`);
                      loaded.reload();
                    }}
                  />
                </td>
              </tr>
              <RowFailure failure={remove.failureOf(m.name)} columns={COLUMNS.length + 1} />
            </Fragment>
          ))}
          {loaded.data && models.length === 0 && (
            <tr>
              <td colSpan={COLUMNS.length + 1} class="muted">
                No models yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {editing ? (
        <ModelEditor
          key={editing.name}
          apiId={apiId}
          editing={editing}
          onCancel={() => setEditing(null)}
          onSaved={(m) => {
            setEditing(null);
            remove.clear();
            setDone(`Saved model ${m.name}.`);
            loaded.reload();
          }}
        />
      ) : (
        <details class="panel">
          <summary>Create a model</summary>
          <ModelEditor
            apiId={apiId}
            editing={null}
            onSaved={(m) => {
              remove.clear();
              setDone(`Created model ${m.name}.`);
              loaded.reload();
            }}
          />
        </details>
      )}
    </section>
  );
}

/** Creates a model, or edits `editing` (whose name stays). */
function ModelEditor({
  apiId,
  editing,
  onCancel,
  onSaved,
}: {
  apiId: string;
  editing: Model | null;
  onCancel?: () => void;
  onSaved: (m: Model) => void;
}) {
  const { clients, canWrite } = useSession();
  const save = useAction();
  const [form, set, reset] = useFormState<ModelForm>(modelToForm(editing ?? undefined));
  // A schema the browser would not send: shown exactly where the server's refusal would be.
  const [local, setLocal] = useState<Refusal | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const failure = local ?? save.failure;
  const off = !canWrite;

  return (
    <form
      class="api-form"
      aria-label={editing ? `Edit model ${editing.name}` : "Create a model"}
      onSubmit={async (e) => {
        e.preventDefault();
        setLocal(null);
        setNote(null);
        save.clear();
        if (editing) {
          const request = modelUpdate(editing, form);
          if (!request) return setNote("Nothing changed.");
          if ("error" in request) return setLocal(invalidField(request.error.field, request.error.reason));
          const saved = await save.run(() => clients.apis.updateModel(request));
          if (saved) onSaved(saved);
          return;
        }
        const built = formToModel(apiId, form);
        if ("error" in built) return setLocal(invalidField(built.error.field, built.error.reason));
        const made = await save.run(() => clients.apis.createModel(built));
        if (made) {
          reset();
          onSaved(made);
        }
      }}
    >
      {editing && <h3>Edit model {editing.name}</h3>}
      <div class="row">
        <Field
          label="Model name"
          names={["name"]}
          failure={failure}
          value={form.name}
          onValue={set("name")}
          disabled={off || !!editing}
          hint={editing ? "Methods and models refer to it by name: create a new model to rename." : "Letters and digits."}
          spellcheck={false}
        />
        <Field
          label="Content type"
          names={["content_type"]}
          failure={failure}
          value={form.contentType}
          onValue={set("contentType")}
          disabled={off}
          spellcheck={false}
        />
      </div>
      <Field
        label="Model description"
        names={["description"]}
        failure={failure}
        value={form.description}
        onValue={set("description")}
        disabled={off}
      />
      <Area
        label="Schema (JSON Schema, draft 4)"
        names={["schema"]}
        failure={failure}
        value={form.schema}
        onValue={(v) => {
          setLocal(null);
          set("schema")(v);
        }}
        disabled={off}
        class="code"
        rows={Math.min(24, Math.max(6, form.schema.split("\n").length + 1))}
        spellcheck={false}
      />
      <div class="form-buttons">
        <button type="submit" disabled={off || save.busy}>
          {editing ? "Save model" : "Create model"}
        </button>
        <button type="button" class="secondary" disabled={off} onClick={() => set("schema")(formatSchema(form.schema))}>
          Format schema JSON
        </button>
        {onCancel && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      {note && <Notice>{note}</Notice>}
      <Failure failure={failure} fields={FIELDS} />
    </form>
  );
}
