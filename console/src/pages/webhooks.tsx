// The org's webhooks (admins only: the service refuses members every webhooks.* call): their
// status, a new one, and turning one off and on. The secret is shown once, after the create; the
// list never shows it, although webhooks.list returns it.
import { useEffect, useState } from "preact/hooks";
import { EVENT_TYPES, type Webhook, webhooksApi } from "../api-admin";
import { href, type PageProps } from "../router";
import { useAction } from "../ui/action";
import { ErrorText, Notice } from "../ui/alert";
import { Dialog } from "../ui/dialog";
import { ShownOnce } from "../ui/once";

/** While a handshake is under way the status changes by itself; the service retries it every 5 s. */
const RECHECK_MS = 2_000;
/** The service gives a handshake 3 minutes; past that, a status changes only when someone acts. */
const RECHECK_FOR_MS = 180_000;

const STATUS_TEXT: Record<string, string> = {
  active: "Active",
  unverified: "Awaiting verification",
  inactive: "Inactive",
};

export function WebhooksPage(_props: PageProps) {
  const [webhooks, setWebhooks] = useState<Webhook[] | undefined>();
  const { busy, error, notice, run, setError, setNotice } = useAction();
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string>();

  const load = () =>
    webhooksApi.list().then(
      (list) => {
        setWebhooks(list);
        setError(undefined);
      },
      (err) => setError(err),
    );
  useEffect(() => {
    void load();
  }, []);
  const verifying = webhooks?.some((w) => w.status === "unverified") ?? false;
  // A new webhook starts a new handshake, and a new window to watch it in.
  useEffect(() => {
    if (!verifying) return;
    const until = Date.now() + RECHECK_FOR_MS;
    const timer = setInterval(() => {
      if (Date.now() > until) clearInterval(timer);
      else void load();
    }, RECHECK_MS);
    return () => clearInterval(timer);
  }, [verifying, webhooks?.length]);

  const toggle = (w: Webhook) =>
    run(async () => {
      const updated = await webhooksApi.setActive(w.id, w.status === "inactive");
      setWebhooks((list) => list?.map((x) => (x.id === updated.id ? updated : x)));
      return updated.status === "inactive" ? "The webhook is off." : "The webhook is on again, once verified.";
    });

  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      <div class="actions">
        <button type="button" onClick={() => setCreating(true)}>
          New webhook
        </button>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <ErrorText error={error} />
      <Notice text={notice} />
      {webhooks === undefined ? (
        error ? null : (
          <p>Loading…</p>
        )
      ) : webhooks.length === 0 ? (
        <p role="status">No webhook yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {webhooks.map((w) => (
              <tr key={w.id}>
                <td>{w.url}</td>
                <td>{(w.event_types ?? []).join(", ") || "Only the handshake"}</td>
                <td>{STATUS_TEXT[w.status] ?? w.status}</td>
                <td>
                  <a href={href(`/webhooks/${encodeURIComponent(w.id)}`)} aria-label={`Deliveries of ${w.url}`}>
                    Deliveries
                  </a>
                  <button
                    type="button"
                    class="small"
                    disabled={busy}
                    onClick={() => void toggle(w)}
                    aria-label={`${w.status === "inactive" ? "Turn on" : "Turn off"} ${w.url}`}
                  >
                    {w.status === "inactive" ? "Turn on" : "Turn off"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateWebhook
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(w) => {
          setCreating(false);
          setWebhooks((list) => [...(list ?? []), { ...w, secret: "" }]);
          setNotice(`The webhook for ${w.url} was made; the service now verifies it.`);
          setSecret(w.secret);
        }}
      />
      <ShownOnce title="The webhook's secret" label="secret" value={secret} onDone={() => setSecret(undefined)} />
    </section>
  );
}

function CreateWebhook(props: { open: boolean; onClose: () => void; onCreated: (w: Webhook) => void }) {
  const [url, setUrl] = useState("");
  const [types, setTypes] = useState<string[]>(["dev_user_created", "dev_user_updated"]);
  const { busy, error, run, setError } = useAction();
  useEffect(() => {
    if (props.open) {
      setUrl("");
      setError(undefined);
    }
  }, [props.open]);
  const submit = (e: Event) => {
    e.preventDefault();
    return run(async () => props.onCreated(await webhooksApi.create(url.trim(), types)));
  };
  return (
    <Dialog title="New webhook" open={props.open} onClose={props.onClose}>
      <form onSubmit={submit}>
        <div>
          <label for="webhook-url">URL</label>
          <input
            id="webhook-url"
            type="url"
            required
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
            aria-describedby={error ? "webhook-error" : undefined}
          />
        </div>
        <fieldset>
          <legend>Events</legend>
          {EVENT_TYPES.map((t) => (
            <label key={t}>
              <input
                type="checkbox"
                checked={types.includes(t)}
                onChange={(e) => setTypes(e.currentTarget.checked ? [...types, t] : types.filter((x) => x !== t))}
              />{" "}
              {t}
            </label>
          ))}
        </fieldset>
        <ErrorText error={error} id="webhook-error" />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Create webhook
          </button>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
