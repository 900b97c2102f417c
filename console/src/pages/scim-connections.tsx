// An org's SCIM connections, for admins (scim-connections.* refuse everyone else): each identity
// provider's issuer, default role and token state; a new one, on and off, and a new token. A
// token is shown once, when it is made.
import { useEffect, useState } from "preact/hooks";
import { type ScimConnection, scimApi } from "../api-admin";
import { useAction } from "../ui/action";
import { ErrorText, Notice } from "../ui/alert";
import { Dialog } from "../ui/dialog";
import { ShownOnce } from "../ui/once";

export function ScimConnections() {
  const [list, setList] = useState<ScimConnection[] | undefined>();
  const { busy, error, notice, run, setError, setNotice } = useAction();
  const [creating, setCreating] = useState(false);
  const [token, setToken] = useState<string>();

  useEffect(() => {
    scimApi.list().then(setList, setError);
  }, []);

  const replace = (c: ScimConnection) => setList((l) => l?.map((x) => (x.id === c.id ? c : x)));
  const act = (work: () => Promise<{ scim_connection: ScimConnection; token?: string }>, done: string) =>
    run(async () => {
      const r = await work();
      replace(r.scim_connection);
      if (r.token) setToken(r.token);
      return done;
    });

  return (
    <section aria-labelledby="scim-title">
      <h2 id="scim-title">SCIM connections</h2>
      <div class="actions">
        <button type="button" onClick={() => setCreating(true)}>
          New SCIM connection
        </button>
      </div>
      <ErrorText error={error} />
      <Notice text={notice} />
      {list === undefined ? null : list.length === 0 ? (
        <p>No identity provider is connected.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Issuer</th>
              <th scope="col">Default role</th>
              <th scope="col">Enabled</th>
              <th scope="col">Token</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.id}>
                <td>{c.issuer}</td>
                <td>{c.default_role}</td>
                <td>{c.enabled ? "Enabled" : "Disabled"}</td>
                <td>{c.token_status}</td>
                <td>
                  <button
                    type="button"
                    class="small"
                    disabled={busy}
                    aria-label={`${c.enabled ? "Disable" : "Enable"} ${c.issuer}`}
                    onClick={() =>
                      void act(
                        () => scimApi.setEnabled(c.id, !c.enabled),
                        `${c.issuer} is ${c.enabled ? "disabled" : "enabled"}.`,
                      )
                    }
                  >
                    {c.enabled ? "Disable" : "Enable"}
                  </button>
                  <button
                    type="button"
                    class="small"
                    disabled={busy}
                    aria-label={`New token for ${c.issuer}`}
                    onClick={() =>
                      void act(() => scimApi.rotate(c.id), `${c.issuer} has a new token; the old one no longer works.`)
                    }
                  >
                    New token
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateConnection
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(c, t) => {
          setCreating(false);
          setList((l) => [...(l ?? []), c]);
          setNotice(`${c.issuer} is connected.`);
          setToken(t);
        }}
      />
      <ShownOnce title="The SCIM token" label="SCIM token" value={token} onDone={() => setToken(undefined)} />
    </section>
  );
}

function CreateConnection(props: {
  open: boolean;
  onClose: () => void;
  onCreated: (c: ScimConnection, token: string | undefined) => void;
}) {
  const [issuer, setIssuer] = useState("");
  const [role, setRole] = useState("member");
  const { busy, error, run, setError } = useAction();
  useEffect(() => {
    if (!props.open) return;
    setIssuer("");
    setError(undefined);
  }, [props.open]);
  const submit = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      const r = await scimApi.create(issuer.trim(), role);
      props.onCreated(r.scim_connection, r.token);
    });
  };
  return (
    <Dialog title="New SCIM connection" open={props.open} onClose={props.onClose}>
      <form onSubmit={submit}>
        <div>
          <label for="scim-issuer">Issuer (for example okta)</label>
          <input
            id="scim-issuer"
            required
            maxLength={128}
            value={issuer}
            onInput={(e) => setIssuer(e.currentTarget.value)}
          />
        </div>
        <div>
          <label for="scim-role">Role of the users it creates</label>
          <select id="scim-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="member">member</option>
            <option value="admin">admin</option>
          </select>
        </div>
        <ErrorText error={error} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Connect
          </button>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
