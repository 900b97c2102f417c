// One webhook's delivery log (webhooks.deliveries.list, newest first): each event's attempts, the
// last answer and error, and the webhook's health; a settled delivery can be sent again.
import { useEffect, useState } from "preact/hooks";
import { type Delivery, type DeliveryPage, type Webhook, webhooksApi } from "../api-admin";
import { href, type PageProps } from "../router";
import { useAction } from "../ui/action";
import { ErrorText, Notice } from "../ui/alert";

const when = (iso?: string) => (iso ? new Date(iso).toLocaleString() : "");

export function WebhookDeliveriesPage({ params }: PageProps) {
  const id = params.id ?? "";
  const [webhook, setWebhook] = useState<Webhook>();
  const [page, setPage] = useState<DeliveryPage>();
  const [cursors, setCursors] = useState<string[]>([]);
  const { busy, error, notice, run } = useAction();

  /** `trail`: the cursors that led to the page asked for; empty for the newest. */
  const fetchPage = async (trail: string[]) => {
    const [w, p] = await Promise.all([webhooksApi.get(id), webhooksApi.deliveries(id, trail.at(-1))]);
    setWebhook(w);
    setPage(p);
    setCursors(trail);
  };
  const load = (trail: string[]) => run(() => fetchPage(trail));
  useEffect(() => {
    void load([]);
  }, [id]);

  const redeliver = (d: Delivery) =>
    run(async () => {
      const n = await webhooksApi.redeliver(id, d.event_id);
      await fetchPage(cursors);
      return n > 0 ? `Event ${d.event_id} is queued to be sent again.` : "There was nothing to send again.";
    });

  return (
    <section aria-labelledby="deliveries-title">
      <p>
        <a href={href("/webhooks")}>All webhooks</a>
      </p>
      <h1 id="deliveries-title">Deliveries{webhook ? ` to ${webhook.url}` : ""}</h1>
      <ErrorText error={error} />
      <Notice text={notice} />
      {page ? (
        <>
          <Health page={page} status={webhook?.status} />
          <div class="actions">
            <button type="button" disabled={busy} onClick={() => void load(cursors)}>
              Refresh
            </button>
          </div>
          <DeliveryTable deliveries={page.deliveries} busy={busy} onRedeliver={redeliver} />
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={busy || cursors.length === 0} onClick={() => void load([])}>
              Newest
            </button>
            <button
              type="button"
              disabled={busy || !page.next_cursor}
              onClick={() => page.next_cursor && void load([...cursors, page.next_cursor])}
            >
              Older
            </button>
          </nav>
        </>
      ) : error ? null : (
        <p>Loading…</p>
      )}
    </section>
  );
}

function Health({ page, status }: { page: DeliveryPage; status?: string }) {
  const h = page.health;
  return (
    <dl class="fields">
      <dt>Status</dt>
      <dd>{status ?? ""}</dd>
      <dt>Failures in a row</dt>
      <dd>{h.consecutive_failures}</dd>
      {h.failing_since ? (
        <>
          <dt>Failing since</dt>
          <dd>{when(h.failing_since)}</dd>
        </>
      ) : null}
      {h.last_error ? (
        <>
          <dt>Last error</dt>
          <dd>{h.last_error}</dd>
        </>
      ) : null}
    </dl>
  );
}

function DeliveryTable(props: { deliveries: Delivery[]; busy: boolean; onRedeliver: (d: Delivery) => void }) {
  if (props.deliveries.length === 0) return <p role="status">Nothing was sent to this webhook yet.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Event</th>
          <th scope="col">Type</th>
          <th scope="col">State</th>
          <th scope="col">Attempts</th>
          <th scope="col">Last answer</th>
          <th scope="col">Last error</th>
          <th scope="col">Made</th>
          <th scope="col">Actions</th>
        </tr>
      </thead>
      <tbody>
        {props.deliveries.map((d) => (
          <tr key={d.event_id}>
            <td>{d.event_id.split(":").at(-1)}</td>
            <td>{d.type}</td>
            <td>{d.state}</td>
            <td>{d.attempts}</td>
            <td>
              {d.last_status !== undefined ? `HTTP ${d.last_status}` : ""}
              {d.last_latency_ms !== undefined ? ` in ${d.last_latency_ms} ms` : ""}
            </td>
            <td>{d.last_error ?? ""}</td>
            <td>{when(d.created_date)}</td>
            <td>
              {d.state === "pending" ? (
                d.next_attempt_date ? (
                  `Next attempt ${when(d.next_attempt_date)}`
                ) : (
                  ""
                )
              ) : (
                <button
                  type="button"
                  class="small"
                  disabled={props.busy}
                  onClick={() => props.onRedeliver(d)}
                  aria-label={`Send ${d.type} ${d.event_id.split(":").at(-1)} again`}
                >
                  Send again
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
