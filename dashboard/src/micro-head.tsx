/**
 * The top of a micro's own pages (logs, visor): where it is, its name, and the tabs to its other pages, which the
 * micro's overview page shows too.
 */
import type { ComponentChildren } from "preact";
import { api, type MicroView } from "./api";
import { Pending, useLoad } from "./components";
import { Link } from "./router";

export function MicroPageFrame(props: {
  id: string;
  title: string;
  children: (micro: MicroView, reload: () => void) => ComponentChildren;
}) {
  const [loaded, reload] = useLoad(() => api.micro(props.id), props.id);
  return (
    <Pending loaded={loaded}>
      {(micro) => {
        document.title = `${micro.name} ${props.title} · Micros`;
        return (
          <>
            <p class="breadcrumb">
              <Link href="/">Micros</Link> / {micro.project} / <Link href={`/micros/${micro.id}`}>{micro.name}</Link>
            </p>
            <div class="page-head">
              <h1>
                {micro.name}: {props.title}
              </h1>
            </div>
            <MicroTabs micro={micro} />
            {props.children(micro, reload)}
          </>
        );
      }}
    </Pending>
  );
}

/** The micro's other pages: its logs and requests, and its project's data. */
export function MicroTabs(props: { micro: MicroView }) {
  const { micro } = props;
  const project = encodeURIComponent(micro.project);
  return (
    <nav class="tabs" aria-label="Micro">
      <Link href={`/micros/${micro.id}`}>Overview</Link>
      <Link href={`/micros/${micro.id}/logs`}>Logs</Link>
      <Link href={`/micros/${micro.id}/visor`}>Visor</Link>
      <Link href={`/projects/${project}/base`}>Base</Link>
      <Link href={`/projects/${project}/drive`}>Drive</Link>
    </nav>
  );
}
