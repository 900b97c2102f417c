// The signed-in user's personal tokens: the live ones (auth-tokens.list), a new one with scopes
// (shown once), and revoking one after a confirmation. Admins also manage SCIM connections here.
import { useEffect, useState } from "preact/hooks";
import { type AuthToken, SCOPES, tokensApi } from "../api-admin";
import { useMe } from "../me";
import type { PageProps } from "../router";
import { session } from "../session";
import { useAction } from "../ui/action";
import { ErrorText, Notice } from "../ui/alert";
import { Dialog } from "../ui/dialog";
import { ShownOnce } from "../ui/once";
import { ScimConnections } from "./scim-connections";

const day = (iso?: string) => (iso ? new Date(iso).toLocaleDateString() : "");
const shortId = (id: string) => id.split("/").at(-1) ?? id;

/** The id of the token this tab signed in with, so the list can say which one it is. */
function sessionTokenId(): string | undefined {
  try {
    const payload = (session.token() ?? "").split(".")[1] ?? "";
    const json = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))) as { jti?: unknown };
    return typeof json.jti === "string" ? json.jti : undefined;
  } catch {
    return undefined;
  }
}

export function TokensPage(_props: PageProps) {
  const me = useMe();
  const current = sessionTokenId();
  const [tokens, setTokens] = useState<AuthToken[] | undefined>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string>();
  const [revoking, setRevoking] = useState<AuthToken>();

  const load = () =>
    tokensApi.list().then(
      (list) => {
        setTokens(list);
        setError(undefined);
      },
      (err) => setError(err),
    );
  useEffect(() => {
    void load();
  }, []);

  return (
    <section aria-labelledby="tokens-title">
      <h1 id="tokens-title">My tokens</h1>
      <div class="actions">
        <button type="button" onClick={() => setCreating(true)}>
          New token
        </button>
      </div>
      <ErrorText error={error} />
      <Notice text={notice} />
      {tokens === undefined ? (
        error ? null : (
          <p>Loading…</p>
        )
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Scopes</th>
              <th scope="col">Made</th>
              <th scope="col">Expires</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id}>
                <td>{t.token_hint ?? shortId(t.id)}</td>
                <td>{t.scopes?.length ? t.scopes.join(" ") : "All of my rights"}</td>
                <td>{day(t.issued_at)}</td>
                <td>{day(t.expires_at)}</td>
                <td>
                  {shortId(t.id) === current ? (
                    "This session"
                  ) : (
                    <button
                      type="button"
                      class="small danger"
                      onClick={() => setRevoking(t)}
                      aria-label={`Revoke ${t.token_hint ?? shortId(t.id)}`}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateToken
        open={creating}
        isAdmin={me.isAdmin}
        onClose={() => setCreating(false)}
        onCreated={(token) => {
          setCreating(false);
          setNotice("The token was made.");
          setSecret(token);
          void load();
        }}
      />
      <ShownOnce title="Your new token" label="token" value={secret} onDone={() => setSecret(undefined)} />
      <RevokeToken
        token={revoking}
        onClose={() => setRevoking(undefined)}
        onRevoked={(t) => {
          setRevoking(undefined);
          setTokens((list) => list?.filter((x) => x.id !== t.id));
          setNotice(`${t.token_hint ?? "The token"} was revoked: it no longer works.`);
        }}
      />
      {me.isAdmin ? <ScimConnections /> : null}
    </section>
  );
}

function CreateToken(props: { open: boolean; isAdmin: boolean; onClose: () => void; onCreated: (t: string) => void }) {
  const [hint, setHint] = useState("");
  const [days, setDays] = useState("30");
  const [scopes, setScopes] = useState<string[]>([]);
  const { busy, error, run, setError } = useAction();
  useEffect(() => {
    if (!props.open) return;
    setHint("");
    setScopes([]);
    setError(undefined);
  }, [props.open]);
  const submit = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      const made = await tokensApi.create({ scopes, hint: hint.trim() || undefined, days: Number(days) });
      props.onCreated(made.access_token);
    });
  };
  return (
    <Dialog title="New token" open={props.open} onClose={props.onClose}>
      <form onSubmit={submit}>
        <div>
          <label for="token-hint">Label</label>
          <input id="token-hint" value={hint} maxLength={256} onInput={(e) => setHint(e.currentTarget.value)} />
        </div>
        <div>
          <label for="token-days">Days until it expires</label>
          <input
            id="token-days"
            type="number"
            min={1}
            max={1825}
            required
            value={days}
            onInput={(e) => setDays(e.currentTarget.value)}
          />
        </div>
        <fieldset>
          <legend>Scopes (none: all of your rights)</legend>
          {SCOPES.filter((s) => props.isAdmin || !s.adminOnly).map((s) => (
            <label key={s.name}>
              <input
                type="checkbox"
                checked={scopes.includes(s.name)}
                onChange={(e) =>
                  setScopes(e.currentTarget.checked ? [...scopes, s.name] : scopes.filter((x) => x !== s.name))
                }
              />{" "}
              {s.label} ({s.name})
            </label>
          ))}
        </fieldset>
        <ErrorText error={error} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Create token
          </button>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RevokeToken(props: { token?: AuthToken; onClose: () => void; onRevoked: (t: AuthToken) => void }) {
  const { busy, error, run, setError } = useAction();
  useEffect(() => setError(undefined), [props.token]);
  const t = props.token;
  const revoke = async () => {
    if (!t) return;
    await run(async () => {
      await tokensApi.revoke(t.id);
      props.onRevoked(t);
    });
  };
  return (
    <Dialog title="Revoke the token?" open={t !== undefined} onClose={props.onClose}>
      <p>
        {t?.token_hint ?? "This token"} stops working at once, for every program that uses it. This cannot be undone.
      </p>
      <ErrorText error={error} />
      <div class="actions">
        <button type="button" class="danger" disabled={busy} onClick={() => void revoke()}>
          Revoke
        </button>
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
