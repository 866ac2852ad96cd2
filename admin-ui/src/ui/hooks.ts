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
