// Some refusals name a spot inside a field's value (`policy.Statement[0].Effect`,
// `method.integration.cache_key_parameters[2]`, `…mock.headers.x-a`): the
// form has one input for the whole value, so those are shown beside it.
import { Code } from "@connectrpc/connect";
import type { Refusal } from "../api/errors";

/**
 * The refusal with every field under one of `fields` (`name.…` or
 * `name[…]`, after any request prefix such as `method.`) renamed to that
 * field, the inner part kept at the start of the reason.
 */
export function foldInto(r: Refusal | null, fields: string[]): Refusal | null {
  if (!r) return r;
  const out: Record<string, string> = {};
  let changed = false;
  for (const [path, reason] of Object.entries(r.fields)) {
    let target: string | null = null;
    let inner = "";
    for (const f of fields) {
      for (const sep of [".", "["]) {
        const at = path === f ? -1 : path.startsWith(f + sep) ? 0 : path.indexOf(`.${f}${sep}`);
        if (at < 0) continue;
        const start = at === 0 ? 0 : at + 1;
        target = path.slice(0, start + f.length);
        inner = path.slice(start + f.length + (sep === "." ? 1 : 0));
        break;
      }
      if (target) break;
    }
    if (target) {
      out[target] = `${inner}: ${reason}`;
      changed = true;
    } else {
      out[path] = reason;
    }
  }
  return changed ? { ...r, fields: out } : r;
}

/**
 * An AlreadyExists refusal whose message names `field` (a value another
 * object already has, e.g. "... given in key.value already exists") put on
 * that field: only InvalidArgument carries field paths, yet the operator
 * has to change that input.
 */
export function existsOn(r: Refusal | null, field: string): Refusal | null {
  if (!r || r.code !== Code.AlreadyExists || !new RegExp(`\\b${field}\\b`).test(r.message)) return r;
  return { ...r, fields: { [field]: r.message } };
}
