import { useState } from "preact/hooks";
import { ErrorNote, Pending, useAction } from "../components";
import { dataApi } from "../data-api";
import { bytes } from "../format";
import { PageButtons, usePagedLoad } from "../paging";
import { ProjectDataPage } from "../project-data";
import type { PageProps } from "../routes";

/** A project's drives, and one drive's files: listed by prefix and paged, uploaded, downloaded, deleted. */
export function DrivePage(props: PageProps) {
  const project = props.params.id ?? "";
  return (
    <ProjectDataPage
      project={project}
      noun="drive"
      load={() => dataApi.drives(project)}
      empty="No drive yet: a drive is made by its first file."
      label={(drive) => `${drive.name} (${drive.files}, ${bytes(drive.bytes)})`}
    >
      {(drive, reload) => <DriveFiles key={drive} project={project} drive={drive} onChange={reload} />}
    </ProjectDataPage>
  );
}

function DriveFiles(props: { project: string; drive: string; onChange: () => void }) {
  const { project, drive } = props;
  const [draftPrefix, setDraftPrefix] = useState("");
  const [prefix, setPrefix] = useState("");
  const [loaded, paging] = usePagedLoad((start) => dataApi.files(project, drive, prefix, start), prefix);
  const [file, setFile] = useState<File>();
  const [name, setName] = useState("");
  const action = useAction();
  const changed = () => {
    paging.refresh();
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
          paging.first();
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
            <PageButtons paging={paging} last={page.last} />
          </>
        )}
      </Pending>
    </section>
  );
}
