import { useState } from "preact/hooks";
import { ErrorNote, Pending, Section, useAction, useLoad } from "../components";
import { dataApi } from "../data-api";
import { bytes } from "../format";
import { Link } from "../router";
import type { PageProps } from "../routes";

/** A project's drives, and one drive's files: listed by prefix and paged, uploaded, downloaded, deleted. */
export function DrivePage(props: PageProps) {
  const project = props.params.id ?? "";
  const [loaded, reload] = useLoad(() => dataApi.drives(project), project);
  const [chosen, setChosen] = useState<string>();
  const [typed, setTyped] = useState("");
  document.title = `${project} Drive · Micros`;
  return (
    <>
      <p class="breadcrumb">
        <Link href="/">Micros</Link> / {project}
      </p>
      <div class="page-head">
        <h1>{project}: Drive</h1>
      </div>
      <nav class="tabs" aria-label="Project">
        <Link href={`/projects/${encodeURIComponent(project)}/base`}>Base</Link>
        <Link href={`/projects/${encodeURIComponent(project)}/drive`}>Drive</Link>
      </nav>
      <Section title="Drives">
        <Pending loaded={loaded}>
          {(drives) => {
            const current = chosen ?? drives[0]?.name;
            return (
              <>
                {drives.length === 0 && <p class="muted">No drive yet: a drive is made by its first file.</p>}
                <div class="inline">
                  {drives.map((drive) => (
                    <button
                      key={drive.name}
                      type="button"
                      class={drive.name === current ? "" : "secondary"}
                      aria-pressed={drive.name === current}
                      onClick={() => setChosen(drive.name)}
                    >
                      {drive.name} ({drive.files}, {bytes(drive.bytes)})
                    </button>
                  ))}
                  <form
                    class="inline"
                    onSubmit={(event) => {
                      event.preventDefault();
                      if (typed.trim()) setChosen(typed.trim());
                      setTyped("");
                    }}
                  >
                    <input
                      aria-label="Drive name"
                      placeholder="another drive"
                      value={typed}
                      onInput={(event) => setTyped(event.currentTarget.value)}
                    />
                    <button type="submit" class="secondary" disabled={!typed.trim()}>
                      Open
                    </button>
                  </form>
                </div>
                {current && <DriveFiles key={current} project={project} drive={current} onChange={reload} />}
              </>
            );
          }}
        </Pending>
      </Section>
    </>
  );
}

function DriveFiles(props: { project: string; drive: string; onChange: () => void }) {
  const { project, drive } = props;
  const [draftPrefix, setDraftPrefix] = useState("");
  const [prefix, setPrefix] = useState("");
  const [pages, setPages] = useState<(string | undefined)[]>([undefined]);
  const [generation, setGeneration] = useState(0);
  const start = pages[pages.length - 1];
  const [loaded] = useLoad(
    () => dataApi.files(project, drive, prefix, start),
    `${prefix}\u0000${start ?? ""}\u0000${generation}`,
  );
  const [file, setFile] = useState<File>();
  const [name, setName] = useState("");
  const action = useAction();
  const changed = () => {
    setGeneration((n) => n + 1);
    props.onChange();
  };
  const upload = (event: Event) => {
    event.preventDefault();
    const chosen = file;
    if (!chosen) return;
    void action
      .run(() => dataApi.upload(project, drive, chosen, name.trim() || chosen.name))
      .then((done) => {
        if (!done) return;
        setName("");
        changed();
      });
  };
  const remove = (fileName: string) =>
    action.run(() => dataApi.deleteFile(project, drive, fileName)).then((done) => done && changed());
  return (
    <section aria-label={`Drive ${drive}`}>
      <form class="inline upload" onSubmit={upload}>
        <input
          type="file"
          aria-label="File to upload"
          onChange={(event) => {
            const picked = event.currentTarget.files?.[0];
            setFile(picked);
            setName(picked?.name ?? "");
          }}
        />
        <input
          aria-label="Name in the drive"
          placeholder="name (folders with /)"
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
        />
        <button type="submit" disabled={action.busy || !file}>
          {action.busy ? "Uploading…" : "Upload"}
        </button>
      </form>
      <ErrorNote error={action.error} />
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          setPrefix(draftPrefix);
          setPages([undefined]);
        }}
      >
        <input
          class="filter"
          aria-label="Prefix"
          placeholder="prefix, e.g. images/"
          value={draftPrefix}
          onInput={(event) => setDraftPrefix(event.currentTarget.value)}
        />
        <button type="submit" class="secondary">
          List
        </button>
      </form>
      <Pending loaded={loaded}>
        {(page) => (
          <>
            {page.files.length === 0 ? (
              <p class="muted">No files{prefix ? ` under ${prefix}` : ""}.</p>
            ) : (
              <table class="list files">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th class="num">Size</th>
                    <th>Type</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {page.files.map((entry) => (
                    <tr key={entry.name} data-file={entry.name}>
                      <td class="mono">{entry.name}</td>
                      <td class="num">{bytes(entry.size)}</td>
                      <td class="muted">{entry.contentType}</td>
                      <td class="nowrap">
                        <a class="button-link" href={dataApi.fileUrl(project, drive, entry.name)} download>
                          Download
                        </a>{" "}
                        <button
                          type="button"
                          class="secondary"
                          disabled={action.busy}
                          onClick={() => remove(entry.name)}
                        >
                          Delete
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <p class="inline">
              <button
                type="button"
                class="secondary"
                disabled={pages.length === 1}
                onClick={() => setPages(pages.slice(0, -1))}
              >
                Previous page
              </button>
              <button
                type="button"
                class="secondary"
                disabled={page.last === null}
                onClick={() => page.last !== null && setPages([...pages, page.last])}
              >
                Next page
              </button>
              <span class="muted">page {pages.length}</span>
            </p>
          </>
        )}
      </Pending>
    </section>
  );
}
