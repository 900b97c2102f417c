// The console's pages, one table: a route is a pattern over the hash (#/users/DEVU-2) and the
// page it shows. Hash routes need nothing from the server beyond /console/ itself.
import type { ComponentType } from "preact";
import { AuditPage } from "./pages/audit";
import { DirectoryPage } from "./pages/directory";
import { MergePage } from "./pages/merge";
import { TokensPage } from "./pages/tokens";
import { UserPage } from "./pages/user";
import { WebhookDeliveriesPage } from "./pages/webhook-deliveries";
import { WebhooksPage } from "./pages/webhooks";

export interface PageProps {
  /** The route's named parts, decoded. */
  params: Record<string, string>;
  /** The query after `?` in the hash (#/users?state=active). */
  query: URLSearchParams;
}

export interface Route {
  /** `/users/:id`: each `:name` matches one path segment. */
  pattern: string;
  page: ComponentType<PageProps>;
  /** In the navigation bar, with this label. */
  nav?: string;
  /** Shown to admins only (the server refuses the rest anyway). */
  adminOnly?: boolean;
}

export const ROUTES: Route[] = [
  { pattern: "/users", page: DirectoryPage, nav: "Directory" },
  { pattern: "/users/:id", page: UserPage },
  { pattern: "/users/:id/merge", page: MergePage, adminOnly: true },
  { pattern: "/webhooks", page: WebhooksPage, nav: "Webhooks", adminOnly: true },
  { pattern: "/webhooks/:id", page: WebhookDeliveriesPage, adminOnly: true },
  { pattern: "/tokens", page: TokensPage, nav: "Tokens" },
  { pattern: "/audit", page: AuditPage, nav: "Audit log", adminOnly: true },
];

export const DEFAULT_PATH = "/users";

export function match(hash: string): { route: Route; props: PageProps } | undefined {
  const raw = hash.replace(/^#/, "") || DEFAULT_PATH;
  const [path = "", search = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean);
  for (const route of ROUTES) {
    const want = route.pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    want.forEach((w, i) => {
      const got = parts[i]!;
      if (w.startsWith(":")) params[w.slice(1)] = decodeURIComponent(got);
      else if (w !== got) ok = false;
    });
    if (ok) return { route, props: { params, query: new URLSearchParams(search) } };
  }
  return undefined;
}

/** A link target: `href(\`/users/${id}\`)`. */
export const href = (path: string) => `#${path}`;

export function navigate(path: string): void {
  location.hash = path;
}
