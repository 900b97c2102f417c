// The shell: signs in (a link's fragment, or a pasted token), loads who is signed in, and shows
// the page the hash names, with the navigation and a sign-out button.
import { useEffect, useState } from "preact/hooks";
import { loadMe, type Me, MeContext } from "./me";
import { SignInPage } from "./pages/signin";
import { href, match, ROUTES } from "./router";
import { session } from "./session";
import { exchangeSigninToken, signOut, takeSigninFragment } from "./signin";
import { ErrorText } from "./ui/alert";

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function useSessionToken(): string | undefined {
  const [token, setToken] = useState(session.token());
  useEffect(() => session.subscribe(() => setToken(session.token())), []);
  return token;
}

export function App() {
  // Taken before anything reads the address: the link's token leaves it on the first render.
  const [onetime] = useState(() => takeSigninFragment());
  const token = useSessionToken();
  const hash = useHash();
  const [me, setMe] = useState<Me | undefined>();
  const [signinError, setSigninError] = useState<unknown>();
  const [exchanging, setExchanging] = useState(onetime !== undefined);
  const [loadError, setLoadError] = useState<unknown>();

  useEffect(() => {
    if (!onetime) return;
    exchangeSigninToken(onetime)
      .catch((err) => setSigninError(err))
      .finally(() => setExchanging(false));
  }, []);

  useEffect(() => {
    setMe(undefined);
    setLoadError(undefined);
    if (!token) return;
    const refresh = () => void loadMe().then((m) => setMe({ ...m, refresh }), setLoadError);
    refresh();
  }, [token]);

  if (exchanging) return <main id="main">Signing in…</main>;
  if (!token) {
    const notice = session.takeExpiredNotice() ? "Your session has ended. Sign in again." : undefined;
    return <SignInPage error={signinError} notice={notice} />;
  }
  if (loadError) return <ErrorText error={loadError} />;
  if (!me) return <main id="main">Loading…</main>;

  const found = match(hash);
  const Page = found && (!found.route.adminOnly || me.isAdmin) ? found.route.page : undefined;
  return (
    <MeContext.Provider value={me}>
      <header>
        <nav aria-label="Main">
          <span class="brand">devusers</span>
          {ROUTES.filter((r) => r.nav && (!r.adminOnly || me.isAdmin)).map((r) => (
            <a key={r.pattern} href={href(r.pattern)} aria-current={found?.route === r ? "page" : undefined}>
              {r.nav}
            </a>
          ))}
        </nav>
        <span class="who">
          {me.user.display_name} ({me.isAdmin ? "admin" : "member, read-only"})
        </span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {Page && found ? <Page {...found.props} /> : <p>There is no such page.</p>}
      </main>
    </MeContext.Provider>
  );
}
