// Merging a secondary user into the one the route names: choose the secondary (email or DEVU id),
// see what would happen, computed from the two users and changing nothing, then merge after a
// confirmation. The service decides: a merge it refuses leaves both users as they were.
import { useEffect, useState } from "preact/hooks";
import { call, type Identity } from "../api";
import { previewMerge } from "../merge-preview";
import { href, navigate, type PageProps } from "../router";
import { useAction } from "../ui/action";
import { ErrorText } from "../ui/alert";
import { Dialog } from "../ui/dialog";
import { findUser, getUser, type RoledUser } from "../user-data";

function IdentityList({ items, empty }: { items: Identity[]; empty: string }) {
  if (items.length === 0) return <p>{empty}</p>;
  return (
    <ul>
      {items.map((i) => (
        <li key={`${i.issuer}\u0000${i.id}`}>
          {i.issuer}: <code>{i.id}</code>
        </li>
      ))}
    </ul>
  );
}

export function MergePage({ params }: PageProps) {
  const [primary, setPrimary] = useState<RoledUser | undefined>();
  const [loadError, setLoadError] = useState<unknown>();
  const [query, setQuery] = useState("");
  const [secondary, setSecondary] = useState<RoledUser | undefined>();
  const [missing, setMissing] = useState(false);
  const { busy, error, run } = useAction();
  const [confirming, setConfirming] = useState(false);

  useEffect(() => {
    getUser(params.id!).then(setPrimary, setLoadError);
  }, [params.id]);

  const choose = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      // A fresh read of both, so the preview is of the users as they are now.
      const [p, s] = await Promise.all([getUser(params.id!), findUser(query)]);
      setPrimary(p);
      setSecondary(s);
      setMissing(s === undefined);
    });
  };

  const merge = async () => {
    if (!primary || !secondary) return;
    setConfirming(false);
    await run(async () => {
      await call("dev-users.merge", { primary_user: primary.id, secondary_user: secondary.id });
      navigate(`/users/${primary.display_id}`);
    });
  };

  if (loadError) return <ErrorText error={loadError} />;
  if (!primary) return <p>Loading…</p>;
  const preview = secondary ? previewMerge(primary, secondary) : undefined;

  return (
    <section aria-labelledby="merge-title">
      <h1 id="merge-title">
        Merge into {primary.display_name} <span class="muted">{primary.display_id}</span>
      </h1>
      <p>
        <a href={href(`/users/${primary.display_id}`)}>Back to {primary.display_id}</a>
      </p>
      <form class="filters" onSubmit={choose}>
        <div>
          <label for="secondary">Secondary user (email or DEVU id)</label>
          <input id="secondary" value={query} onInput={(e) => setQuery(e.currentTarget.value)} required />
        </div>
        <button type="submit" disabled={busy}>
          Preview
        </button>
      </form>
      <ErrorText error={error} />
      {missing ? <p role="status">No user matches.</p> : null}
      {secondary && preview ? (
        <section aria-labelledby="preview-title" class="preview">
          <h2 id="preview-title">
            Preview: {secondary.display_id} ({secondary.email}) into {primary.display_id}
          </h2>
          <p>
            Nothing has changed yet. The merge deactivates {secondary.display_id} and points its reports at{" "}
            {primary.display_id}.
          </p>
          <h3 id="moves-title">Identities that move to {primary.display_id}</h3>
          <section aria-labelledby="moves-title" data-list="moves">
            <IdentityList items={preview.moves} empty="None." />
          </section>
          <h3 id="conflicts-title">Conflicts (same issuer, different id)</h3>
          <section aria-labelledby="conflicts-title" data-list="conflicts">
            <IdentityList items={preview.conflicts.map((c) => c.secondary)} empty="None." />
          </section>
          <h3 id="kept-title">Already on {primary.display_id}</h3>
          <section aria-labelledby="kept-title" data-list="kept">
            <IdentityList items={preview.alreadyOnPrimary} empty="None." />
          </section>
          {preview.blocked ? (
            <p class="error" role="alert">
              {preview.blocked}
            </p>
          ) : null}
          <button type="button" disabled={busy || preview.blocked !== undefined} onClick={() => setConfirming(true)}>
            Merge
          </button>
        </section>
      ) : null}
      <Dialog title="Merge these users?" open={confirming} onClose={() => setConfirming(false)}>
        <p>
          {secondary?.display_id} is merged into {primary.display_id} and deactivated. This cannot be undone.
        </p>
        <div class="actions">
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
          <button type="button" class="danger" onClick={() => void merge()}>
            Merge {secondary?.display_id} into {primary.display_id}
          </button>
        </div>
      </Dialog>
    </section>
  );
}
