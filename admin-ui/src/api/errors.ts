// A refusal from the admin API, shaped for forms: the message of each field
// the server named (from google.rpc.BadRequest details, or from the
// "field: reason" message InvalidArgument carries), and the rest.
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../gen/google/rpc/bad_request_pb";

export interface Refusal {
  code: Code;
  /** The whole message, as the server wrote it. */
  message: string;
  /** Field path (as the server names it) → reason. */
  fields: Record<string, string>;
}

/**
 * A refusal made in the browser for input the server could not even receive
 * (a number that is not one), shaped exactly as the server's InvalidArgument
 * ("field: reason", the field under the path the server would name), so the
 * form shows it beside the same input.
 */
export function invalidField(field: string, reason: string): Refusal {
  return { code: Code.InvalidArgument, message: `${field}: ${reason}`, fields: { [field]: reason } };
}

/** A local refusal thrown out of a request builder; `refusal()` gives it back unchanged. */
export class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

export function refusal(err: unknown): Refusal {
  if (err instanceof Refused) return err.refusal;
  const e = ConnectError.from(err);
  const fields: Record<string, string> = {};
  for (const detail of e.findDetails(BadRequestSchema)) {
    for (const v of detail.fieldViolations) fields[v.field] = v.description;
  }
  const message = e.rawMessage;
  if (Object.keys(fields).length === 0 && e.code === Code.InvalidArgument) {
    const m = /^([A-Za-z0-9_.[\]\-]+): (.+)$/s.exec(message);
    if (m) fields[m[1]] = m[2];
  }
  return { code: e.code, message, fields };
}

/**
 * The reason given for a form field, matched by its name or as the last
 * segment(s) of the server's path (`path_part` matches `resource.path_part`).
 */
export function fieldError(r: Refusal | null | undefined, ...names: string[]): string | undefined {
  if (!r) return undefined;
  for (const [path, reason] of Object.entries(r.fields)) {
    for (const name of names) {
      if (path === name || path.endsWith(`.${name}`)) return `${path}: ${reason}`;
    }
  }
  return undefined;
}

/** Whether any of the refusal's fields is claimed by one of `names` (else show it at the top). */
export function claimed(r: Refusal, names: string[]): boolean {
  const paths = Object.keys(r.fields);
  return (
    paths.length > 0 &&
    paths.every((p) => names.some((n) => p === n || p.endsWith(`.${n}`)))
  );
}

export function codeName(code: Code): string {
  return Code[code] ?? String(code);
}
