// A credential shown the one time the service returns it: in a dialog with a copy button. The
// page hands it over and forgets it when the dialog closes, so nothing can show it again.
import { Copyable } from "./copy";
import { Dialog } from "./dialog";

export function ShownOnce(props: { title: string; label: string; value: string | undefined; onDone: () => void }) {
  return (
    <Dialog title={props.title} open={props.value !== undefined} onClose={props.onDone}>
      <p>
        Copy the {props.label} now: it is shown this once, and neither this console nor the service can show it again.
      </p>
      <p>
        <Copyable value={props.value ?? ""} label={props.label} />
      </p>
      <div class="actions">
        <button type="button" onClick={props.onDone}>
          Done
        </button>
      </div>
    </Dialog>
  );
}
