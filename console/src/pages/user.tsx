// One user: their fields, identities and history; for admins, the writes on them. A write that
// fails leaves what is shown as it was and says why in a sentence; only a write's answer (or a
// fresh read after it) replaces the user on screen. Hiding buttons from members is a courtesy:
// the service refuses their writes anyway.
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { call } from "../api";
import { useMe } from "../me";
import { href, type PageProps } from "../router";
import { useAction } from "../ui/action";
import { ErrorText, Notice } from "../ui/alert";
import { Dialog } from "../ui/dialog";
import { getUser, type RoledUser } from "../user-data";
import { AuditTimeline } from "./user-audit";
import { Identities } from "./user-identities";

function text(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function UserPage({ params }: PageProps) {
  const me = useMe();
  const [user, setUser] = useState<RoledUser | undefined>();
  const [loadError, setLoadError] = useState<unknown>();
  const { busy, error: actionError, notice, run, setError: setActionError, setNotice } = useAction();
  const [version, setVersion] = useState(0);
  const [confirmDeactivate, setConfirmDeactivate] = useState(false);
  const [role, setRole] = useState("");

  useEffect(() => {
    let live = true;
    setUser(undefined);
    setLoadError(undefined);
    getUser(params.id!).then(
      (u) => {
        if (!live) return;
        setUser(u);
        setRole(u.role ?? "");
      },
      (err) => live && setLoadError(err),
    );
    return () => {
      live = false;
    };
  }, [params.id]);

  const changed = (u: RoledUser, what: string) => {
    setUser(u);
    setRole(u.role ?? "");
    setActionError(undefined);
    setNotice(what);
    setVersion((v) => v + 1);
  };

  /** Runs one write; the user shown changes only when it succeeded. */
  const act = async (what: string, write: () => Promise<RoledUser | undefined>) => {
    if (!user) return;
    await run(async () => {
      const answer = await write();
      changed(answer ?? (await getUser(user.id)), what);
      return what;
    });
  };

  if (loadError) return <ErrorText error={loadError} />;
  if (!user) return <p>Loading…</p>;
  const canWrite = me.isAdmin;
  const active = user.state === "active";
  const custom = Object.entries(user.custom_fields ?? {});

  return (
    <section aria-labelledby="user-title">
      <h1 id="user-title">
        {user.display_name} <span class="muted">{user.display_id}</span>
      </h1>
      <ErrorText error={actionError} />
      <Notice text={notice} />
      <dl class="fields">
        <dt>Display name</dt>
        <dd data-field="display_name">{user.display_name}</dd>
        <dt>Full name</dt>
        <dd data-field="full_name">{user.full_name ?? ""}</dd>
        <dt>Email</dt>
        <dd data-field="email">{user.email}</dd>
        <dt>State</dt>
        <dd data-field="state">{user.state}</dd>
        <dt>Role</dt>
        <dd data-field="role">{user.role ?? "unknown"}</dd>
        <dt>Job title</dt>
        <dd data-field="job_title">{user.job_title ?? ""}</dd>
        <dt>Created</dt>
        <dd>
          <time dateTime={user.created_date}>{user.created_date}</time>
        </dd>
        <dt>Modified</dt>
        <dd>
          <time dateTime={user.modified_date}>{user.modified_date}</time>
        </dd>
        {custom.map(([key, value]) => (
          <Fragment key={key}>
            <dt>{key}</dt>
            <dd data-custom={key}>{text(value)}</dd>
          </Fragment>
        ))}
      </dl>
      {canWrite ? (
        <fieldset class="actions">
          <legend>Actions</legend>
          {active ? (
            <button type="button" disabled={busy} onClick={() => setConfirmDeactivate(true)}>
              Deactivate
            </button>
          ) : (
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                void act("Activated.", async () => {
                  await call("dev-users.activate", { id: user.id });
                  return undefined;
                })
              }
            >
              Activate
            </button>
          )}
          <label for="role">Role</label>
          <select id="role" value={role} onInput={(e) => setRole(e.currentTarget.value)}>
            {role === "" ? <option value="">unknown</option> : null}
            <option value="admin">admin</option>
            <option value="member">member</option>
          </select>
          <button
            type="button"
            disabled={busy || !role || role === user.role}
            onClick={() =>
              void act(`The role is now ${role}.`, async () => {
                const r = await call<{ dev_user: RoledUser }>("dev-users.update", { id: user.id, role });
                // Demoting oneself takes the write actions away at once, not at the next sign-in.
                if (user.id === me.user.id) me.refresh?.();
                return r.dev_user;
              })
            }
          >
            Change role
          </button>
          <a href={href(`/users/${user.display_id}/merge`)}>Merge another user into this one</a>
        </fieldset>
      ) : null}
      <Dialog
        title={`Deactivate ${user.display_id}?`}
        open={confirmDeactivate}
        onClose={() => setConfirmDeactivate(false)}
      >
        <p>Every token {user.display_name} holds ends now; activating them again does not bring those back.</p>
        <div class="actions">
          <button type="button" onClick={() => setConfirmDeactivate(false)}>
            Cancel
          </button>
          <button
            type="button"
            class="danger"
            onClick={() => {
              setConfirmDeactivate(false);
              void act("Deactivated.", async () => {
                await call("dev-users.deactivate", { id: user.id });
                return undefined;
              });
            }}
          >
            Deactivate
          </button>
        </div>
      </Dialog>
      <Identities user={user} canWrite={canWrite} onChanged={(u) => changed(u, "The identities are saved.")} />
      <AuditTimeline userId={user.id} isAdmin={me.isAdmin} version={version} />
    </section>
  );
}
