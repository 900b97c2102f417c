// A user's history from the journal, newest first: audit-logs.list filtered to this user (ours,
// synchronous; DevRev's audit-logs.fetch only starts an export and answers {}). Admin-only, as the
// service is: a member is told so rather than shown an error.
import { useEffect, useState } from "preact/hooks";
import { type AuditEntry, call } from "../api";
import { ErrorText } from "../ui/alert";

const LIMIT = 50;

function actorName(a: AuditEntry["actor"]): string {
  if (a.display_id) return a.display_id;
  if (a.type === "cli") return "the command line";
  if (a.type === "system") return "the service";
  return a.id ?? a.type;
}

function detail(e: AuditEntry): string {
  const d = e.details ?? {};
  const parts: string[] = [];
  if (typeof d.issuer === "string") parts.push(`issuer ${d.issuer}`);
  if (typeof d.id === "string") parts.push(`id ${d.id}`);
  if (typeof d.role === "string") parts.push(`role ${d.role}`);
  if (e.related_object?.display_id) parts.push(`with ${e.related_object.display_id}`);
  return parts.join(", ");
}

/** `version` changes after each write, so the history shows it. */
export function AuditTimeline({ userId, isAdmin, version }: { userId: string; isAdmin: boolean; version: number }) {
  const [entries, setEntries] = useState<AuditEntry[] | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (!isAdmin) return;
    let live = true;
    call<{ audit_logs: AuditEntry[] }>("audit-logs.list", { object: userId, limit: LIMIT }).then(
      (r) => {
        if (!live) return;
        setEntries(r.audit_logs);
        setError(undefined);
      },
      (err) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [userId, isAdmin, version]);
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {!isAdmin ? (
        <p>The history is shown to admins.</p>
      ) : (
        <>
          <ErrorText error={error} />
          {entries === undefined ? (
            <p>Loading…</p>
          ) : entries.length === 0 ? (
            <p>Nothing is recorded.</p>
          ) : (
            <ol class="timeline" aria-label="Newest first">
              {entries.map((e) => (
                <li key={e.seq} data-seq={e.seq}>
                  <time dateTime={e.timestamp}>{e.timestamp}</time> <span class="op">{e.operation}</span> by{" "}
                  {actorName(e.actor)}
                  {detail(e) ? <span class="detail"> ({detail(e)})</span> : null}
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  );
}
