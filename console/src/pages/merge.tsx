import type { PageProps } from "../router";

export function MergePage({ params }: PageProps) {
  return <h1>Merge into {params.id}</h1>;
}
