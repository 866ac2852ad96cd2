// Every update form sends an update_mask (AIP-134) naming only the fields the
// operator changed, so saving one thing never clobbers what someone else just
// edited, and saving what did not change sends nothing. The forms differ only
// in which fields they have and how each is read, so that is all they give.

/** Field path (as the server names it in update_mask) → its value, read in a comparable form. */
export type MaskReaders<T> = Record<string, (v: T) => unknown>;

/** JSON that also carries bigints (quota limits), so equal values compare equal. */
function comparable(v: unknown): string | undefined {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
}

/**
 * Which of `paths` (all the readers' by default, in the readers' order)
 * read differently from `before` and `after`. A path without a reader is a
 * bug in the form, not something to send: it throws.
 */
export function changedPaths<T>(
  readers: MaskReaders<T>,
  before: T,
  after: T,
  paths: readonly string[] = Object.keys(readers),
): string[] {
  return paths.filter((p) => {
    const read = readers[p];
    if (!read) throw new Error(`no field ${p} in this update mask`);
    return comparable(read(before)) !== comparable(read(after));
  });
}
