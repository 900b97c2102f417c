import { useState } from "preact/hooks";
import { signInWithToken } from "../signin";
import { ErrorText, Notice } from "../ui/alert";

export function SignInPage({ error, notice }: { error?: unknown; notice?: string }) {
  const [token, setToken] = useState("");
  const [failure, setFailure] = useState<unknown>(error);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      await signInWithToken(token.trim());
    } catch (err) {
      setFailure(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>Sign in to devusers</h1>
      <Notice text={notice} />
      <p>
        Best: run <code>devusers console --email you@example.com</code> and open the link it prints, once. Or paste a
        token.
      </p>
      <form onSubmit={submit}>
        <label for="token">Token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          required
        />
        <button type="submit" disabled={busy || !token.trim()}>
          Sign in
        </button>
      </form>
      <ErrorText error={failure} />
    </main>
  );
}
