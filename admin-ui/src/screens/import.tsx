// Import an `archwayctl apply -f` document: preview what it changes (the
// server's own plan, DiffConfiguration), then apply exactly what was
// previewed (expected_revision), or read every error with its place.
import { Code } from "@connectrpc/connect";
import { useState } from "preact/hooks";
import type { Refusal } from "../api/errors";
import {
  type ApplyConfigurationResponse,
  type ConfigurationChange,
  type CreatedApiKey,
} from "../gen/archway/v1/configuration_pb";
import { type PlacedError, actionName, countChanges, documentErrors, offsetOf, summarise, withoutPlace } from "../logic/changes";
import { useSession } from "../ui/context";
import { ListHead } from "../ui/list_head";
import { Area, Failure, Notice, PageHeader } from "../ui/form";
import { ShownOnce } from "../ui/shown_once";
import { useAction } from "../ui/hooks";

/** What the last successful preview was made from: Apply needs the same. */
interface Preview {
  text: string;
  prune: boolean;
  response: ApplyConfigurationResponse;
}

/** Larger files are refused here: the server's request limit is the real bound. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

export function ImportPage() {
  const { clients, canWrite } = useSession();
  const [text, setText] = useState("");
  const [fileName, setFileName] = useState<string | null>(null);
  const [fileProblem, setFileProblem] = useState<string | null>(null);
  const [prune, setPrune] = useState(false);
  const [pinRevision, setPinRevision] = useState(true);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [errors, setErrors] = useState<PlacedError[] | null>(null);
  const [applied, setApplied] = useState<ApplyConfigurationResponse | null>(null);
  const diff = useAction();
  const apply = useAction();

  const current = preview && preview.text === text && preview.prune === prune;
  const stale = preview && !current;
  // Editing forgets the errors of the old text, but not what an apply
  // answered: created key values are shown once and must stay to be copied.
  const reset = () => {
    setErrors(null);
    apply.clear();
  };

  const runPreview = async () => {
    reset();
    setApplied(null);
    setPreview(null);
    const sent = text;
    const res = await diff.run(() =>
      clients.configuration.diffConfiguration({ document: sent, prune, dryRun: true, errorsInResponse: true }),
    );
    if (!res) return;
    if (res.errors.length) {
      setErrors(documentErrors(sent, { errors: res.errors }));
      return;
    }
    setPreview({ text: sent, prune, response: res });
  };

  const runApply = async () => {
    if (!preview || !current) return;
    const deletes = countChanges(preview.response.changes).delete;
    if (deletes > 0 && !confirm(`Apply, deleting ${deletes} resource(s) the document does not have?`)) return;
    setApplied(null);
    setErrors(null);
    const res = await apply.run(() =>
      clients.configuration.applyConfiguration({
        document: preview.text,
        prune: preview.prune,
        expectedRevision: pinRevision ? preview.response.revision : 0n,
        errorsInResponse: true,
      }),
    );
    if (!res) return;
    if (res.errors.length) {
      setErrors(documentErrors(preview.text, { errors: res.errors }));
      return;
    }
    setApplied(res);
    setPreview(null);
  };

  // A refusal that is about the document (INVALID_ARGUMENT from a status) is listed like the rest.
  const statusErrors = (r: Refusal | null): PlacedError[] =>
    r && r.code === Code.InvalidArgument ? documentErrors(text, { refusal: r }) : [];
  const shownErrors = errors ?? (statusErrors(diff.failure).length ? statusErrors(diff.failure) : statusErrors(apply.failure));
  const otherFailure = (r: Refusal | null) => (r && r.code !== Code.InvalidArgument ? r : null);

  return (
    <section>
      <PageHeader title="Import a configuration" />
      <p class="muted">
        A document as <code>archwayctl apply -f</code> takes it (YAML or JSON): APIs with their routes, authorizers and
        stages, usage plans, API keys, IAM users and roles. Preview shows what applying it would change; nothing is
        written until Apply.
      </p>
      <form
        class="api-form"
        aria-label="Import a configuration"
        onSubmit={(e) => {
          e.preventDefault();
          void runPreview();
        }}
      >
        <div class="field">
          <label for="config-file">Configuration file</label>
          <input
            id="config-file"
            type="file"
            accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml,text/plain"
            aria-describedby={fileProblem ? "config-file-err" : undefined}
            onChange={async (e) => {
              const input = e.target as HTMLInputElement;
              const file = input.files?.[0];
              setFileProblem(null);
              if (!file) return;
              if (file.size > MAX_FILE_BYTES) {
                setFileProblem(`${file.name} is ${file.size} bytes; at most ${MAX_FILE_BYTES} are read.`);
                return;
              }
              try {
                setText(await file.text());
                setFileName(file.name);
                reset();
              } catch (err) {
                setFileProblem(`Could not read ${file.name}: ${String(err)}`);
              } finally {
                // Choosing the same file again (after editing it on disk) reads it again.
                input.value = "";
              }
            }}
          />
          {fileName && !fileProblem && (
            <small class="hint" role="status">
              Read {fileName} into the document below; edit it freely before previewing.
            </small>
          )}
          {fileProblem && (
            <p id="config-file-err" class="field-error" role="alert">
              {fileProblem}
            </p>
          )}
        </div>
        <Area
            label="Document"
            names={["document"]}
            value={text}
            onValue={(v) => {
              setText(v);
              reset();
            }}
            class="code"
            rows={16}
            spellcheck={false}
            placeholder={"apis:\n  - name: pets\n    routes:\n      - path: /pets\n        method: GET\n        integration: { type: HTTP_PROXY, uri: http://127.0.0.1:9000/pets }"}
          />
        <fieldset>
          <legend>Options</legend>
          <div class="field check">
            <label>
              <input
                type="checkbox"
                name="prune"
                checked={prune}
                onChange={(e) => setPrune((e.target as HTMLInputElement).checked)}
              />{" "}
              Prune: delete what exists but is missing from the file
            </label>
          </div>
          <div class="field check">
            <label>
              <input
                type="checkbox"
                name="expected_revision"
                checked={pinRevision}
                disabled={!canWrite}
                onChange={(e) => setPinRevision((e.target as HTMLInputElement).checked)}
              />{" "}
              Apply only if nothing changed since the preview
              {preview ? ` (revision ${preview.response.revision})` : ""}
            </label>
          </div>
        </fieldset>
        <div class="form-buttons">
          <button type="submit" disabled={diff.busy || !text.trim()}>
            {diff.busy ? "Previewing…" : "Preview"}
          </button>
          <button
            type="button"
            disabled={!canWrite || !current || apply.busy || diff.busy}
            onClick={() => void runApply()}
            aria-describedby="apply-why"
          >
            {apply.busy ? "Applying…" : "Apply"}
          </button>
          <span id="apply-why" class="muted">
            {!canWrite
              ? "A read-only token can preview, not apply."
              : stale
                ? "The document or options changed since the preview: preview again."
                : !current
                  ? "Apply is enabled once a preview of this document succeeded."
                  : ""}
          </span>
        </div>
      </form>

      <Failure failure={otherFailure(diff.failure)} />
      <Failure failure={otherFailure(apply.failure)} />
      {apply.failure?.code === Code.FailedPrecondition && (
        <p class="muted">The configuration changed since the preview. Preview again to see what applying does now.</p>
      )}

      {shownErrors.length > 0 && <DocumentErrors errors={shownErrors} />}

      {preview && current && (
        <section aria-labelledby="preview-title">
          <h2 id="preview-title">Preview</h2>
          <p role="status" class="summary">
            {summarise(preview.response.changes)} (store revision {String(preview.response.revision)}).
          </p>
          <Changes changes={preview.response.changes} />
        </section>
      )}

      {applied && (
        <section aria-labelledby="applied-title">
          <h2 id="applied-title">Applied</h2>
          <Notice>
            {applied.applied
              ? `${summarise(applied.changes, true)}; the configuration is now at revision ${applied.revision}.`
              : `Nothing to apply: the configuration already matches (revision ${applied.revision}).`}
          </Notice>
          {applied.createdApiKeys.length > 0 && <CreatedKeys keys={applied.createdApiKeys} />}
          <Changes changes={applied.changes} />
        </section>
      )}
    </section>
  );
}

function DocumentErrors({ errors }: { errors: PlacedError[] }) {
  return (
    <section aria-labelledby="doc-errors-title" class="doc-errors">
      <h2 id="doc-errors-title">
        {errors.length} error{errors.length === 1 ? "" : "s"}: nothing was changed
      </h2>
      <ul role="alert">
        {errors.map((e, i) =>
          e.path ? (
            <li key={i} data-path={e.path}>
              {e.line !== undefined && <GoToLine line={e.line} column={e.column} />} <code>{e.path}</code>:{" "}
              {e.message}
            </li>
          ) : (
            // A syntax error: its message starts with its line and column.
            <li key={i} data-path="">
              {e.line !== undefined && <GoToLine line={e.line} column={e.column} />}{" "}
              {withoutPlace(e)}
            </li>
          ),
        )}
      </ul>
    </section>
  );
}

/** Puts the caret at the error's place in the document's text area. */
function GoToLine({ line, column }: { line: number; column?: number }) {
  const where = column !== undefined ? `line ${line}, column ${column}` : `line ${line}`;
  return (
    <button
      type="button"
      class="link where"
      title="Put the cursor there"
      onClick={() => {
        const area = document.querySelector<HTMLTextAreaElement>('textarea[name="document"]');
        if (!area) return;
        const at = offsetOf(area.value, line, column);
        area.focus();
        area.setSelectionRange(at, at);
        // Scroll the line into view: the text area's lines are of equal height.
        const lineHeight = area.scrollHeight / Math.max(1, area.value.split("\n").length);
        area.scrollTop = Math.max(0, (line - 3) * lineHeight);
      }}
    >
      {where}
    </button>
  );
}

