import { useState } from "preact/hooks";
import { api, type SessionView } from "../api";
import { ErrorNote, useAction } from "../components";

/** Signing in with an access token: the server checks it and keeps it in a cookie this page cannot read. */
export function SignInPage(props: { onSignedIn: (session: SessionView) => void }) {
  const [token, setToken] = useState("");
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => props.onSignedIn(await api.signIn(token.trim())));
  };
  return (
    <main class="sign-in">
      <h1>Sign in to Micros</h1>
      <form class="card" onSubmit={submit}>
        <label for="token">Access token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          placeholder="micros_…"
          required
        />
        <p class="muted">
          The admin's token is in <code>&lt;data-dir&gt;/admin-token</code> on the server (
          <code>cat .micros-data/admin-token</code>); the CLI's is the one you logged in with.
        </p>
        <ErrorNote error={action.error} />
        <button type="submit" disabled={action.busy || !token.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}
