/** Pieces every page uses: loading what a page shows, and saying what went wrong. */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";

export type Loaded<T> =
  | { state: "loading" }
  | { state: "error"; error: ApiError }
  | { state: "ready"; value: T; reloading: boolean };

function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, "ERR_INTERNAL", String(err));
}

/**
 * Loads what a page shows, again whenever `key` changes and when `reload()` is called (after a change), and every
 * `refreshMs` while the tab is visible. The previous value stays on screen while a reload runs.
 */
export function useLoad<T>(load: () => Promise<T>, key: string, refreshMs?: number): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  // `key` and `generation` decide when to load again.
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () => {
      setLoaded((previous) => (previous.state === "ready" ? { ...previous, reloading: true } : previous));
      loadRef.current().then(
        (value) => live && setLoaded({ state: "ready", value, reloading: false }),
        (err: unknown) => live && setLoaded({ state: "error", error: asApiError(err) }),
      );
    };
    run();
    if (refreshMs) {
      const tick = () => {
        timer = setTimeout(() => {
          if (!document.hidden) run();
          tick();
        }, refreshMs);
      };
      tick();
    }
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key, generation, refreshMs]);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return [loaded, reload];
}

/** Runs a change (a button's action), tracking that it runs and what went wrong. */
export function useAction(): {
  busy: boolean;
  error: ApiError | undefined;
  run: (action: () => Promise<unknown>) => Promise<boolean>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (err) {
      setError(asApiError(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: useCallback(() => setError(undefined), []) };
}

export function ErrorNote(props: { error: ApiError | undefined }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {props.error.message} <span class="code">{props.error.code}</span>
    </p>
  );
}

/** The page's state while it has nothing to show yet, or could not load. */
export function Pending<T>(props: { loaded: Loaded<T>; children: (value: T) => ComponentChildren }) {
  const { loaded } = props;
  if (loaded.state === "loading") return <p class="muted">Loading…</p>;
  if (loaded.state === "error") return <ErrorNote error={loaded.error} />;
  return <>{props.children(loaded.value)}</>;
}

export function Section(props: { title: string; id?: string; children: ComponentChildren }) {
  return (
    <section class="card" id={props.id} aria-label={props.title}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}
