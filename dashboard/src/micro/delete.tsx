import { useState } from "preact/hooks";
import { api, type MicroView } from "../api";
import { ErrorNote, useAction } from "../components";
import { navigate } from "../router";

/** Deleting takes typing the micro's name: it stops the micro and removes its releases, variables and logs. */
export function DeleteSection(props: { micro: MicroView }) {
  const { micro } = props;
  const [typed, setTyped] = useState("");
  const action = useAction();
  const remove = (event: Event) => {
    event.preventDefault();
    if (typed !== micro.name) return;
    void action.run(() => api.deleteMicro(micro.id)).then((done) => done && navigate("/"));
  };
  return (
    <section class="card danger-zone" aria-label="Delete">
      <h2>Delete this micro</h2>
      <p>It stops at once; its releases, environment variables, keys and logs are deleted. Its project's data stays.</p>
      <form class="inline" onSubmit={remove}>
        <input
          aria-label="Type the micro's name to confirm"
          placeholder={micro.name}
          value={typed}
          onInput={(event) => setTyped(event.currentTarget.value)}
        />
        <button type="submit" class="danger" disabled={action.busy || typed !== micro.name}>
          Delete {micro.name}
        </button>
      </form>
      <ErrorNote error={action.error} />
    </section>
  );
}
