import { useMemo, useState } from "preact/hooks";
import { api, type MicroView, type RequestSummaryView } from "../api";
import { Pending, useLoad } from "../components";
import { ago } from "../format";
import { Link } from "../router";
import type { PageProps } from "../routes";

/** While the list is open it follows what changes (micros waking and sleeping, requests). */
const REFRESH_MS = 10_000;

interface Listing {
  micros: MicroView[];
  summary: RequestSummaryView["micros"];
}

async function loadListing(): Promise<Listing> {
  const [micros, summary] = await Promise.all([api.micros(), api.requestSummary(60)]);
  return { micros, summary: summary.micros };
}

/** Every micro of the signed-in user at a glance. */
export function MicrosPage(_props: PageProps) {
  const [loaded] = useLoad(loadListing, "micros", REFRESH_MS);
  const [filter, setFilter] = useState("");
  document.title = "Micros";
  return (
    <>
      <div class="page-head">
        <h1>Micros</h1>
        <input
          type="search"
          class="filter"
          placeholder="Filter by name or project"
          aria-label="Filter micros"
          value={filter}
          onInput={(event) => setFilter(event.currentTarget.value)}
        />
      </div>
      <Pending loaded={loaded}>{(listing) => <MicroTable listing={listing} filter={filter} />}</Pending>
    </>
  );
}

function MicroTable(props: { listing: Listing; filter: string }) {
  const { micros, summary } = props.listing;
  const wanted = props.filter.trim().toLowerCase();
  // Rows that do not match are hidden rather than removed: a keystroke then changes an attribute per row, and no
  // row is made again when the filter is cleared (500 rows stay responsive).
  const matches = useMemo(() => {
    const matching = new Set<string>();
    for (const micro of micros) {
      if (!wanted || micro.name.includes(wanted) || micro.project.includes(wanted)) matching.add(micro.id);
    }
    return matching;
  }, [micros, wanted]);
  if (micros.length === 0) {
    return (
      <div class="card empty">
        <p>No micros yet. Create one from an app's folder with the CLI:</p>
        <pre>micros new</pre>
      </div>
    );
  }
  const now = Date.now();
  return (
    <>
      <p class="muted">
        {matches.size === micros.length ? `${micros.length} micros` : `${matches.size} of ${micros.length} micros`}
        {" · requests and errors (5xx) in the last hour"}
      </p>
      <table class="list" data-testid="micros">
        <thead>
          <tr>
            <th>Name</th>
            <th>Project</th>
            <th>Runtime</th>
            <th>Release</th>
            <th>State</th>
            <th class="num">Requests</th>
            <th class="num">Errors</th>
            <th>Last deploy</th>
          </tr>
        </thead>
        <tbody>
          {micros.map((micro) => (
            <MicroRow
              key={micro.id}
              micro={micro}
              traffic={summary[micro.id]}
              now={now}
              hidden={!matches.has(micro.id)}
            />
          ))}
        </tbody>
      </table>
    </>
  );
}

function MicroRow(props: {
  micro: MicroView;
  traffic: { requests: number; errors: number } | undefined;
  now: number;
  hidden: boolean;
}) {
  const { micro, traffic } = props;
  const awake = micro.instances.length;
  return (
    <tr data-micro={micro.name} hidden={props.hidden}>
      <td>
        <Link href={`/micros/${micro.id}`}>{micro.name}</Link>
      </td>
      <td>{micro.project}</td>
      <td>{micro.runtime}</td>
      <td>{micro.release ? `v${micro.release.version}` : <span class="muted">none</span>}</td>
      <td>
        {micro.startFailures ? (
          <span class="badge bad">failing</span>
        ) : awake ? (
          <span class="badge good">awake ({awake})</span>
        ) : (
          <span class="badge">asleep</span>
        )}
      </td>
      <td class="num">{traffic?.requests ?? 0}</td>
      <td class={traffic?.errors ? "num bad-text" : "num"}>{traffic?.errors ?? 0}</td>
      <td>{micro.release ? ago(micro.release.createdAt, props.now) : <span class="muted">never</span>}</td>
    </tr>
  );
}
