import { useState } from "preact/hooks";
import { ErrorNote, Pending, useAction } from "../components";
import { dataApi } from "../data-api";
import { PageButtons, usePagedLoad } from "../paging";
import { ProjectDataPage } from "../project-data";
import type { PageProps } from "../routes";

type Item = Record<string, unknown>;
type Editing = { mode: "add" } | { mode: "edit"; item: Item };

/** A project's bases, and one base's items: queried, paged, edited, added and deleted. */
export function BasePage(props: PageProps) {
  const project = props.params.id ?? "";
  return (
    <ProjectDataPage
      project={project}
      noun="base"
      load={() => dataApi.bases(project)}
      empty="No base yet: a base is made by its first item."
      label={(base) => `${base.name} (${base.items})`}
    >
      {(base, reload) => <BaseItems key={base} project={project} base={base} onChange={reload} />}
    </ProjectDataPage>
  );
}

function BaseItems(props: { project: string; base: string; onChange: () => void }) {
  const { project, base } = props;
  const [draftQuery, setDraftQuery] = useState("[]");
  // The query and page that are shown.
  const [query, setQuery] = useState("[]");
  const [loaded, paging] = usePagedLoad((start) => dataApi.items(project, base, query, start), query);
  const [editing, setEditing] = useState<Editing>();
  const action = useAction();
  const changed = () => {
    paging.refresh();
    props.onChange();
  };
  const remove = (key: string) =>
    action.run(() => dataApi.deleteItem(project, base, key)).then((done) => done && changed());
  return (
    <section aria-label={`Base ${base}`}>
      <form
        class="inline query"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery(draftQuery.trim() || "[]");
          paging.first();
          paging.refresh();
        }}
      >
        <input
          class="mono grow"
          aria-label="Query"
          placeholder='[{"age?gt": 30}]'
          value={draftQuery}
          onInput={(event) => setDraftQuery(event.currentTarget.value)}
        />
        <button type="submit">Query</button>
        <button type="button" class="secondary" onClick={() => setEditing({ mode: "add" })}>
          Add item
        </button>
      </form>
      {editing && (
        <ItemEditor
          key={editing.mode === "edit" ? String(editing.item.key) : "new"}
          editing={editing}
          onCancel={() => setEditing(undefined)}
          onSave={async (item) => {
            if (editing.mode === "add") await dataApi.addItem(project, base, item);
            else await dataApi.putItem(project, base, item);
            setEditing(undefined);
            changed();
          }}
        />
      )}
      <Pending loaded={loaded}>
        {(page) => (
          <>
            {page.items.length === 0 ? (
              <p class="muted">No items{query !== "[]" ? " match the query" : ""}.</p>
            ) : (
              <table class="list items">
                <thead>
                  <tr>
                    <th>Key</th>
                    <th>Item</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((item) => {
                    const key = String(item.key);
                    const { key: _key, ...rest } = item;
                    return (
                      <tr key={key} data-item={key}>
                        <td class="mono nowrap">{key}</td>
                        {/* Stored values are shown as JSON text, never as markup. */}
                        <td>
                          <pre class="item-json">{JSON.stringify(rest, null, 1)}</pre>
                        </td>
                        <td class="nowrap">
                          <button type="button" class="secondary" onClick={() => setEditing({ mode: "edit", item })}>
                            Edit
                          </button>{" "}
                          <button type="button" class="secondary" disabled={action.busy} onClick={() => remove(key)}>
                            Delete
                          </button>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
            <PageButtons paging={paging} last={page.last} />
          </>
        )}
      </Pending>
      <ErrorNote error={action.error} />
    </section>
  );
}

/** The item as JSON, checked here first (an object with a string key) so a typo never reaches the server. */
function ItemEditor(props: { editing: Editing; onCancel: () => void; onSave: (item: Item) => Promise<void> }) {
  const { editing } = props;
  const [text, setText] = useState(() =>
    editing.mode === "edit" ? JSON.stringify(editing.item, null, 2) : '{\n  "key": "",\n  "name": ""\n}',
  );
  const [problem, setProblem] = useState<string>();
  const action = useAction();
  const save = (event: Event) => {
    event.preventDefault();
    let item: unknown;
    try {
      item = JSON.parse(text);
    } catch (err) {
      setProblem(`Not valid JSON: ${(err as Error).message}`);
      return;
    }
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      setProblem("An item is a JSON object.");
      return;
    }
    const object = item as Item;
    if (editing.mode === "edit" && object.key !== editing.item.key) {
      setProblem(`The key stays ${JSON.stringify(editing.item.key)}: add a new item for another key.`);
      return;
    }
    // A new item without a key (or with an empty one) gets a generated key.
    if (editing.mode === "add" && (object.key === "" || object.key === undefined)) delete object.key;
    else if (typeof object.key !== "string") {
      setProblem("The key is a string.");
      return;
    }
    setProblem(undefined);
    void action.run(() => props.onSave(object));
  };
  return (
    <form class="card editor" aria-label={editing.mode === "add" ? "New item" : "Edit item"} onSubmit={save}>
      <h3>{editing.mode === "add" ? "New item" : `Item ${String(editing.item.key)}`}</h3>
      <textarea
        class="mono"
        aria-label="Item JSON"
        rows={10}
        spellcheck={false}
        value={text}
        onInput={(event) => {
          setText(event.currentTarget.value);
          setProblem(undefined);
        }}
      />
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <ErrorNote error={action.error} />
      <p class="inline">
        <button type="submit" disabled={action.busy}>
          Save
        </button>
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </p>
    </form>
  );
}
