// APIs: list (filterable: a fleet may hold thousands), create, delete.
import { useMemo, useState } from "preact/hooks";
import { allPages } from "../api/client";
import { ApiProtocol } from "../gen/archway/v1/config_pb";
import { href } from "../router";
import { useSession } from "../ui/context";
import { Failure, Field, PageHeader, Select } from "../ui/form";
import { when } from "../ui/format";
import { useAction, useLoad } from "../ui/hooks";

const PROTOCOLS: Array<[string, string]> = [
  [String(ApiProtocol.REST), "REST"],
  [String(ApiProtocol.HTTP), "HTTP"],
];

/**
 * Rows drawn at first: a fleet may hold thousands of APIs, and drawing them
 * all blocks the page for a third of a second (measured with 1,000); the
 * filter searches all of them.
 */
const FIRST_ROWS = 200;

export function ApisPage() {
  const { clients, canWrite } = useSession();
  const apis = useLoad(
    () => allPages((pageToken) => clients.apis.listRestApis({ pageSize: 500, pageToken })),
    [clients],
  );
  const [filter, setFilter] = useState("");
  const [limit, setLimit] = useState(FIRST_ROWS);
  const matching = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const list = apis.data ?? [];
    return f ? list.filter((a) => a.id.includes(f) || a.name.toLowerCase().includes(f)) : list;
  }, [apis.data, filter]);
  const shown = matching.slice(0, limit);

  const create = useAction();
  const remove = useAction();
  const [name, setName] = useState("");
  const [id, setId] = useState("");
  const [description, setDescription] = useState("");
  const [protocol, setProtocol] = useState(String(ApiProtocol.REST));

  return (
    <section aria-labelledby="apis-title">
      <PageHeader title="APIs" id="apis-title" />
      <form
        class="inline-form"
        aria-label="Create an API"
        onSubmit={async (e) => {
          e.preventDefault();
          const made = await create.run(() =>
            clients.apis.createRestApi({ name, id, description, protocol: Number(protocol) }),
          );
          if (made) {
            setName("");
            setId("");
            setDescription("");
            apis.reload();
          }
        }}
      >
        <Field label="Name" names={["name"]} failure={create.failure} value={name} onValue={setName} disabled={!canWrite} />
        <Field
          label="Id (optional)"
          names={["id"]}
          failure={create.failure}
          value={id}
          onValue={setId}
          disabled={!canWrite}
          hint="Lowercase letters, digits or '-'; generated when empty"
        />
        <Field
          label="Description"
          names={["description"]}
          failure={create.failure}
          value={description}
          onValue={setDescription}
          disabled={!canWrite}
        />
        <Select
          label="Protocol"
          names={["protocol"]}
          failure={create.failure}
          value={protocol}
          onValue={setProtocol}
          options={PROTOCOLS}
          disabled={!canWrite}
        />
        <button type="submit" disabled={!canWrite || create.busy}>
          Create API
        </button>
        <Failure failure={create.failure} fields={["name", "id", "description", "protocol"]} />
      </form>

      <div class="toolbar">
        <label for="api-filter">Filter</label>
        <input
          id="api-filter"
          type="search"
          value={filter}
          placeholder="id or name"
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
        <span role="status" class="muted">
          {apis.loading && !apis.data ? "Loading…" : `${matching.length} of ${apis.data?.length ?? 0} APIs`}
        </span>
      </div>
      <Failure failure={apis.error} />
      <Failure failure={remove.failure} />
      <table class="list" aria-label="APIs">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Id</th>
            <th scope="col">Protocol</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {shown.map((api) => (
            <tr key={api.id}>
              <td>
                <a href={href("apis", api.id)}>{api.name || api.id}</a>
              </td>
              <td>
                <code>{api.id}</code>
              </td>
              <td>{ApiProtocol[api.protocol] ?? api.protocol}</td>
              <td>{when(api.createdAtMs)}</td>
              <td class="row-actions">
                <a href={href("apis", api.id, "deployments")}>Deployments</a>
                <button
                  type="button"
                  class="danger"
                  disabled={!canWrite || remove.busy}
                  aria-label={`Delete API ${api.name || api.id}`}
                  onClick={async () => {
                    if (!confirm(`Delete API ${api.name} (${api.id}) with its resources, deployments and stages?`))
                      return;
                    if (await remove.run(() => clients.apis.deleteRestApi({ apiId: api.id }))) apis.reload();
                  }}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {matching.length > shown.length && (
        <p>
          <button type="button" class="secondary" onClick={() => setLimit((l) => l + 1000)}>
            Show more ({matching.length - shown.length} not shown)
          </button>
        </p>
      )}
    </section>
  );
}
