// A user's external identities: the table, and for admins linking one (in a dialog that names
// the identity's owner when it is taken) and unlinking one (after a confirmation).
import { useState } from "preact/hooks";
import { ApiFailure, call, type Identity } from "../api";
import { href } from "../router";
import { useAction } from "../ui/action";
import { ErrorText } from "../ui/alert";
import { Copyable } from "../ui/copy";
import { Dialog } from "../ui/dialog";
import type { RoledUser } from "../user-data";
import { displayIdOf } from "../user-data";

interface Props {
  user: RoledUser;
  canWrite: boolean;
  /** A write succeeded with this user as its answer. */
  onChanged: (user: RoledUser) => void;
}

export function Identities({ user, canWrite, onChanged }: Props) {
  const [linking, setLinking] = useState(false);
  const [unlinking, setUnlinking] = useState<Identity | undefined>();
  return (
    <section aria-labelledby="identities-title">
      <h2 id="identities-title">Identities</h2>
      {user.external_identities.length === 0 ? (
        <p>No identity is linked.</p>
      ) : (
        <table class="identities">
          <thead>
            <tr>
              <th scope="col">Issuer</th>
              <th scope="col">Id</th>
              <th scope="col">Display name</th>
              <th scope="col">Verified</th>
              {canWrite ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {user.external_identities.map((i) => (
              <tr key={`${i.issuer}\u0000${i.id}`}>
                <td>{i.issuer}</td>
                <td>
                  <Copyable value={i.id} label={`the id from ${i.issuer}`} />
                </td>
                <td>{i.display_name ?? ""}</td>
                <td>{i.is_verified ? "yes" : "no"}</td>
                {canWrite ? (
                  <td>
                    <button type="button" class="small" onClick={() => setUnlinking(i)}>
                      Unlink {i.issuer}
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canWrite ? (
        <button type="button" onClick={() => setLinking(true)}>
          Link identity
        </button>
      ) : null}
      <LinkDialog open={linking} user={user} onClose={() => setLinking(false)} onChanged={onChanged} />
      <UnlinkDialog identity={unlinking} user={user} onClose={() => setUnlinking(undefined)} onChanged={onChanged} />
    </section>
  );
}

function LinkDialog(props: { open: boolean; user: RoledUser; onClose: () => void; onChanged: Props["onChanged"] }) {
  const [issuer, setIssuer] = useState("");
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const { busy, error, run, setError } = useAction();
  const close = () => {
    setError(undefined);
    props.onClose();
  };
  const submit = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      const body: Record<string, string> = { dev_user: props.user.id, issuer: issuer.trim(), id: id.trim() };
      if (name.trim()) body.display_name = name.trim();
      const { dev_user } = await call<{ dev_user: RoledUser }>("dev-users.identities.link", body);
      setIssuer("");
      setId("");
      setName("");
      props.onChanged(dev_user);
      props.onClose();
    });
  };
  return (
    <Dialog title={`Link an identity to ${props.user.display_id}`} open={props.open} onClose={close}>
      <form onSubmit={submit}>
        <label for="link-issuer">Issuer</label>
        <input id="link-issuer" value={issuer} onInput={(e) => setIssuer(e.currentTarget.value)} required />
        <label for="link-id">Id</label>
        <input id="link-id" value={id} onInput={(e) => setId(e.currentTarget.value)} required />
        <label for="link-name">Display name (optional)</label>
        <input id="link-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <LinkError error={error} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Link
          </button>
          <button type="button" onClick={close}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A taken identity names its owner, with a link to them; any other failure is a sentence. */
function LinkError({ error }: { error: unknown }) {
  if (error instanceof ApiFailure && error.body.type === "artifact_already_attached_to_a_parent") {
    if (error.body.is_same) {
      return (
        <p class="error" role="alert">
          This identity is already linked to this user.
        </p>
      );
    }
    if (error.body.existing_parent) {
      const owner = displayIdOf(error.body.existing_parent);
      return (
        <p class="error" role="alert">
          This identity is already linked to another user: <a href={href(`/users/${owner}`)}>{owner}</a>.
        </p>
      );
    }
  }
  return <ErrorText error={error} />;
}

function UnlinkDialog(props: {
  identity: Identity | undefined;
  user: RoledUser;
  onClose: () => void;
  onChanged: Props["onChanged"];
}) {
  const { busy, error, run, setError } = useAction();
  const ident = props.identity;
  const close = () => {
    setError(undefined);
    props.onClose();
  };
  const confirm = async () => {
    if (!ident) return;
    await run(async () => {
      const { dev_user } = await call<{ dev_user: RoledUser }>("dev-users.identities.unlink", {
        dev_user: props.user.id,
        issuer: ident.issuer,
      });
      props.onChanged(dev_user);
      props.onClose();
    });
  };
  return (
    <Dialog title="Unlink this identity?" open={ident !== undefined} onClose={close}>
      <p>
        {props.user.display_id} will no longer be found by its identity from <strong>{ident?.issuer}</strong> (
        <code>{ident?.id}</code>).
      </p>
      <ErrorText error={error} />
      <div class="actions">
        <button type="button" onClick={close}>
          Cancel
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => void confirm()}>
          Unlink
        </button>
      </div>
    </Dialog>
  );
}
