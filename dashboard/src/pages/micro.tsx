import { api, type MicroView } from "../api";
import { Pending, Section, useLoad } from "../components";
import { ago, bytes, localTime } from "../format";
import { ApiKeysSection } from "../micro/api-keys";
import { CronSection } from "../micro/cron";
import { DeleteSection } from "../micro/delete";
import { EnvSection } from "../micro/env-vars";
import { LimitsSection } from "../micro/limits";
import { ReleasesSection } from "../micro/releases";
import { MicroTabs } from "../micro-head";
import { Link } from "../router";
import type { PageProps } from "../routes";

/** While the page is open it follows the micro waking and sleeping. */
const REFRESH_MS = 10_000;

/** One micro: what it runs, and everything that can be changed without a deploy. */
export function MicroPage(props: PageProps) {
  const id = props.params.id ?? "";
  const [loaded, reload] = useLoad(() => api.micro(id), id, REFRESH_MS);
  return (
    <Pending loaded={loaded}>
      {(micro) => {
        document.title = `${micro.name} · Micros`;
        return (
          <>
            <p class="breadcrumb">
              <Link href="/">Micros</Link> / {micro.project}
            </p>
            <div class="page-head">
              <h1>{micro.name}</h1>
            </div>
            <MicroTabs micro={micro} />
            <div class="grid">
              <Overview micro={micro} />
              <ReleasesSection micro={micro} onChange={reload} />
              <EnvSection micro={micro} onChange={reload} />
              <LimitsSection micro={micro} onChange={reload} />
              <CronSection micro={micro} onChange={reload} />
              <ApiKeysSection micro={micro} onChange={reload} />
            </div>
            <DeleteSection micro={micro} />
          </>
        );
      }}
    </Pending>
  );
}

function Overview(props: { micro: MicroView }) {
  const { micro } = props;
  return (
    <Section title="Overview">
      <dl class="facts">
        <dt>Endpoint</dt>
        <dd>
          <a href={micro.endpoint} target="_blank" rel="noopener noreferrer" data-testid="endpoint">
            {micro.endpoint}
          </a>
        </dd>
        <dt>Runtime</dt>
        <dd>{micro.runtime}</dd>
        <dt>Release</dt>
        <dd data-testid="release">
          {micro.release
            ? `v${micro.release.version}, deployed ${ago(micro.release.createdAt)} (${bytes(micro.release.codeBytes)}, ${micro.release.fileCount} file${micro.release.fileCount === 1 ? "" : "s"}, ${micro.release.install})`
            : "none yet: deploy with `micros deploy`"}
        </dd>
        <dt>State</dt>
        <dd>
          {micro.instances.length === 0 ? (
            <span class="badge">asleep</span>
          ) : (
            micro.instances.map((instance) => (
              <div key={instance.id}>
                <span class="badge good">{instance.state}</span> {instance.id} ({instance.release}, {instance.inFlight}{" "}
                in flight, since {ago(instance.startedAt)})
              </div>
            ))
          )}
          {micro.startFailures && (
            <p class="error">
              {micro.startFailures.count} failed starts; next try {ago(micro.startFailures.retryAt)}:{" "}
              {micro.startFailures.lastError}
            </p>
          )}
        </dd>
        <dt>Sandbox</dt>
        <dd>{micro.sandbox}</dd>
        <dt>Created</dt>
        <dd>{localTime(micro.createdAt)}</dd>
      </dl>
    </Section>
  );
}
