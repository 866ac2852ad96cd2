// API keys: list (filterable: a fleet may hold 10,000 keys), create (the
// value shown once), enable / disable, delete, and CSV import in batches
// with a progress bar.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { allPages } from "../api/client";
import type { ApiKey } from "../gen/archway/v1/config_pb";
import { type Batch, type CsvFile, CsvShapeError, type Outcome, batches, importBatches, splitCsv } from "../logic/csv_batches";
import { existsOn } from "../logic/refusals";
import { href } from "../router";
import { useSession } from "../ui/context";
import { InlineForm } from "../ui/inline_form";
import { Failure, Field, Notice, PageHeader } from "../ui/form";
import { useAction, useFormState, useLoad } from "../ui/hooks";
import { ShownOnce } from "../ui/shown_once";
import { ConfirmButton } from "../ui/confirm_button";
import { ListFilter, countStatus, useFiltered } from "../ui/list_filter";
import { ListHead } from "../ui/list_head";
import { KeyCells } from "../ui/key_cells";
import { ShowMore, useShowMore } from "../ui/show_more";
import { when } from "../ui/format";

/** Rows rendered at first: enough to scan, cheap to draw; the filter finds the rest. */
const FIRST_ROWS = 300;
const BATCH_ROWS = 500;

export function KeysPage() {
  const { clients, canWrite } = useSession();
  const keys = useLoad(
    () => allPages((pageToken) => clients.plans.listApiKeys({ pageSize: 1000, pageToken })),
    [clients],
  );
  const plans = useLoad(
    () => allPages((pageToken) => clients.plans.listUsagePlans({ pageSize: 1000, pageToken })),
    [clients],
  );
  const planName = useMemo(() => new Map((plans.data ?? []).map((p) => [p.id, p.name])), [plans.data]);

  // Newest first: a key just created or imported is at the top.
  const sorted = useMemo(
    () => [...(keys.data ?? [])].sort((a, b) => (a.createdAtMs === b.createdAtMs ? 0 : a.createdAtMs > b.createdAtMs ? -1 : 1)),
    [keys.data],
  );
  const { filter, setFilter, shown: matching } = useFiltered(
    sorted,
    (k, f) =>
      k.id.toLowerCase().includes(f) ||
      k.name.toLowerCase().includes(f) ||
      k.valuePrefix.toLowerCase().startsWith(f) ||
      k.usagePlanIds.some((p) => p === f || (planName.get(p) ?? "").toLowerCase().includes(f)),
    [planName],
  );
  const { shown, hidden, more, reset } = useShowMore(matching, FIRST_ROWS);

  const row = useAction();

  return (
    <section aria-label="API keys">
      <PageHeader title="API keys" />
      <CreateKey onCreated={keys.reload} />
      <ImportKeys onImported={keys.reload} />

      <h2>Keys</h2>
      <ListFilter
        id="key-filter"
        placeholder="id, name, prefix or plan"
        filter={filter}
        onFilter={(text) => {
          setFilter(text);
          reset();
        }}
      >
        {countStatus(keys, matching.length, "keys")}
        {keys.loading && keys.data && " (refreshing…)"}
      </ListFilter>
      <Failure failure={keys.error} />
      <Failure failure={row.failure} />
        <table class="list" aria-label="API keys">
          <ListHead columns={["Name", "Id", "Prefix", "Enabled", "Created", "Usage plans"]} />
          <tbody>
            {shown.map((k) => (
              <KeyRow key={k.id} k={k} planName={planName} busy={row.busy} canWrite={canWrite} run={row.run} reload={keys.reload} />
            ))}
          </tbody>
        </table>
      <ShowMore hidden={hidden} onMore={more} />
    </section>
  );
}