function Changes({ changes }: { changes: ConfigurationChange[] }) {
  if (changes.length === 0) return null;
  return (
    <table class="list changes" aria-label="Changes">
      <ListHead columns={["Action", "Kind", "Name", "Fields"]} actions={false} />
      <tbody>
        {changes.map((c, i) => {
          const action = actionName(c.action);
          return (
            <tr key={i} class={`change-${action}`}>
              <td>
                <span class={`badge action-${action}`}>{action === "keep" ? "left alone" : action}</span>
              </td>
              <td>{c.kind}</td>
              <td>
                <code>{c.name}</code>
                {c.id && c.id !== c.name && <span class="muted"> ({c.id})</span>}
                {c.documentPath && <div class="muted small">{c.documentPath}</div>}
              </td>
              <td>
                {c.fields.length > 0 ? (
                  <dl class="field-diffs">
                    {c.fields.map((f) => (
                      <div key={f.field}>
                        <dt>{f.field}</dt>
                        <dd class="diff">
                          <span class="del" aria-label="before">
                            {f.before || "(none)"}
                          </span>{" "}
                          →{" "}
                          <span class="add" aria-label="after">
                            {f.after || "(none)"}
                          </span>
                        </dd>
                      </div>
                    ))}
                  </dl>
                ) : (
                  <span class="muted">{action === "keep" ? "not in the document; prune deletes it" : "—"}</span>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function CreatedKeys({ keys }: { keys: CreatedApiKey[] }) {
  return (
    <div class="created-keys">
      <h3>API keys created (values shown once)</h3>
      {keys.map((k) => (
        <ShownOnce key={k.id} label="API key value" value={k.value} testId="created-key">
          {k.name} <span class="muted">({k.id})</span>:
        </ShownOnce>
      ))}
    </div>
  );
}
