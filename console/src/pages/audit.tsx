// The audit log (audit-logs.list, admins only), newest first, one page at a time: filtered by
// actor, operation, object and a date range, which apply when the form is sent.
import { useEffect, useState } from "preact/hooks";
import { type AuditEntry, type AuditFilters, type AuditPage as AuditResult, auditApi, OPERATIONS } from "../api-admin";
import { href, type PageProps } from "../router";
import { useAction } from "../ui/action";
import { ErrorText } from "../ui/alert";

type Cursor = { cursor: string; mode: "after" | "before" };

interface Draft {
  actor: string;
  operation: string;
  object: string;
  /** yyyy-mm-dd, from the date inputs: whole days, in UTC. */
  from: string;
  to: string;
}

const EMPTY: Draft = { actor: "", operation: "", object: "", from: "", to: "" };

function toFilters(d: Draft): AuditFilters {
  return {
    actor: d.actor.trim() || undefined,
    operation: d.operation || undefined,
    object: d.object.trim() || undefined,
    from: d.from ? `${d.from}T00:00:00.000Z` : undefined,
    to: d.to ? `${d.to}T23:59:59.999Z` : undefined,
  };
}

const who = (r: AuditEntry["actor"]) => r.display_id ?? r.id ?? r.type;

export function AuditPage(_props: PageProps) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [applied, setApplied] = useState<Draft>(EMPTY);
  const [page, setPage] = useState<AuditResult>();
  const { busy, error, run } = useAction();

  const load = (d: Draft, cursor?: Cursor) =>
    run(async () => {
      const result = await auditApi.list(toFilters(d), cursor);
      setPage(result);
      setApplied(d);
    });
  useEffect(() => {
    void load(EMPTY);
  }, []);

  const field = (name: keyof Draft) => ({
    id: `audit-${name}`,
    value: draft[name],
    onInput: (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) =>
      setDraft({ ...draft, [name]: e.currentTarget.value }),
  });

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load(draft);
        }}
      >
        <div>
          <label for="audit-actor">Actor (DEVU-1, cli, system)</label>
          <input {...field("actor")} />
        </div>
        <div>
          <label for="audit-operation">Operation</label>
          <select {...field("operation")}>
            <option value="">Any</option>
            {OPERATIONS.map((op) => (
              <option key={op} value={op}>
                {op}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="audit-object">Object (DEVU-2)</label>
          <input {...field("object")} />
        </div>
        <div>
          <label for="audit-from">From</label>
          <input type="date" {...field("from")} />
        </div>
        <div>
          <label for="audit-to">To</label>
          <input type="date" {...field("to")} />
        </div>
        <button type="submit" disabled={busy}>
          Filter
        </button>
      </form>
      <ErrorText error={error} />
      {page ? <EntryTable entries={page.audit_logs} /> : error ? null : <p>Loading…</p>}
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={busy || !page?.prev_cursor}
          onClick={() => page?.prev_cursor && void load(applied, { cursor: page.prev_cursor, mode: "before" })}
        >
          Newer
        </button>
        <button
          type="button"
          disabled={busy || !page?.next_cursor}
          onClick={() => page?.next_cursor && void load(applied, { cursor: page.next_cursor, mode: "after" })}
        >
          Older
        </button>
      </nav>
    </section>
  );
}

function EntryTable({ entries }: { entries: AuditEntry[] }) {
  if (entries.length === 0) return <p role="status">No entry matches.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">When</th>
          <th scope="col">Actor</th>
          <th scope="col">Operation</th>
          <th scope="col">Object</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.id}>
            <td>{e.seq}</td>
            <td>{new Date(e.timestamp).toLocaleString()}</td>
            <td>{who(e.actor)}</td>
            <td>{e.operation}</td>
            <td>
              {e.object.type === "dev_user" && e.object.display_id ? (
                <a href={href(`/users/${e.object.display_id}`)}>{e.object.display_id}</a>
              ) : (
                (e.object.id ?? e.object.type)
              )}
              {e.related_object ? ` (with ${e.related_object.display_id ?? e.related_object.id})` : ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
