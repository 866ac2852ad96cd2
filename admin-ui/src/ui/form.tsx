// Form pieces that put the server's refusal beside the field it names.
// Every input has a visible label; an error is announced (role=alert) and
// tied to its input with aria-describedby / aria-invalid.
import type { ComponentChildren, JSX } from "preact";
import { useId } from "preact/hooks";
import { type Refusal, claimed, codeName, fieldError } from "../api/errors";

interface FieldProps extends Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "name"> {
  label: string;
  /** Server field names this input answers for (`path_part` matches `resource.path_part`). */
  names: string[];
  failure?: Refusal | null;
  value: string;
  onValue: (v: string) => void;
  hint?: string;
}

export function Field({ label, names, failure, value, onValue, hint, ...rest }: FieldProps) {
  const id = useId();
  const error = fieldError(failure, ...names);
  const described = [error ? `${id}-err` : "", hint ? `${id}-hint` : ""].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={names[0]}
        value={value}
        onInput={(e) => onValue((e.target as HTMLInputElement).value)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={described || undefined}
        {...rest}
      />
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
      {error && (
        <p id={`${id}-err`} class="field-error" role="alert" data-field={names[0]}>
          {error}
        </p>
      )}
    </div>
  );
}

interface AreaProps extends Omit<JSX.TextareaHTMLAttributes<HTMLTextAreaElement>, "name"> {
  label: string;
  names: string[];
  failure?: Refusal | null;
  value: string;
  onValue: (v: string) => void;
}

export function Area({ label, names, failure, value, onValue, ...rest }: AreaProps) {
  const id = useId();
  const error = fieldError(failure, ...names);
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <textarea
        id={id}
        name={names[0]}
        value={value}
        onInput={(e) => onValue((e.target as HTMLTextAreaElement).value)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? `${id}-err` : undefined}
        {...rest}
      />
      {error && (
        <p id={`${id}-err`} class="field-error" role="alert" data-field={names[0]}>
          {error}
        </p>
      )}
    </div>
  );
}

interface SelectProps {
  label: string;
  names: string[];
  failure?: Refusal | null;
  value: string;
  onValue: (v: string) => void;
  options: Array<[value: string, label: string]>;
  disabled?: boolean;
}

export function Select({ label, names, failure, value, onValue, options, disabled }: SelectProps) {
  const id = useId();
  const error = fieldError(failure, ...names);
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select
        id={id}
        name={names[0]}
        value={value}
        disabled={disabled}
        onChange={(e) => onValue((e.target as HTMLSelectElement).value)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? `${id}-err` : undefined}
      >
        {options.map(([v, l]) => (
          <option value={v} key={v}>
            {l}
          </option>
        ))}
      </select>
      {error && (
        <p id={`${id}-err`} class="field-error" role="alert" data-field={names[0]}>
          {error}
        </p>
      )}
    </div>
  );
}

/** A checkbox with its label around it; `name` is the server field it sets. */
export function Checkbox({
  label,
  name,
  hint,
  checked,
  onChecked,
  disabled,
}: {
  label: string;
  name: string;
  hint?: string;
  checked: boolean;
  onChecked: (v: boolean) => void;
  disabled?: boolean;
}) {
  return (
    <div class="field check">
      <label>
        <input
          type="checkbox"
          name={name}
          checked={checked}
          disabled={disabled}
          onChange={(e) => onChecked((e.target as HTMLInputElement).checked)}
        />{" "}
        {label}
      </label>
      {hint && <small class="hint">{hint}</small>}
    </div>
  );
}

/**
 * A refusal no field of the form claims (permission, not found, conflict,
 * or a field the form has no input for), shown above the form.
 */
export function Failure({ failure, fields = [] }: { failure: Refusal | null; fields?: string[] }) {
  if (!failure || claimed(failure, fields)) return null;
  return (
    <p class="failure" role="alert">
      <strong>{codeName(failure.code)}</strong> {failure.message}
    </p>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

/** A heading and the count of what a page lists. */
export function PageHeader({ title, id, children }: { title: string; id?: string; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <h1 id={id}>{title}</h1>
      <div class="actions">{children}</div>
    </header>
  );
}
