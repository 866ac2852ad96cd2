// An API key reads the same wherever it is listed (the keys screen, a
// plan's members): name, id, the value's first characters (never the
// value), and whether it is enabled. These are those four cells.
import type { ApiKey } from "../gen/archway/v1/config_pb";

export function KeyCells({ k }: { k: ApiKey }) {
  return (
    <>
      <td>{k.name}</td>
      <td>
        <code>{k.id}</code>
      </td>
      <td>
        <code>{k.valuePrefix}…</code>
      </td>
      <td>{k.enabled ? <span class="badge good">enabled</span> : <span class="badge bad">disabled</span>}</td>
    </>
  );
}
