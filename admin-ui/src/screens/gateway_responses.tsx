// An API's gateway responses, on its page: the customised types (status,
// header mappings, templates by media type), put one (create or replace the
// type's whole customisation), reset one to AWS's default. Types not listed
// answer as AWS's defaults do, or as DEFAULT_4XX / DEFAULT_5XX when those
// are customised.
import { useState } from "preact/hooks";
import { type Refusal, fieldError, invalidField } from "../api/errors";
import type { GatewayResponse } from "../gen/archway/v1/config_pb";
import {
  type GatewayResponseForm,
  RESPONSE_TYPES,
  type TemplateRow,
  defaultStatus,
  formToGatewayResponse,
  formatHeaderMappings,
  responseToForm,
  templateRowError,
} from "../logic/gateway_response_form";
import { foldInto } from "../logic/refusals";
import { ConfirmButton } from "../ui/confirm_button";
import { useSession } from "../ui/context";
import { Area, Failure, Field, Notice, Select } from "../ui/form";
import { useAction, useFormState, useLoad } from "../ui/hooks";
import { ListHead } from "../ui/list_head";

const TYPE_OPTIONS: Array<[string, string]> = RESPONSE_TYPES.map(([t, status]) => [t, status ? `${t} (${status})` : t]);

export function GatewayResponsesSection({ apiId }: { apiId: string }) {
  const { clients } = useSession();
  const loaded = useLoad(async () => (await clients.apis.listGatewayResponses({ apiId })).items, [clients, apiId]);
  const [editing, setEditing] = useState<GatewayResponse | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const reset = useAction();
  const items = [...(loaded.data ?? [])].sort((a, b) => (a.responseType < b.responseType ? -1 : 1));

  return (
    <section aria-labelledby="gateway-responses-title">
      <h2 id="gateway-responses-title">Gateway responses</h2>
      <p class="muted">
        The gateway's own answers (refusals, throttling, backend failures) by type. Header values are quoted
        constants (<code>'*'</code>), <code>method.request.header.NAME</code>, <code>stageVariables.NAME</code> or{" "}
        <code>context.NAME</code>; templates may use <code>$context.error.messageString</code>. Changes serve
        traffic once the API is deployed.
      </p>
      <Failure failure={loaded.error} />
      <Failure failure={reset.failure} />
      {done && <Notice>{done}</Notice>}
      <table class="list" aria-label="Gateway responses">
        <ListHead columns={["Type", "Status", "Headers", "Templates"]} />
        <tbody>
          {items.map((r) => (
            <tr key={r.responseType}>
              <td>
                <code>{r.responseType}</code>
              </td>
              <td>{r.statusCode || `default (${defaultStatus(r.responseType)})`}</td>
              <td>
                <pre class="cell-lines">{formatHeaderMappings(r.responseParameters) || "—"}</pre>
              </td>
              <td>{Object.keys(r.responseTemplates).sort().join(", ") || "—"}</td>
              <td class="row-actions">
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Edit gateway response ${r.responseType}`}
                  onClick={() => {
                    setDone(null);
                    setEditing(r);
                  }}
                >
                  Edit
                </button>
                <ConfirmButton
                  action={reset}
                  label={`Reset gateway response ${r.responseType} to default`}
                  confirmText={`Reset ${r.responseType} to the default answer?`}
                  run={() => clients.apis.deleteGatewayResponse({ apiId, responseType: r.responseType })}
                  onDone={() => {
                    if (editing?.responseType === r.responseType) setEditing(null);
                    setDone(`${r.responseType} is back to the default.`);
                    loaded.reload();
                  }}
                >
                  Reset
                </ConfirmButton>
              </td>
            </tr>
          ))}
          {loaded.data && items.length === 0 && (
            <tr>
              <td colSpan={5} class="muted">
                None customised: every type answers with its default.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <GatewayResponseEditor
        key={editing ? editing.responseType : "new"}
        apiId={apiId}
        editing={editing}
        customised={items.map((r) => r.responseType)}
        onCancel={() => setEditing(null)}
        onSaved={(r) => {
          setEditing(null);
          setDone(`Saved ${r.responseType}.`);
          loaded.reload();
        }}
      />
    </section>
  );
}

/** The server field names the form's inputs claim, the template rows' entries included. */
function claimedFields(rows: TemplateRow[]): string[] {
  return [
    "response_type",
    "status_code",
    "response_parameters",
    "response_templates",
    ...rows.map((r) => `response_templates["${r.mediaType.trim()}"]`),
  ];
}

/** Puts one type's customisation: a new type, or `editing`'s (whose type stays). */
function GatewayResponseEditor({
  apiId,
  editing,
  customised,
  onCancel,
  onSaved,
}: {
  apiId: string;
  editing: GatewayResponse | null;
  /** Types already customised: putting one of them replaces it. */
  customised: string[];
  onCancel: () => void;
  onSaved: (r: GatewayResponse) => void;
}) {
  const { clients, canWrite } = useSession();
  const save = useAction();
  const [form, set, reset] = useFormState<GatewayResponseForm>(responseToForm(editing ?? undefined));
  const [local, setLocal] = useState<Refusal | null>(null);
  // Every problem inside the header mappings (one mapping's key) belongs to the one textarea.
  const failure = foldInto(local ?? save.failure, ["response_parameters"]);
  const off = !canWrite;
  const rows = form.templates;
  const setRows = set("templates");
  const setRow = (i: number, change: Partial<TemplateRow>) => setRows(rows.map((r, k) => (k === i ? { ...r, ...change } : r)));
  const replaces = !editing && customised.includes(form.type);
  const listError = fieldError(failure, "response_templates");

  return (
    <form
      class="api-form"
      aria-labelledby="gateway-response-form-title"
      onSubmit={async (e) => {
        e.preventDefault();
        setLocal(null);
        save.clear();
        const built = formToGatewayResponse(apiId, form);
        if ("error" in built) return setLocal(invalidField(built.error.field, built.error.reason));
        const saved = await save.run(() => clients.apis.putGatewayResponse(built));
        if (!saved) return;
        // The form of a new one starts again (an edit's form goes away).
        if (!editing) reset();
        onSaved(saved);
      }}
    >
      <h3 id="gateway-response-form-title">
        {editing ? `Edit gateway response ${editing.responseType}` : "Customise a gateway response"}
      </h3>
      <div class="row">
        <Select
          label="Response type"
          names={["response_type"]}
          failure={failure}
          value={form.type}
          onValue={set("type")}
          options={TYPE_OPTIONS}
          disabled={off || !!editing}
        />
        <Field
          label="Status code"
          names={["status_code"]}
          failure={failure}
          value={form.statusCode}
          onValue={set("statusCode")}
          disabled={off}
          inputMode="numeric"
          placeholder={defaultStatus(form.type)}
          hint={`Empty: the default (${defaultStatus(form.type)}).`}
        />
      </div>
      {replaces && <p class="hint">{form.type} is customised already: saving replaces it.</p>}
      <Area
        label="Response headers (Name: value, one per line)"
        names={["response_parameters"]}
        failure={failure}
        value={form.headers}
        onValue={set("headers")}
        disabled={off}
        class="code"
        rows={Math.max(2, form.headers.split("\n").length + 1)}
        placeholder="Access-Control-Allow-Origin: '*'"
        spellcheck={false}
      />
      <fieldset aria-describedby={listError ? "gateway-response-templates-err" : undefined}>
        <legend>Response templates by media type</legend>
        {rows.length === 0 && <p class="muted">None: the default body.</p>}
        {rows.map((row, i) => (
          <TemplateRowFields
            key={i}
            index={i}
            row={row}
            error={templateRowError(failure, row.mediaType)}
            disabled={off}
            onChange={(change) => setRow(i, change)}
            onRemove={() => setRows(rows.filter((_, k) => k !== i))}
          />
        ))}
        {listError && (
          <p id="gateway-response-templates-err" class="field-error" role="alert" data-field="response_templates">
            {listError}
          </p>
        )}
        <button
          type="button"
          class="secondary"
          disabled={off}
          onClick={() => setRows([...rows, { mediaType: "", template: "" }])}
        >
          Add a template
        </button>
      </fieldset>
      <div class="form-buttons">
        <button type="submit" disabled={off || save.busy}>
          Save gateway response
        </button>
        {editing && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      <Failure failure={failure} fields={claimedFields(rows)} />
    </form>
  );
}

/** One media type and its template; the server's refusal of that entry shows under the template. */
function TemplateRowFields({
  index,
  row,
  error,
  disabled,
  onChange,
  onRemove,
}: {
  index: number;
  row: TemplateRow;
  error: string | undefined;
  disabled: boolean;
  onChange: (change: Partial<TemplateRow>) => void;
  onRemove: () => void;
}) {
  const id = `gateway-response-template-${index}`;
  const n = index + 1;
  return (
    <div class="template-row">
      <Field
        label={`Media type ${n}`}
        names={[`response_templates[${index}].media_type`]}
        value={row.mediaType}
        onValue={(v) => onChange({ mediaType: v })}
        disabled={disabled}
        placeholder="application/json"
        spellcheck={false}
      />
      <div class="field">
        <label for={id}>Template {n}</label>
        <textarea
          id={id}
          class="code"
          name={`response_templates[${index}]`}
          rows={Math.max(2, row.template.split("\n").length + 1)}
          value={row.template}
          disabled={disabled}
          spellcheck={false}
          onInput={(e) => onChange({ template: (e.target as HTMLTextAreaElement).value })}
          aria-invalid={error ? "true" : undefined}
          aria-describedby={error ? `${id}-err` : undefined}
        />
        {error && (
          <p id={`${id}-err`} class="field-error" role="alert" data-field={`response_templates[${index}]`}>
            {error}
          </p>
        )}
      </div>
      <div>
        <button type="button" class="danger" disabled={disabled} onClick={onRemove}>
          Remove template {n}
        </button>
      </div>
    </div>
  );
}
