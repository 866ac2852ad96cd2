// The small one-line forms above lists (create an API, a key, a token, a
// resource; deploy; add a key to a plan) were each the same frame around
// their fields: an `inline-form` labelled for screen readers, a submit
// button that is off for read-only tokens and while the write is in
// flight, and the refusal no field claims. This is that frame.
import type { ComponentChildren } from "preact";
import type { Refusal } from "../api/errors";
import { useSession } from "./context";
import { Failure } from "./form";

export function InlineForm({
  label,
  action,
  submit,
  fields,
  failure,
  ready = true,
  onSubmit,
  beside,
  after,
  children,
}: {
  /** aria-label of the form. */
  label: string;
  /** The form's useAction(): busy state and the server's refusal. */
  action: { busy: boolean; failure: Refusal | null };
  /** The submit button's text. */
  submit: string;
  /** Server field names the form's inputs claim (the rest shows in Failure). */
  fields: string[];
  /** The refusal to show when the screen reshapes `action.failure` first. */
  failure?: Refusal | null;
  /** False while the form cannot be sent yet (nothing chosen). */
  ready?: boolean;
  onSubmit: () => void | Promise<void>;
  /** Controls right after the submit button (Cancel). */
  beside?: ComponentChildren;
  /** What follows the refusal (a notice of what was done). */
  after?: ComponentChildren;
  children: ComponentChildren;
}) {
  const { canWrite } = useSession();
  return (
    <form
      class="inline-form"
      aria-label={label}
      onSubmit={(e) => {
        e.preventDefault();
        void onSubmit();
      }}
    >
      {children}
      <button type="submit" disabled={!canWrite || !ready || action.busy}>
        {submit}
      </button>
      {beside}
      <Failure failure={failure === undefined ? action.failure : failure} fields={fields} />
      {after}
    </form>
  );
}
