// APIs: list (filterable: a fleet may hold thousands), create, delete.
import { allPages } from "../api/client";
import { ApiProtocol } from "../gen/archway/v1/config_pb";
import { href } from "../router";
import { useSession } from "../ui/context";
import { InlineForm } from "../ui/inline_form";
import { Failure, Field, PageHeader, Select } from "../ui/form";
import { when } from "../ui/format";
import { useAction, useFormState, useLoad } from "../ui/hooks";
import { ConfirmButton } from "../ui/confirm_button";
import { ListFilter, countStatus, useFiltered } from "../ui/list_filter";
import { ListHead } from "../ui/list_head";
import { ShowMore, useShowMore } from "../ui/show_more";

const PROTOCOLS: Array<[string, string]> = [
  [String(ApiProtocol.REST), "REST"],
  [String(ApiProtocol.HTTP), "HTTP"],
  [String(ApiProtocol.WEBSOCKET), "WEBSOCKET"],
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
  const { filter, setFilter, shown: matching } = useFiltered(
    apis.data,
    (a, f) => a.id.includes(f) || a.name.toLowerCase().includes(f),
  );
  const { shown, hidden, more } = useShowMore(matching, FIRST_ROWS);

  const create = useAction();
  const remove = useAction();
  const [form, set, reset] = useFormState({
    name: "",
    id: "",
    description: "",
    protocol: String(ApiProtocol.REST),
    routeSelectionExpression: "$request.body.action",
  });
  const websocket = Number(form.protocol) === ApiProtocol.WEBSOCKET;

  return (
    <section aria-labelledby="apis-title">
      <PageHeader title="APIs" id="apis-title" />
      <InlineForm
        label="Create an API"
        action={create}
        submit="Create API"
        fields={["name", "id", "description", "protocol", "route_selection_expression"]}
        onSubmit={async () => {
          const made = await create.run(() =>
            clients.apis.createRestApi({
              ...form,
              protocol: Number(form.protocol),
              // Only WEBSOCKET APIs take one (the others refuse it).
              routeSelectionExpression: websocket ? form.routeSelectionExpression.trim() : "",
            }),
          );
          if (made) {
            // The protocol chosen stays for the next API.
            reset("name", "id", "description");
            apis.reload();
          }
        }}
      >
        <Field label="Name" names={["name"]} failure={create.failure} value={form.name} onValue={set("name")} disabled={!canWrite} />
        <Field
          label="Id (optional)"
          names={["id"]}
          failure={create.failure}
          value={form.id}
          onValue={set("id")}
          disabled={!canWrite}
          hint="Lowercase letters, digits or '-'; generated when empty"
        />
        <Field
          label="Description"
          names={["description"]}
          failure={create.failure}
          value={form.description}
          onValue={set("description")}
          disabled={!canWrite}
        />
        <Select
          label="Protocol"
          names={["protocol"]}
          failure={create.failure}
          value={form.protocol}
          onValue={set("protocol")}
          options={PROTOCOLS}
          disabled={!canWrite}
        />
        {websocket && (
          <Field
            label="Route selection expression"
            names={["route_selection_expression"]}
            failure={create.failure}
            value={form.routeSelectionExpression}
            onValue={set("routeSelectionExpression")}
            disabled={!canWrite}
            hint="What picks a message's route: $request.body.action, or ${request.body.a}/${request.body.b}"
            required
          />
        )}
      </InlineForm>

      <ListFilter id="api-filter" placeholder="id or name" filter={filter} onFilter={setFilter}>
        {countStatus(apis, matching.length, "APIs")}
      </ListFilter>
      <Failure failure={apis.error} />
      <Failure failure={remove.failure} />
      <table class="list" aria-label="APIs">
        <ListHead columns={["Name", "Id", "Protocol", "Created"]} />
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
                <ConfirmButton
                  action={remove}
                  label={`Delete API ${api.name || api.id}`}
                  confirmText={`Delete API ${api.name} (${api.id}) with its resources, deployments and stages?`}
                  run={() => clients.apis.deleteRestApi({ apiId: api.id })}
                  onDone={apis.reload}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ShowMore hidden={hidden} onMore={more} />
    </section>
  );
}
