/** The dashboard's shell: the session (or the sign-in page), the navigation, and the page the path names. */
import { useEffect, useState } from "preact/hooks";
import { type ApiError, api, keepSession, onSignedOut, type SessionView } from "./api";
import { ErrorNote } from "./components";
import { SignInPage } from "./pages/sign-in";
import { Link, matchPath, navigate, usePath } from "./router";
import { ROUTES } from "./routes";

type SessionState = { state: "checking" } | { state: "signed-out"; error?: ApiError } | SessionView;

export function App() {
  const [session, setSession] = useState<SessionState>({ state: "checking" });
  const path = usePath();

  useEffect(() => {
    api.session().then(
      (view) => {
        keepSession(view);
        setSession(view);
      },
      (err: ApiError) => setSession({ state: "signed-out", error: err.code === "ERR_UNAUTHORIZED" ? undefined : err }),
    );
    return onSignedOut(() => {
      keepSession(null);
      setSession({ state: "signed-out" });
    });
  }, []);

  if ("state" in session) {
    if (session.state === "checking") return null;
    return (
      <>
        <ErrorNote error={session.error} />
        <SignInPage
          onSignedIn={(view) => {
            keepSession(view);
            setSession(view);
          }}
        />
      </>
    );
  }

  const signOut = async () => {
    await api.signOut().catch(() => undefined);
    keepSession(null);
    setSession({ state: "signed-out" });
    navigate("/", { replace: true });
  };

  let page = <NotFound />;
  for (const route of ROUTES) {
    const params = matchPath(route.path, path);
    if (params) {
      const Page = route.page;
      page = <Page params={params} />;
      break;
    }
  }

  return (
    <>
      <header class="topbar">
        <Link href="/" class="brand">
          Micros
        </Link>
        <nav aria-label="Main">
          <Link href="/">Micros</Link>
        </nav>
        <span class="spacer" />
        <span class="muted" data-testid="user">
          {session.user.name}
        </span>
        <button type="button" class="link-button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>{page}</main>
    </>
  );
}

function NotFound() {
  return (
    <>
      <h1>Not found</h1>
      <p>
        There is no page here. <Link href="/">Back to the micros</Link>
      </p>
    </>
  );
}
