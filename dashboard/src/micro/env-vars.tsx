import { useState } from "preact/hooks";
import { api, type MicroView } from "../api";
import { ErrorNote, Section, useAction } from "../components";

/** Variable names only: values never leave the server, so a value is set or removed, never shown. */
export function EnvSection(props: { micro: MicroView; onChange: () => void }) {
  const { micro } = props;
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const action = useAction();
  const set = (event: Event) => {
    event.preventDefault();
    void action
      .run(() => api.patchEnv(micro.id, { set: { [name.trim()]: value } }))
      .then((done) => {
        if (!done) return;
        setName("");
        setValue("");
        props.onChange();
      });
  };
  const remove = (key: string) =>
    action.run(() => api.patchEnv(micro.id, { remove: [key] })).then((done) => done && props.onChange());
  return (
    <Section title="Environment variables" id="env">
      {micro.envVars.length === 0 ? (
        <p class="muted">None set.</p>
      ) : (
        <ul class="plain">
          {micro.envVars.map((key) => (
            <li key={key} data-env={key}>
              <code class="grow">{key}</code>
              <button type="button" class="secondary" disabled={action.busy} onClick={() => remove(key)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="inline" onSubmit={set}>
        <input
          aria-label="Variable name"
          placeholder="NAME"
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
          required
        />
        <input
          aria-label="Variable value"
          placeholder="value"
          type="password"
          autocomplete="off"
          value={value}
          onInput={(event) => setValue(event.currentTarget.value)}
        />
        <button type="submit" disabled={action.busy || !name.trim()}>
          Set
        </button>
      </form>
      <p class="muted">Values are never shown. A change restarts the micro's instances with the new set.</p>
      <ErrorNote error={action.error} />
    </Section>
  );
}
