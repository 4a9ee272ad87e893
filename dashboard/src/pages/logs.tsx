import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import { ErrorNote } from "../components";
import { followLogs, type LogView } from "../data-api";
import { localTime } from "../format";
import { MicroPageFrame } from "../micro-head";
import type { PageProps } from "../routes";

/** What the page keeps: a busy micro prints more than anyone reads here (`micros logs` has the rest). */
const KEPT_LINES = 5000;
/** A follow the server ended (a restart, a proxy's timeout) is taken up again after this long. */
const RECONNECT_MS = 2000;

type Following = { state: "connecting" } | { state: "following" } | { state: "stopped"; error: ApiError };

/** A micro's logs: the recent lines, then each new one as the micro prints it, while the page is open. */
export function LogsPage(props: PageProps) {
  const id = props.params.id ?? "";
  return (
    <MicroPageFrame id={id} title="logs">
      {() => <LiveLogs id={id} />}
    </MicroPageFrame>
  );
}

function LiveLogs(props: { id: string }) {
  const [lines, setLines] = useState<LogView[]>([]);
  const [following, setFollowing] = useState<Following>({ state: "connecting" });
  const [filter, setFilter] = useState("");

  useEffect(() => {
    // Leaving the page aborts the stream, which ends the server's follow.
    const ac = new AbortController();
    let lastId = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const follow = () => {
      setFollowing({ state: "connecting" });
      followLogs(
        props.id,
        (batch) => {
          setFollowing({ state: "following" });
          // After a reconnect the backlog repeats lines already shown.
          const fresh = batch.filter((line) => line.id > lastId);
          if (fresh.length === 0) return;
          lastId = fresh[fresh.length - 1]?.id ?? lastId;
          setLines((previous) => [...previous, ...fresh].slice(-KEPT_LINES));
        },
        ac.signal,
      ).then(
        () => {
          if (ac.signal.aborted) return;
          setFollowing({ state: "connecting" });
          timer = setTimeout(follow, RECONNECT_MS);
        },
        (err: unknown) => {
          if (ac.signal.aborted) return;
          const error = err instanceof ApiError ? err : new ApiError(0, "ERR_SERVER_UNREACHABLE", String(err));
          setFollowing({ state: "stopped", error });
          // An answer of the API (no such micro, signed out) will not change by asking again.
          if (error.status === 0) timer = setTimeout(follow, RECONNECT_MS);
        },
      );
    };
    follow();
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, [props.id]);

  const needle = filter.trim().toLowerCase();
  const shown = needle
    ? lines.filter((line) => `${line.source} ${line.instance ?? ""} ${line.message}`.toLowerCase().includes(needle))
    : lines;
  return (
    <section class="card" aria-label="Logs">
      <div class="inline">
        <input
          class="filter"
          aria-label="Filter"
          placeholder="filter: text, stderr, an instance"
          value={filter}
          onInput={(event) => setFilter(event.currentTarget.value)}
        />
        <span class="muted" data-testid="follow-state">
          {following.state === "following" ? "following" : following.state === "connecting" ? "connecting…" : "stopped"}
          {" · "}
          {needle ? `${shown.length} of ${lines.length} lines` : `${lines.length} lines`}
        </span>
      </div>
      {following.state === "stopped" && <ErrorNote error={following.error} />}
      {shown.length === 0 ? (
        <p class="muted">{lines.length === 0 ? "Nothing logged yet." : "No line matches the filter."}</p>
      ) : (
        <table class="log-lines">
          <tbody>
            {shown.map((line) => (
              <tr key={line.id} data-source={line.source}>
                <td class="nowrap muted">{localTime(line.time)}</td>
                <td>
                  <span class={`badge source-${line.source}`}>{line.source}</span>
                </td>
                <td class="nowrap muted mono">{line.instance ?? ""}</td>
                {/* The micro's own text: a text node, never markup. */}
                <td class="log-message">{line.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