function KeyRow({
  k,
  planName,
  busy,
  canWrite,
  run,
  reload,
}: {
  k: ApiKey;
  planName: Map<string, string>;
  busy: boolean;
  canWrite: boolean;
  run: ReturnType<typeof useAction>["run"];
  reload: () => void;
}) {
  const { clients } = useSession();
  const label = k.name ? `${k.name} (${k.id})` : k.id;
  return (
    <tr>
      <KeyCells k={k} />
      <td>{when(k.createdAtMs)}</td>
      <td>
        {k.usagePlanIds.length === 0 ? (
          <span class="muted">none</span>
        ) : (
          k.usagePlanIds.map((p, i) => (
            <span key={p}>
              {i > 0 && ", "}
              <a href={href("plans", p)}>{planName.get(p) || p}</a>
            </span>
          ))
        )}
      </td>
      <td class="row-actions">
        <button
          type="button"
          class="secondary"
          disabled={!canWrite || busy}
          aria-label={`${k.enabled ? "Disable" : "Enable"} key ${label}`}
          onClick={async () => {
            const done = await run(() =>
              clients.plans.updateApiKey({ keyId: k.id, enabled: !k.enabled, updateMask: { paths: ["enabled"] } }),
            );
            if (done) reload();
          }}
        >
          {k.enabled ? "Disable" : "Enable"}
        </button>
        <ConfirmButton
          action={{ busy, run }}
          label={`Delete key ${label}`}
          confirmText={`Delete API key ${label}? Clients sending it are refused from then on.`}
          run={() => clients.plans.deleteApiKey({ keyId: k.id })}
          onDone={reload}
        />
      </td>
    </tr>
  );
}

function CreateKey({ onCreated }: { onCreated: () => void }) {
  const { clients, canWrite } = useSession();
  const create = useAction();
  const [form, set, reset] = useFormState({ name: "", description: "", value: "" });
  // The answer's value, in this component's state only: never stored, never listed.
  const [made, setMade] = useState<ApiKey | null>(null);
  // A value another key has is refused as AlreadyExists, not InvalidArgument:
  // it still belongs beside the Value field.
  const failure = existsOn(create.failure, "value");

  return (
    <>
      <InlineForm
        label="Create an API key"
        action={create}
        submit="Create key"
        fields={["name", "description", "value"]}
        failure={failure}
        onSubmit={async () => {
          const key = await create.run(() => clients.plans.createApiKey(form));
          if (key) {
            setMade(key);
            reset();
            onCreated();
          }
        }}
      >
        <Field label="Key name" names={["name"]} failure={failure} value={form.name} onValue={set("name")} disabled={!canWrite} />
        <Field
          label="Description"
          names={["description"]}
          failure={failure}
          value={form.description}
          onValue={set("description")}
          disabled={!canWrite}
        />
        <Field
          label="Value (optional)"
          names={["value"]}
          failure={failure}
          value={form.value}
          onValue={set("value")}
          disabled={!canWrite}
          autoComplete="off"
          hint="20 to 128 of A-Z a-z 0-9 _ -; generated when empty"
        />
      </InlineForm>
      {made && (
        <ShownOnce label="value" value={made.value} testId="new-key-value" onDone={() => setMade(null)}>
          API key <strong>{made.name}</strong> (id {made.id}) was created. Its
        </ShownOnce>
      )}
    </>
  );
}

interface Chosen {
  name: string;
  file: CsvFile;
  batches: Batch[];
}

interface Run {
  done: number;
  total: number;
  batch: number;
  batches: number;
  stopping: boolean;
}

