import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { type Refusal, refusal } from "../api/errors";

export interface Loaded<T> {
  data: T | undefined;
  error: Refusal | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when `deps` change (and on `reload`), keeping the last data
 * while a reload is in flight; an answer to an older request is dropped.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Refusal | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    load().then(
      (d) => {
        if (mine !== seq.current) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e) => {
        if (mine !== seq.current) return;
        setError(refusal(e));
        setLoading(false);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/** Calls `reload` every `ms` while the page is visible. */
function usePoll(reload: () => void, ms: number): void {
  useEffect(() => {
    const id = setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, ms);
    return () => clearInterval(id);
  }, [reload, ms]);
}

/**
 * [`useLoad`], reloaded every `ms` while the page is visible. At most one
 * request is in flight: a poll that finds the last one still running skips
 * its turn, so a slow server is not asked ever more often, and a newer
 * request never keeps discarding an older one's answer.
 */
export function usePolledLoad<T>(load: () => Promise<T>, deps: unknown[], ms: number): Loaded<T> {
  const loaded = useLoad(load, deps);
  const busy = useRef(loaded.loading);
  busy.current = loaded.loading;
  const { reload } = loaded;
  const poll = useCallback(() => {
    if (!busy.current) reload();
  }, [reload]);
  usePoll(poll, ms);
  return loaded;
}

/**
 * A write: `run` sets busy while it is in flight and keeps the server's
 * refusal for the form to show beside its fields.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Refusal | null>(null);
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setFailure(null);
    try {
      return await action();
    } catch (e) {
      setFailure(refusal(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, failure, run, clear: () => setFailure(null) };
}

/**
 * A form's inputs as one state object, begun from `initial` (read on the
 * first render only). One object rather than a `useState` per input, so a
 * new input is one more key, not a state, a setter and a line in every
 * reset. `set(key)` gives that input's `onValue` (the same function on
 * every render); `reset()` puts every input back to `initial`, and
 * `reset(...keys)` only those (a form that keeps, say, the role chosen for
 * the next one).
 */
export function useFormState<T extends object>(
  initial: T,
): [T, <K extends keyof T>(key: K) => (value: T[K]) => void, (...keys: (keyof T)[]) => void] {
  const [form, setForm] = useState<T>(initial);
  const first = useRef(initial);
  const setters = useRef(new Map<keyof T, (value: never) => void>());
  const set = useCallback(<K extends keyof T>(key: K): ((value: T[K]) => void) => {
    let s = setters.current.get(key) as ((value: T[K]) => void) | undefined;
    if (!s) {
      s = (value: T[K]) => setForm((f) => ({ ...f, [key]: value }));
      setters.current.set(key, s as (value: never) => void);
    }
    return s;
  }, []);
  const reset = useCallback((...keys: (keyof T)[]) => {
    const start = first.current;
    if (keys.length === 0) {
      setForm(start);
      return;
    }
    setForm((f) => {
      const next = { ...f };
      for (const k of keys) next[k] = start[k];
      return next;
    });
  }, []);
  return [form, set, reset];
}
