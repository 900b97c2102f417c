import { describeError } from "../errors";

/** An error as a sentence, announced to screen readers; nothing when there is none. */
export function ErrorText({ error, id }: { error: unknown; id?: string }) {
  if (error === undefined || error === null) return null;
  return (
    <p class="error" role="alert" id={id}>
      {describeError(error)}
    </p>
  );
}

export function Notice({ text }: { text: string | undefined }) {
  if (!text) return null;
  return (
    <p class="notice" role="status">
      {text}
    </p>
  );
}
