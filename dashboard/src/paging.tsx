/** Paging through a list the server gives a page at a time, each page ending with the key the next one starts after. */
import { useState } from "preact/hooks";
import { type Loaded, useLoad } from "./components";

export type Paging = {
  /** Where the page shown begins (undefined: the first page). */
  start: string | undefined;
  /** The page's number, from 1. */
  number: number;
  /** Counts `refresh()` calls: part of the load's key, so the same page is read again. */
  generation: number;
  next: (last: string) => void;
  previous: () => void;
  /** Back to the first page (for a new query or prefix). */
  first: () => void;
  refresh: () => void;
};

function usePaging(): Paging {
  // Where each page read so far began.
  const [pages, setPages] = useState<(string | undefined)[]>([undefined]);
  const [generation, setGeneration] = useState(0);
  return {
    start: pages[pages.length - 1],
    number: pages.length,
    generation,
    next: (last) => setPages([...pages, last]),
    previous: () => setPages(pages.slice(0, -1)),
    first: () => setPages([undefined]),
    refresh: () => setGeneration((n) => n + 1),
  };
}

/**
 * Loads the page shown of a list narrowed by `filter` (a query, a prefix): again when the filter or the page changes,
 * and on `paging.refresh()`. A new filter starts at `paging.first()`.
 */
export function usePagedLoad<T>(load: (start: string | undefined) => Promise<T>, filter: string): [Loaded<T>, Paging] {
  const paging = usePaging();
  const [loaded] = useLoad(() => load(paging.start), `${filter}\u0000${paging.start ?? ""}\u0000${paging.generation}`);
  return [loaded, paging];
}

/** Previous and next page buttons, and the page's number; `last` is null on the last page. */
export function PageButtons(props: { paging: Paging; last: string | null }) {
  const { paging, last } = props;
  return (
    <p class="inline">
      <button type="button" class="secondary" disabled={paging.number === 1} onClick={paging.previous}>
        Previous page
      </button>
      <button
        type="button"
        class="secondary"
        disabled={last === null}
        onClick={() => last !== null && paging.next(last)}
      >
        Next page
      </button>
      <span class="muted">page {paging.number}</span>
    </p>
  );
}
