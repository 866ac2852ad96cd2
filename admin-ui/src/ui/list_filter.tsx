// Every list screen filters what it already fetched (all pages, client-side)
// and says how many of how many it shows; this is that filter box, its
// status line and the hook that keeps the filtered list, written once.
import type { ComponentChildren } from "preact";
import { useMemo, useState } from "preact/hooks";
import type { Loaded } from "./hooks";

/**
 * `list` narrowed to the items `match` accepts for the filter text (trimmed
 * and lower-cased; an empty filter keeps everything). `match` is read on
 * each change of `list` or the filter, not watched: pass what it depends
 * on in `deps` (a name lookup, say).
 */
export function useFiltered<T>(
  list: readonly T[] | undefined,
  match: (item: T, filter: string) => boolean,
  deps: unknown[] = [],
) {
  const [filter, setFilter] = useState("");
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const all = list ?? [];
    return f ? all.filter((item) => match(item, f)) : all;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [list, filter, ...deps]);
  return { filter, setFilter, shown };
}

/** "Loading…" before the first answer, then "N of M things". */
export function countStatus(loaded: Loaded<readonly unknown[]>, shown: number, noun: string): string {
  return loaded.loading && !loaded.data ? "Loading…" : `${shown} of ${loaded.data?.length ?? 0} ${noun}`;
}

/** The filter input (labelled "Filter") and the count it leaves, announced as it changes. */
export function ListFilter({
  id,
  placeholder,
  filter,
  onFilter,
  children,
}: {
  /** The input's id (the label points at it). */
  id: string;
  placeholder: string;
  filter: string;
  onFilter: (text: string) => void;
  /** The status line: usually `countStatus(...)`. */
  children: ComponentChildren;
}) {
  return (
    <div class="toolbar">
      <label for={id}>Filter</label>
      <input
        id={id}
        type="search"
        value={filter}
        placeholder={placeholder}
        onInput={(e) => onFilter((e.target as HTMLInputElement).value)}
      />
      <span role="status" class="muted">
        {children}
      </span>
    </div>
  );
}
