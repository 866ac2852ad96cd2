// One method's throttle (resource path, HTTP method, rate, burst and a
// Remove button) is edited the same way in a usage plan's stage and in a
// stage's own throttling: this is that row, written once. The server names
// a bad row `<at>.resource_path`, `<at>.http_method`, `<at>.throttle.…` or
// the whole `<at>` (a duplicate, say): the path input answers for the row.
import type { Refusal } from "../api/errors";
import { Field } from "./form";
import { ThrottleFields } from "./throttle_fields";

export interface MethodThrottleValue {
  resourcePath: string;
  httpMethod: string;
  rate: string;
  burst: string;
}

export function MethodThrottleRow({
  at,
  n,
  value,
  onChange,
  onRemove,
  removeLabel,
  failure,
  disabled,
  compact,
}: {
  /** The server's path of this MethodThrottle/MethodSetting, e.g. `plan.api_stages[0].throttle[1]`. */
  at: string;
  /** Appended to each label to tell rows apart ("Resource path 1.2"); none when the group says it. */
  n?: string;
  value: MethodThrottleValue;
  onChange: (p: Partial<MethodThrottleValue>) => void;
  onRemove: () => void;
  /** The Remove button's accessible name. */
  removeLabel: string;
  failure: Refusal | null;
  disabled: boolean;
  /** Narrow inputs, for a row inside a fieldset of pairs. */
  compact?: boolean;
}) {
  const sfx = n ? ` ${n}` : "";
  return (
    <div class={compact ? "pair" : "row method-throttle"} role={n ? "group" : undefined} aria-label={n ? `Method throttle ${n}` : undefined}>
      <Field
        label={`Resource path${sfx}`}
        names={[`${at}.resource_path`, at]}
        failure={failure}
        value={value.resourcePath}
        onValue={(v) => onChange({ resourcePath: v })}
        placeholder="/pets/{petId} or *"
        disabled={disabled}
      />
      <Field
        label={`Method${sfx}`}
        names={[`${at}.http_method`]}
        failure={failure}
        value={value.httpMethod}
        onValue={(v) => onChange({ httpMethod: v })}
        placeholder="GET or *"
        disabled={disabled}
        size={compact ? 6 : undefined}
      />
      <ThrottleFields
        at={`${at}.throttle`}
        rateLabel={`Rate${sfx} (requests/s)`}
        burstLabel={`Burst${sfx}`}
        failure={failure}
        rate={value.rate}
        burst={value.burst}
        onRate={(v) => onChange({ rate: v })}
        onBurst={(v) => onChange({ burst: v })}
        disabled={disabled}
        size={compact ? 8 : undefined}
      />
      <button type="button" class="danger" disabled={disabled} aria-label={removeLabel} onClick={onRemove}>
        Remove
      </button>
    </div>
  );
}
