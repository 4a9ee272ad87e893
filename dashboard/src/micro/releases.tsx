import { api, type MicroView } from "../api";
import { ErrorNote, Pending, Section, useAction, useLoad } from "../components";
import { ago, bytes } from "../format";

/** The kept releases, newest first; any but the current one is a click away from serving again. */
export function ReleasesSection(props: { micro: MicroView; onChange: () => void }) {
  const { micro } = props;
  // Loaded again whenever the serving release changes (a deploy, a rollback).
  // The micro is loaded again first, so the list never marks a release serving before the page's overview does.
  const [loaded] = useLoad(() => api.releases(micro.id), `${micro.id}:${micro.release?.id}`);
  const action = useAction();
  const rollback = (version: number) =>
    action.run(async () => {
      await api.rollback(micro.id, `v${version}`);
      props.onChange();
    });
  return (
    <Section title="Releases" id="releases">
      <Pending loaded={loaded}>
        {(releases) =>
          releases.length === 0 ? (
            <p class="muted">No release yet.</p>
          ) : (
            <ul class="plain">
              {releases.map((release) => (
                <li key={release.id} data-release={`v${release.version}`}>
                  <strong>v{release.version}</strong>
                  <span class="grow muted">
                    {ago(release.createdAt)} · {bytes(release.codeBytes)} · {release.install}
                  </span>
                  {release.current ? (
                    <span class="badge good">serving</span>
                  ) : (
                    <button
                      type="button"
                      class="secondary"
                      disabled={action.busy}
                      onClick={() => rollback(release.version)}
                    >
                      Roll back to v{release.version}
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Pending>
      <ErrorNote error={action.error} />
    </Section>
  );
}
