// DevRev's error bodies ({type, message, ...}) as sentences a person reads. No raw JSON is ever
// shown: a type this table does not know still gets a sentence, with the service's message.
import { ApiFailure } from "./api";

const BY_TYPE: Record<string, (b: ApiFailure["body"]) => string> = {
  network: () => "The service did not answer. Check that it is running, then try again.",
  unauthenticated: () => "Your session has ended or the token is not valid. Sign in again.",
  forbidden: (b) => `You are not allowed to do this${b.message ? `: ${b.message}` : "."}`,
  not_found: () => "It was not found: it may have been removed, or the id is wrong.",
  too_many_requests: (b) =>
    `Too many requests. Wait${b.retry_after ? ` ${b.retry_after} seconds` : " a moment"} and try again.`,
  artifact_already_attached_to_a_parent: (b) =>
    b.is_same ? "This identity is already linked to this user." : "This identity is already linked to another user.",
  conflict: (b) => `That conflicts with what exists already${b.message ? `: ${b.message}` : "."}`,
  invalid_enum_value: (b) =>
    `${fieldName(b)} must be one of ${(b.allowed_values ?? []).join(", ") || "the allowed values"}.`,
  value_not_permitted: (b) =>
    typeof b.reason === "string" ? `${fieldName(b)} ${b.reason.replace(/[.]$/, "")}.` : sentence(b.message ?? ""),
  missing_required_field: (b) => `${fieldName(b)} is required.`,
  service_unavailable: () => "The service is unavailable for a moment. Try again shortly.",
  internal_error: () => "The service failed to do this. Try again; if it keeps failing, tell its operator.",
};

function fieldName(b: ApiFailure["body"]): string {
  const name = b.field_name ? b.field_name.replaceAll("_", " ").replace(/\burl\b/, "URL") : "A field";
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return "";
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** What went wrong, for a person. */
export function describeError(err: unknown): string {
  if (err instanceof ApiFailure) {
    const known = err.body.type ? BY_TYPE[err.body.type] : undefined;
    if (known) return known(err.body);
    if (err.body.message) return sentence(err.body.message);
    return `The request failed (HTTP ${err.status}). Try again.`;
  }
  return "Something went wrong in the console. Reload the page and try again.";
}
