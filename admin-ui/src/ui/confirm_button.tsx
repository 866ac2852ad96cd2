// Destructive actions ask first, then run through the screen's useAction
// (so its refusal shows where the screen shows it) and reload what changed.
// Every delete/remove button in a row did exactly this by hand.
import type { ComponentChildren } from "preact";
import { useSession } from "./context";

interface Action {
  busy: boolean;
  run: <T>(action: () => Promise<T>) => Promise<T | undefined>;
}

export function ConfirmButton({
  action,
  confirmText,
  run,
  onDone,
  label,
  title,
  class: cls = "danger",
  disabled = false,
  children = "Delete",
}: {
  /** The screen's useAction(): busy state and where a refusal goes. */
  action: Action;
  /** The question `confirm()` asks (a function when it costs something to work out); cancelling does nothing. */
  confirmText: string | (() => string);
  run: () => Promise<unknown>;
  /** After the server accepted (a refusal stays in `action.failure`). */
  onDone?: () => void;
  /** aria-label: which row's thing this button acts on (none when the text says it). */
  label?: string;
  title?: string;
  /** The button's class: "danger" (default), "secondary", "danger small". */
  class?: string;
  disabled?: boolean;
  children?: ComponentChildren;
}) {
  const { canWrite } = useSession();
  return (
    <button
      type="button"
      class={cls}
      disabled={!canWrite || disabled || action.busy}
      aria-label={label}
      title={title}
      onClick={async () => {
        if (!confirm(typeof confirmText === "function" ? confirmText() : confirmText)) return;
        if ((await action.run(run)) !== undefined) onDone?.();
      }}
    >
      {children}
    </button>
  );
}
