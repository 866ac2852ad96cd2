// Long lists (1,000 APIs, 10,000 keys) draw their first rows only: drawing
// them all blocks the page for hundreds of milliseconds, and the filter
// searches every row anyway. "Show more" draws the next ones on request.
import { useState } from "preact/hooks";

/** Rows drawn per step. */
const STEP = 1000;

/** The first `first` rows of `list` (more after each `more()`; back to `first` on `reset()`). */
export function useShowMore<T>(list: readonly T[], first: number) {
  const [limit, setLimit] = useState(first);
  return {
    shown: list.slice(0, limit),
    hidden: Math.max(0, list.length - limit),
    more: () => setLimit((l) => l + STEP),
    reset: () => setLimit(first),
  };
}

/** The button under a list that draws more of it; nothing when all is drawn. */
export function ShowMore({ hidden, onMore }: { hidden: number; onMore: () => void }) {
  if (hidden <= 0) return null;
  return (
    <p>
      <button type="button" class="secondary" onClick={onMore}>
        Show more ({hidden} not shown)
      </button>
    </p>
  );
}
