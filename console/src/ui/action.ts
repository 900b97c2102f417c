// One shape for every write a page makes: busy while it runs, its outcome as a notice or an error,
// and nothing else touched on failure (the page's data changes only in `work`'s own success path).
import { useState } from "preact/hooks";

export interface Action {
  busy: boolean;
  error: unknown;
  notice: string | undefined;
  /** Runs `work`; the sentence it returns (a string, if any) becomes the notice, a failure the error. */
  run(work: () => Promise<unknown>): Promise<void>;
  setError(err: unknown): void;
  setNotice(text: string | undefined): void;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    try {
      const done = await work();
      setError(undefined);
      setNotice(typeof done === "string" && done !== "" ? done : undefined);
    } catch (err) {
      setError(err);
      setNotice(undefined);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, notice, run, setError, setNotice };
}