function ImportKeys({ onImported }: { onImported: () => void }) {
  const { clients, canWrite } = useSession();
  const [chosen, setChosen] = useState<Chosen | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [run, setRun] = useState<Run | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const stop = useRef(false);
  // Leaving the page stops the import after the batch in flight.
  useEffect(
    () => () => {
      stop.current = true;
    },
    [],
  );

  const choose = async (input: HTMLInputElement) => {
    setChosen(null);
    setProblem(null);
    setRun(null);
    setOutcome(null);
    const f = input.files?.[0];
    if (!f) return;
    try {
      const file = splitCsv(await f.text());
      setChosen({ name: f.name, file, batches: batches(file, BATCH_ROWS) });
    } catch (e) {
      setProblem(e instanceof CsvShapeError ? `${f.name}: ${e.message}` : `${f.name} could not be read: ${String(e)}`);
    }
  };

  const start = async () => {
    if (!chosen) return;
    stop.current = false;
    setOutcome(null);
    setRun({ done: 0, total: chosen.file.rows.length, batch: 0, batches: chosen.batches.length, stopping: false });
    const result = await importBatches(
      chosen.batches,
      async (csv) => (await clients.plans.importApiKeys({ csv })).items.length,
      ({ done, batch }) => setRun((r) => r && { ...r, done, batch }),
      () => stop.current,
    );
    setOutcome(result);
    if (result.imported > 0) onImported();
  };

  // An import runs from its start until its outcome is known.
  const running = run !== null && outcome === null;
  const fileError =
    problem ??
    (outcome?.kind === "refused" ? `Batch ${outcome.batch.index + 1} of ${outcome.of} refused: ${outcome.where}` : null);

  return (
    <section aria-labelledby="import-title" class="panel">
      <h2 id="import-title">Import keys from CSV</h2>
      <p class="hint">
        A header line with the columns <code>name,key</code> and optionally <code>description</code>,{" "}
        <code>enabled</code> (true or false) and <code>usageplanIds</code> (plan ids separated by <code>;</code>). Large
        files go in batches of {BATCH_ROWS} rows; each batch is imported whole or not at all, and the first refusal
        stops the import.
      </p>
      <div class="field">
        <label for="csv-file">CSV file</label>
        <input
          id="csv-file"
          type="file"
          name="csv"
          accept=".csv,text/csv,text/plain"
          disabled={!canWrite || running}
          aria-invalid={fileError ? "true" : undefined}
          aria-describedby={fileError ? "csv-file-err" : undefined}
          onChange={(e) => choose(e.target as HTMLInputElement)}
        />
        {fileError && (
          <p id="csv-file-err" class="field-error" role="alert" data-field="csv">
            {fileError}
          </p>
        )}
      </div>
      {chosen && !running && !outcome && (
        <p class="muted" data-testid="csv-summary">
          {chosen.name}: {chosen.file.rows.length.toLocaleString()} keys in {chosen.batches.length}{" "}
          {chosen.batches.length === 1 ? "batch" : "batches"}.
        </p>
      )}
      <div class="toolbar">
        <button type="button" disabled={!canWrite || !chosen || running} onClick={start}>
          Import
        </button>
        {running && (
          <button
            type="button"
            class="danger"
            disabled={run?.stopping}
            onClick={() => {
              stop.current = true;
              setRun((r) => r && { ...r, stopping: true });
            }}
          >
            {run?.stopping ? "Stopping after this batch…" : "Stop"}
          </button>
        )}
      </div>
      {run && (
        <div class="import-progress">
          <progress id="import-progress" max={run.total} value={run.done} aria-label="Keys imported" />
          <span role="status" data-testid="import-count">
            {run.done.toLocaleString()} of {run.total.toLocaleString()} keys
            {running && ` (batch ${run.batch} of ${run.batches})`}
          </span>
        </div>
      )}
      {outcome?.kind === "done" && <Notice>Imported all {outcome.imported.toLocaleString()} keys.</Notice>}
      {outcome?.kind === "stopped" && (
        <Notice>
          Stopped: {outcome.imported.toLocaleString()} keys were imported; the rows from row {outcome.nextRow} on were
          not sent.
        </Notice>
      )}
      {outcome?.kind === "refused" && (
        <p class="failure" role="alert" data-testid="import-refused">
          {outcome.imported.toLocaleString()} keys were imported before batch {outcome.batch.index + 1} (rows{" "}
          {outcome.batch.firstRow + 1}–{outcome.batch.firstRow + outcome.batch.rows.length}); that batch and the ones
          after it were not. The server said: {outcome.where}.
          {outcome.imported > 0 &&
            ` To go on, remove the first ${outcome.imported.toLocaleString()} rows (already imported) and import the file again.`}
        </p>
      )}
    </section>
  );
}
