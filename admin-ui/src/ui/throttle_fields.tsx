// A throttle (AWS's rate and burst) is edited as the same two inputs
// wherever it appears: the plan's own and each method's in a plan. The
// server names a bad one as `<throttle>.rate_limit` / `.burst_limit`, or
// the whole `<throttle>` (burst without a rate, say): the rate input
// answers for the whole throttle.
import type { Refusal } from "../api/errors";
import { Field } from "./form";

export function ThrottleFields({
  at,
  rateLabel,
  burstLabel,
  failure,
  rate,
  burst,
  onRate,
  onBurst,
  disabled,
  hint,
  size,
}: {
  /** The server's path of the Throttle message, e.g. `plan.throttle`. */
  at: string;
  rateLabel: string;
  burstLabel: string;
  failure: Refusal | null;
  rate: string;
  burst: string;
  onRate: (v: string) => void;
  onBurst: (v: string) => void;
  disabled: boolean;
  /** Shown under the rate input, e.g. what an empty one means. */
  hint?: string;
  /** Width of both inputs in characters, for rows of many inputs. */
  size?: number;
}) {
  return (
    <>
      <Field
        label={rateLabel}
        names={[`${at}.rate_limit`, at]}
        failure={failure}
        value={rate}
        onValue={onRate}
        inputMode="decimal"
        disabled={disabled}
        hint={hint}
        size={size}
      />
      <Field
        label={burstLabel}
        names={[`${at}.burst_limit`]}
        failure={failure}
        value={burst}
        onValue={onBurst}
        inputMode="numeric"
        disabled={disabled}
        size={size}
      />
    </>
  );
}
