// The directory: one API page at a time (dev-users.list with its cursor), so it stays quick on a
// directory of millions. Filters: a name or email prefix, or an id; state, an issuer + id lookup; sort; paging.
import { useEffect, useState } from "preact/hooks";
import { ApiFailure, call, type DevUser, type ListUsersResult } from "../api";
import { href, type PageProps } from "../router";
import { useAction } from "../ui/action";
import { ErrorText } from "../ui/alert";

const STATES = ["active", "shadow", "deactivated", "locked", "unassigned", "deleted"];
const SORTS: [string, string][] = [
  ["", "Number (oldest first)"],
  ["display_name:asc", "Display name A–Z"],
  ["display_name:desc", "Display name Z–A"],
  ["email:asc", "Email A–Z"],
  ["created_date:desc", "Newest first"],
  ["modified_date:desc", "Recently changed"],
];
export const PAGE_SIZE = 25;

interface Filters {
  text: string;
  state: string;
  issuer: string;
  externalId: string;
  sort: string;
}

const EMPTY: Filters = { text: "", state: "", issuer: "", externalId: "", sort: "" };

/** The request for one page: a DEVU id or DON is a get; anything else a list. */
async function fetchPage(f: Filters, cursor?: { cursor: string; mode: "after" | "before" }): Promise<ListUsersResult> {
  const text = f.text.trim();
  if (/^(DEVU-\d+|don:identity:.+)$/i.test(text)) {
    try {
      const { dev_user } = await call<{ dev_user: DevUser }>("dev-users.get", {
        id: text.toUpperCase().startsWith("DEVU-") ? text.toUpperCase() : text,
      });
      return { dev_users: [dev_user] };
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 404) return { dev_users: [] };
      throw err;
    }
  }
  const body: Record<string, unknown> = { limit: PAGE_SIZE };
  // A prefix of the name, full name or email (dev-users.list search, an addition to DevRev's API).
  if (text) body.search = text;
  if (f.state) body.state = [f.state];
  if (f.issuer.trim() || f.externalId.trim()) {
    const ident: Record<string, string> = {};
    if (f.issuer.trim()) ident.issuer = f.issuer.trim();
    if (f.externalId.trim()) ident.id = f.externalId.trim();
    body.external_identity = [ident];
  }
  if (f.sort) body.sort_by = [f.sort];
  if (cursor) Object.assign(body, cursor);
  return call<ListUsersResult>("dev-users.list", body);
}

export function DirectoryPage(_props: PageProps) {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [page, setPage] = useState<ListUsersResult | undefined>();
  const { busy, error, run } = useAction();

  const load = (f: Filters, cursor?: { cursor: string; mode: "after" | "before" }) =>
    run(async () => {
      const result = await fetchPage(f, cursor);
      // Only a page that arrived replaces the one shown.
      setPage(result);
      setApplied(f);
    });
  useEffect(() => {
    void load(EMPTY);
  }, []);

  const field = (name: keyof Filters) => ({
    value: draft[name],
    onInput: (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) =>
      setDraft({ ...draft, [name]: e.currentTarget.value }),
  });

  return (
    <section aria-labelledby="directory-title">
      <h1 id="directory-title">Directory</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load(draft);
        }}
      >
        <div>
          <label for="q">Name, email or id (DEVU-12)</label>
          <input id="q" type="search" {...field("text")} />
        </div>
        <div>
          <label for="state">State</label>
          <select id="state" {...field("state")}>
            <option value="">Any</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="issuer">Identity issuer</label>
          <input id="issuer" {...field("issuer")} />
        </div>
        <div>
          <label for="external-id">Identity id</label>
          <input id="external-id" {...field("externalId")} />
        </div>
        <div>
          <label for="sort">Sort</label>
          <select id="sort" {...field("sort")}>
            {SORTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" disabled={busy}>
          Search
        </button>
      </form>
      <ErrorText error={error} />
      {page ? <UserTable users={page.dev_users} /> : <p>Loading…</p>}
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={busy || !page?.prev_cursor}
          onClick={() => page?.prev_cursor && void load(applied, { cursor: page.prev_cursor, mode: "before" })}
        >
          Previous page
        </button>
        <button
          type="button"
          disabled={busy || !page?.next_cursor}
          onClick={() => page?.next_cursor && void load(applied, { cursor: page.next_cursor, mode: "after" })}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}

function UserTable({ users }: { users: DevUser[] }) {
  if (users.length === 0) return <p role="status">No user matches.</p>;
  return (
    <table class="users">
      <thead>
        <tr>
          <th scope="col">Id</th>
          <th scope="col">Display name</th>
          <th scope="col">Full name</th>
          <th scope="col">Email</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        {users.map((u) => (
          <tr key={u.id}>
            <td>
              <a href={href(`/users/${u.display_id}`)}>{u.display_id}</a>
            </td>
            <td>{u.display_name}</td>
            <td>{u.full_name ?? ""}</td>
            <td>{u.email}</td>
            <td>{u.state}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
