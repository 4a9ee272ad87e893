import { useState } from "preact/hooks";
import { api, type MicroView } from "../api";
import { ErrorNote, Pending, Section, useAction, useLoad } from "../components";
import { ago } from "../format";

/** HTTP auth (public or private) and the API keys that open a private micro. */
export function ApiKeysSection(props: { micro: MicroView; onChange: () => void }) {
  const { micro } = props;
  const [loaded, reload] = useLoad(() => api.apiKeys(micro.id), micro.id);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [created, setCreated] = useState<{ name: string; key: string }>();
  const action = useAction();
  const toggle = () =>
    action.run(() => api.setHttpAuth(micro.id, !micro.httpAuth)).then((done) => done && props.onChange());
  const create = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const key = await api.createApiKey(micro.id, name.trim(), description);
      setCreated({ name: key.name, key: key.key });
      setName("");
      setDescription("");
      reload();
    });
  };
  const remove = (keyName: string) =>
    action.run(async () => {
      await api.deleteApiKey(micro.id, keyName);
      if (created?.name === keyName) setCreated(undefined);
      reload();
    });
  return (
    <Section title="HTTP auth and API keys" id="api-keys">
      <p>
        {micro.httpAuth ? (
          <span class="badge bad" data-testid="http-auth">
            private
          </span>
        ) : (
          <span class="badge good" data-testid="http-auth">
            public
          </span>
        )}{" "}
        <button type="button" class="secondary" disabled={action.busy} onClick={toggle}>
          {micro.httpAuth ? "Make public" : "Make private"}
        </button>
      </p>
      <p class="muted">
        A private micro answers only requests with one of its keys in <code>X-API-Key</code>.
      </p>
      {created && (
        <div class="notice" data-testid="new-key">
          <p>
            The key <strong>{created.name}</strong>, shown this once (the server keeps only its hash):
          </p>
          <pre>{created.key}</pre>
          <button type="button" class="secondary" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      )}
      <Pending loaded={loaded}>
        {(keys) =>
          keys.length === 0 ? (
            <p class="muted">No API keys.</p>
          ) : (
            <ul class="plain">
              {keys.map((key) => (
                <li key={key.name} data-key={key.name}>
                  <span class="grow">
                    <strong>{key.name}</strong> <code>{key.prefix}…</code>{" "}
                    <span class="muted">
                      {key.description ? `${key.description} · ` : ""}created {ago(key.createdAt)}
                    </span>
                  </span>
                  <button type="button" class="secondary" disabled={action.busy} onClick={() => remove(key.name)}>
                    Delete
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </Pending>
      <form class="inline" onSubmit={create}>
        <input
          aria-label="Key name"
          placeholder="name"
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
          required
        />
        <input
          aria-label="Key description"
          placeholder="description (optional)"
          value={description}
          onInput={(event) => setDescription(event.currentTarget.value)}
        />
        <button type="submit" disabled={action.busy || !name.trim()}>
          Create key
        </button>
      </form>
      <ErrorNote error={action.error} />
    </Section>
  );
}
