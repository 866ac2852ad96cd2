// A row's delete refused (a model another model names, a validator a
// method uses, a credential a served deployment signs with) is about that
// row: its message is shown right under it, not above a long list where
// the operator may not see it, nor tied to whichever row was deleted last.
import { useCallback, useState } from "preact/hooks";
import type { Refusal } from "../api/errors";
import { Failure } from "./form";
import { useAction } from "./hooks";

/**
 * useAction() for row actions, remembering which row the last one was for.
 * `clear()` when the list changes otherwise (a save), so an old refusal
 * does not linger under a row that may no longer be in the state it named.
 */
export function useRowAction() {
  const action = useAction();
  const [row, setRow] = useState<string | null>(null);
  /** The `run` of a ConfirmButton on row `key`. */
  const on = useCallback(
    (key: string, fn: () => Promise<unknown>) => () => {
      setRow(key);
      return fn();
    },
    [],
  );
  return { ...action, on, failureOf: (key: string) => (row === key ? action.failure : null) };
}

/** The refusal of a row's action, as a table row of its own under it. */
export function RowFailure({ failure, columns }: { failure: Refusal | null; columns: number }) {
  if (!failure) return null;
  return (
    <tr class="row-failure">
      <td colSpan={columns}>
        <Failure failure={failure} />
      </td>
    </tr>
  );
}
