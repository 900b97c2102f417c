import type { PageProps } from "../router";

export function UserPage({ params }: PageProps) {
  return <h1>{params.id}</h1>;
}
