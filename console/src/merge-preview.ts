// What a merge would do, computed from the two users alone, before anything is written: the
// secondary's identities either move to the primary, or conflict with the primary's identity from
// the same issuer (a different id), which makes the service refuse the whole merge.
import type { Identity } from "./api";

export interface MergePreview {
  /** The secondary's identities the primary gains. */
  moves: Identity[];
  /** The secondary's identities whose issuer the primary already holds with another id. */
  conflicts: { secondary: Identity; primary: Identity }[];
  /** The primary's identities, which it keeps. */
  alreadyOnPrimary: Identity[];
  /** Why the merge cannot run, or undefined when it can. */
  blocked?: string;
}

export function previewMerge(
  primary: { id: string; external_identities: Identity[] },
  secondary: { id: string; external_identities: Identity[] },
): MergePreview {
  const byIssuer = new Map(primary.external_identities.map((i) => [i.issuer, i]));
  const moves: Identity[] = [];
  const conflicts: MergePreview["conflicts"] = [];
  for (const ident of secondary.external_identities) {
    const held = byIssuer.get(ident.issuer);
    if (!held) moves.push(ident);
    else if (held.id !== ident.id) conflicts.push({ secondary: ident, primary: held });
  }
  const preview: MergePreview = { moves, conflicts, alreadyOnPrimary: primary.external_identities };
  if (primary.id === secondary.id) preview.blocked = "A user cannot be merged with itself.";
  else if (conflicts.length > 0)
    preview.blocked = `The merge is blocked: ${conflicts.length === 1 ? "one issuer is" : `${conflicts.length} issuers are`} held by both users with different ids.`;
  return preview;
}
